"""CLI command: `rookdb restore SOURCE --database NEW [--until FILE_OR_TIME]`."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from rookdb.cli import context
from rookdb.cli.options import (
    JsonFlag,
    KeyOption,
    SourceOptions,
    parse_source_options,
    source_credentials,
)
from rookdb.cli.output import progress_bar


def restore(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            help="A run folder (or one backup file, or a folder of run folders), "
            "or a destination URL such as s3://bucket/prefix/run-folder. With --url, "
            "a path is on the server's machine (absolute).",
        ),
    ],
    database: Annotated[
        str, typer.Option("--database", "-d", help="Name of the new database to create.")
    ],
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="Stop at this file (name) or at the last file created at or before "
            "this ISO time (e.g. 2026-11-22T06:00:00Z).",
        ),
    ] = None,
    encryption_key: KeyOption = None,
    source_options: SourceOptions = None,
    as_json: JsonFlag = False,
) -> None:
    """Restore a backup chain into a NEW database: verified first, visible only when complete.

    With --url the server restores (a job it runs); this command follows the job
    to its end with a progress bar and exits 1 if the restore fails.
    """
    cli = context.get(ctx)
    # Slow steps (a Glacier retrieval, an inventory rebuild) are announced on stderr.
    notify = None if cli.quiet else _announce
    if cli.url:
        options = parse_source_options(source_options or [])
        with (
            cli.client() as client,
            progress_bar(ctx, f"restoring {database}", in_bytes=True) as update,
        ):
            status = client.restore_database(
                source,
                database,
                until=until,
                encryption_key=encryption_key,
                source_options=options,
                progress=update,
                notify=notify,
            )
        assert status.result is not None
        _report(status.result, as_json)
        return
    from rookdb.restore import restore_database
    from rookdb.restore.source import resolve_source

    target = resolve_source(source, source_credentials(source, source_options), notify=notify)
    instance = cli.instance()
    try:
        with progress_bar(ctx, f"restoring {database}", in_bytes=True) as update:
            result = restore_database(
                instance,
                target,
                database,
                until=until,
                encryption_key=encryption_key,
                progress=update,
            )
    finally:
        instance.close()
    choice = result.chain_choice
    if choice is not None and choice.was_a_choice and notify is not None:
        notify(choice.describe())  # on stderr: stdout stays the result alone
    _report(result.to_json(), as_json)


def _report(result: dict[str, Any], as_json: bool) -> None:
    """The restore's result (RestoreResult JSON), as JSON or one line."""
    if as_json:
        context.print_json(result)
        return
    files = result["files"]
    typer.echo(
        f"restored {result['database']} from {len(files)} file(s) "
        f"(up to {files[-1]}): {result['documents']} documents, "
        f"last etag {result['last_etag']}, {result['duration_ms']} ms"
    )


def _announce(line: str) -> None:
    sys.stderr.write(f"{line}\n")


def register(app: typer.Typer) -> None:
    """Add `restore` to the root app."""
    app.command("restore")(restore)
