"""`rookdb backup tasks test-destination | periodic`: help setting up a backup task.

`test-destination` checks a destination config before a task relies on it;
`periodic` turns the older periodic-backup setup (an S3 bucket or a Glacier
vault, an interval in minutes, AWS keys) into the database's periodic task.
Both work on a data dir or, with --url, through the server's HTTP API.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer

from rookdb.cli import context
from rookdb.cli.options import DatabaseArg, JsonFlag
from rookdb.cli.tasks import tasks_app
from rookdb.errors import InvalidInput

ConfigArg = Annotated[
    str | None,
    typer.Argument(
        metavar="CONFIG", help='The destination as JSON, e.g. \'{"kind": "s3", "bucket": "b"}\'.'
    ),
]


def test_destination(
    ctx: typer.Context,
    config: ConfigArg = None,
    destination: Annotated[
        str | None,
        typer.Option("--destination", help="The destination as JSON (instead of CONFIG)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Test connection: write, read back and delete a probe file (exit 1 naming the failed step).

    Example: rookdb backup tasks test-destination '{"kind": "local", "path": "/backups"}'
    """
    text = destination if destination is not None else config
    if text is None or (destination is not None and config is not None):
        raise InvalidInput("give the destination once: as CONFIG or with --destination")
    payload = _json_object(text, "the destination")
    cli = context.get(ctx)
    if cli.url:
        with cli.client() as client:
            # An error answer raises its message, which names the failed step.
            report = orjson.loads(
                client.request("POST", "/destinations/test", json=payload).content
            )
    else:
        from rookdb.destinations import check_destination

        checked = check_destination(payload)
        if checked.error is not None:
            raise checked.error
        report = checked.to_json()
    if as_json:
        context.print_json(report)
    else:
        typer.echo(f"ok: {report['destination']}: {_what_was_checked(report['kind'])}")


def periodic(
    ctx: typer.Context,
    database: DatabaseArg,
    interval_minutes: Annotated[
        int,
        typer.Option(
            "--interval-minutes",
            help="Back up every N minutes: N divides 60, or whole hours dividing 24, or 1440.",
        ),
    ],
    s3_bucket: Annotated[str | None, typer.Option("--s3-bucket", help="S3 bucket name.")] = None,
    glacier_vault: Annotated[
        str | None,
        typer.Option("--glacier-vault", help="Glacier vault name (wins over --s3-bucket)."),
    ] = None,
    s3_prefix: Annotated[
        str | None, typer.Option("--s3-prefix", help="Folder inside the bucket.")
    ] = None,
    aws_access_key: Annotated[
        str | None, typer.Option("--aws-access-key", help="AWS access key id.")
    ] = None,
    aws_secret_key: Annotated[
        str | None,
        typer.Option("--aws-secret-key", envvar="ROOKDB_AWS_SECRET_KEY", help="AWS secret key."),
    ] = None,
    aws_region: Annotated[
        str | None, typer.Option("--aws-region", help="AWS region (default us-east-1).")
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option("--endpoint-url", help="An S3-compatible endpoint instead of AWS."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Set the database's periodic backup (created, or replaced): incremental every N minutes.

    N divides 60, or is whole hours dividing 24, or 1440 (daily); the first run is a full.
    Without keys, the keys of the current periodic backup are kept.

    Example: rookdb backup tasks periodic shop --s3-bucket backups --interval-minutes 15 \\
    --aws-access-key AKIA... --aws-secret-key ...
    """
    setup = {
        "s3_bucket_name": s3_bucket,
        "glacier_vault_name": glacier_vault,
        "interval_minutes": interval_minutes,
        "aws_region": aws_region,
        "s3_prefix": s3_prefix,
    }
    aws = {
        "aws_access_key": aws_access_key,
        "aws_secret_key": aws_secret_key,
        "endpoint_url": endpoint_url,
    }
    cli = context.get(ctx)
    if cli.url:
        body = {k: v for k, v in {**setup, **aws}.items() if v is not None}
        with cli.client() as client:
            path = f"/databases/{database}/tasks/periodic-backup"
            task = orjson.loads(client.request("PUT", path, json=body).content)
    else:
        from rookdb.tasks import BackupTasks
        from rookdb.tasks.periodic import put_periodic_backup

        instance = cli.instance()
        tasks = BackupTasks(instance)
        try:
            task = put_periodic_backup(tasks, database, setup, aws)
        finally:
            tasks.scheduler.stop()
            instance.close()
    if as_json:
        context.print_json(task)
        return
    typer.echo(task["id"])
    if not cli.quiet:
        cron = task["incremental_backup_cron"]
        typer.echo(
            f"periodic backup {task['id']} ({task['name']}): incremental on {cron!r}", err=True
        )


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc}", field="destination") from exc
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} must be a JSON object", field="destination")
    return value


def _what_was_checked(kind: str) -> str:
    if kind == "glacier":
        # A Glacier read is a retrieval job (hours): the probe is not read back.
        return "vault found, probe archive written and deleted"
    return "probe file written, read back and deleted"


def register(app: typer.Typer) -> None:
    """Add these commands to `rookdb backup tasks` (the group the `backup` module adds)."""
    tasks_app.command("test-destination")(test_destination)
    tasks_app.command("periodic")(periodic)
