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
        str | None, typer.Option("--database", "-d", help="Name of the new database to create.")
    ] = None,
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
    into: Annotated[
        str | None,
        typer.Option(
            "--into",
            help="Instead of a new database: put selected documents back into this live "
            "database, as new writes (with --ids, --collection or --prefix).",
        ),
    ] = None,
    ids: Annotated[
        list[str] | None,
        typer.Option("--ids", help="With --into: a document to put back; repeatable."),
    ] = None,
    collection: Annotated[
        str | None, typer.Option("--collection", help="With --into: every document of it.")
    ] = None,
    prefix: Annotated[
        str | None, typer.Option("--prefix", help="With --into: every id starting so.")
    ] = None,
    on_conflict: Annotated[
        str,
        typer.Option(
            "--on-conflict",
            help="With --into, when the live database has the document: skip, overwrite, "
            "or overwrite-if-older (the live one last modified before the backup's).",
        ),
    ] = "skip",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="With --into: show what would change, write nothing.")
    ] = False,
) -> None:
    """Restore a backup chain into a NEW database: verified first, visible only when complete.

    With --url the server restores (a job it runs); this command follows the job
    to its end with a progress bar and exits 1 if the restore fails.

    With --into LIVE_DB instead: put selected documents (with attachments) back
    into a running database as new writes, so they replicate and enter the next
    incremental; --dry-run prints what would change. Example:
    rookdb restore /backups --into shop --ids orders/1041 --until 2026-11-24T00:00:00Z
    """
    if into is not None:
        from rookdb.cli.explore import restore_into

        restore_into(
            ctx, source, into, until, ids, collection, prefix, on_conflict, dry_run,
            encryption_key, source_options, as_json,
        )  # fmt: skip
        return
    if database is None:
        from rookdb.errors import InvalidInput

        raise InvalidInput("give --database NEW (or --into LIVE_DB)", field="database")
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
