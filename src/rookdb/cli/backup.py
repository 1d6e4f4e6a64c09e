"""CLI commands: `rookdb backup run | ls | verify` (one-off backups and checking run folders).

`backup drill` (restore drills) lives in its own module, `rookdb.cli.drill`.

`backup_app` is the `backup` command group; the backup-task commands are
added to it as `backup tasks ...` by their own module.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rookdb.cli import context
from rookdb.cli.options import (
    CompressionOption,
    JsonFlag,
    KeyOption,
    SourceOptions,
    source_credentials,
)
from rookdb.cli.output import human_size, progress_bar, say
from rookdb.cli.tasks import tasks_app
from rookdb.errors import BackupError, InvalidInput
from rookdb.url_masking import masked_url

if TYPE_CHECKING:  # loaded by the commands that read backups, not by every CLI start
    from rookdb.backup.chain import RunFolderInfo

backup_app = typer.Typer(
    name="backup",
    help="Run one-off backups, list and verify run folders (and manage backup tasks).",
    no_args_is_help=True,
)
backup_app.add_typer(tasks_app, name="tasks")

# One run folder's verification, waiting only for its progress callback.
FolderCheck = Callable[..., "RunFolderInfo"]


@backup_app.command("run")
def run(
    ctx: typer.Context,
    database: Annotated[str, typer.Argument(metavar="DB", help="The database to back up.")],
    to: Annotated[
        Path,
        typer.Option(
            "--to",
            help="Folder that holds the run folders. With --url: a folder on the server's "
            "machine (absolute path), written by the server.",
        ),
    ],
    backup_type: Annotated[
        str, typer.Option("--type", help="backup (logical) or snapshot (raw file copy).")
    ] = "backup",
    incremental: Annotated[
        bool,
        typer.Option("--incremental", help="Continue the newest chain in --to for this DB."),
    ] = False,
    compression: CompressionOption = "zstd",
    encryption_key: KeyOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Back up DB now: a full backup (or snapshot) in a new run folder, or an incremental.

    With --url the server runs the backup and writes it into --to on its own
    machine (nothing is sent back here but the result).
    """
    from rookdb.backup import check_backup_type

    check_backup_type(backup_type)
    cli = context.get(ctx)
    if cli.url:
        with cli.client() as client, progress_bar(ctx, f"backing up {database} on the server"):
            done = client.run_backup(
                database,
                to,
                backup_type=backup_type,
                incremental=incremental,
                compression=compression,
                encryption_key=encryption_key,
            )
    else:
        from rookdb.backup import run_backup

        instance = cli.instance()
        try:
            with progress_bar(ctx, f"backing up {database}") as update:
                done = run_backup(
                    instance.database(database),
                    to,
                    backup_type=backup_type,
                    incremental=incremental,
                    compression=compression,
                    encryption_key=encryption_key,
                    progress=update,
                )
        finally:
            instance.close()
    if as_json:
        context.print_json(done.to_json())
        return
    written = done.written
    if written is None:
        typer.echo(f"no changes since etag {done.last_etag} — nothing written")
        return
    typer.echo(
        f"{written.kind} {written.type} written: {written.path} "
        f"(etags {written.since_etag}..{written.last_etag}, {written.documents} documents, "
        f"{written.tombstones} deletes, {written.attachments} attachments, "
        f"{human_size(written.size_bytes)})"
    )


SourceArgument = Annotated[
    str,
    typer.Argument(
        help="A run folder, or a folder of run folders, or a destination URL "
        "such as s3://bucket/prefix (credentials with --source-option).",
    ),
]


def _local_path(source: str, options: list[str] | None) -> Path:

    if options:
        raise InvalidInput("--source-option only applies to a destination URL", field="source")
    source_credentials(source, None)
    return Path(source[len("file://") :] if source.startswith("file://") else source)


@backup_app.command("ls")
def ls(
    ctx: typer.Context,
    source: SourceArgument,
    as_json: JsonFlag = False,
    source_options: SourceOptions = None,
    documents: Annotated[
        bool, typer.Option("--documents", help="List the document ids present at a point.")
    ] = False,
    collection: Annotated[
        str | None, typer.Option("--collection", help="With --documents: one collection.")
    ] = None,
    prefix: Annotated[
        str | None, typer.Option("--prefix", help="With --documents: ids starting so.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="With --documents: a file or an ISO time.")
    ] = None,
    encryption_key: KeyOption = None,
) -> None:
    """List backup chains: files in order, kinds, etag ranges, sizes, times and problems.

    On a destination URL the list comes from the destination's listing alone
    (files, kinds, sizes, upload times; nothing is downloaded). With --documents,
    the ids present at a point (from the files' catalogs), one per line.
    """
    from rookdb.backup import find_run_folders, read_run_folder
    from rookdb.restore.source import is_destination_url

    if documents:
        from rookdb.cli.explore import ls_documents

        ls_documents(source, until, collection, prefix, encryption_key, source_options, as_json)
        return

    if is_destination_url(source):
        _ls_remote(source, source_options, as_json)
        return
    folders = [
        read_run_folder(path) for path in find_run_folders(_local_path(source, source_options))
    ]
    if as_json:
        context.print_json([f.to_json() for f in folders])
        return
    # Piped output keeps whole file names rather than wrapping to 80 columns.
    from rich.console import Console  # only where a table is drawn: rich is slow to import
    from rich.table import Table

    out = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 200)
    if not folders:
        out.print(f"no run folders in {source}")
    for folder in folders:
        table = Table(title=folder.name, title_justify="left")
        for column in ("file", "kind", "type", "etags", "docs", "deletes", "size", "created"):
            table.add_column(column)
        for f in folder.files:
            table.add_row(
                f.file_name,
                f.kind,
                f.type + (" (encrypted)" if f.encrypted else ""),
                f"({f.since_etag}, {f.last_etag}]",
                str(f.counts.get("documents", 0)),
                str(f.counts.get("tombstones", 0)),
                human_size(f.size_bytes),
                f.created_at,
            )
        out.print(table)
        for problem in folder.problems:
            out.print(f"[red]problem:[/red] {problem}", highlight=False)


@backup_app.command("verify")
def verify(
    ctx: typer.Context,
    source: SourceArgument,
    encryption_key: KeyOption = None,
    source_options: SourceOptions = None,
) -> None:
    """Read every file completely: checksums, records, chain continuity (exit 1 on any fault).

    A destination URL's run folders are downloaded to a temporary folder first.
    """
    from rookdb.backup import find_run_folders, verify_run_folder
    from rookdb.restore.source import is_destination_url

    if is_destination_url(source):
        _verify_remote(ctx, source, source_options, encryption_key)
        return
    folders = find_run_folders(_local_path(source, source_options))
    if not folders:
        raise BackupError(f"no backup files or run folders in {source}")
    total = sum(f.stat().st_size for folder in folders for f in folder.iterdir() if f.is_file())
    _verify_each(
        ctx,
        total,
        [
            functools.partial(verify_run_folder, path, encryption_key=encryption_key)
            for path in folders
        ],
    )


def _ls_remote(url: str, options: list[str] | None, as_json: bool) -> None:
    from rookdb.restore.remote import list_remote_run_folders

    folders = list_remote_run_folders(url, source_credentials(url, options))
    if as_json:
        context.print_json([f.to_json() for f in folders])
        return
    from rich.console import Console  # only where a table is drawn: rich is slow to import
    from rich.table import Table

    out = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 200)
    if not folders:
        out.print(f"no run folders at {masked_url(url)}")
    for folder in folders:
        table = Table(title=folder.name, title_justify="left")
        for column in ("file", "kind", "size", "uploaded"):
            table.add_column(column)
        for f in folder.files:
            uploaded = f.modified.isoformat() if f.modified else "-"
            table.add_row(f.name, f.kind, human_size(f.size), uploaded)
        out.print(table)


def _verify_remote(
    ctx: typer.Context, url: str, options: list[str] | None, encryption_key: str | None
) -> None:
    from rookdb.restore.remote import list_remote_run_folders, verify_remote_run_folder

    credentials = source_credentials(url, options)
    folders = list_remote_run_folders(url, credentials)
    if not folders:
        raise BackupError(f"no run folders at {masked_url(url)}")
    total = sum(f.size for folder in folders for f in folder.files)
    notify = None if context.get(ctx).quiet else _announce
    _verify_each(
        ctx,
        total,
        [
            functools.partial(
                verify_remote_run_folder,
                folder,
                credentials,
                encryption_key=encryption_key,
                notify=notify,
            )
            for folder in folders
        ],
    )


def _verify_each(ctx: typer.Context, total: int, checks: list[FolderCheck]) -> None:
    """Run each run folder's check under one progress bar; report; exit 1 on any fault."""
    with progress_bar(ctx, "verifying", in_bytes=True) as update:
        done = 0

        def advance(amount: int) -> None:
            nonlocal done
            done += amount
            update(done, total)

        results = [check(progress=advance) for check in checks]
    faults = 0
    for result in results:
        if result.ok:
            say(ctx, f"ok {result.name}: {len(result.files)} files, etags up to {result.last_etag}")
        else:
            faults += len(result.problems)
            for problem in result.problems:
                sys.stderr.write(f"FAULT {result.name}: {problem}\n")
    if faults:
        sys.stderr.write(f"error: {faults} fault(s) found\n")
        raise typer.Exit(1)


def _announce(line: str) -> None:
    sys.stderr.write(line + "\n")


def register(app: typer.Typer) -> None:
    """Add the `backup` command group (with `backup drill` and `backup tasks`) to the root app."""
    from rookdb.cli import explore, task_setup
    from rookdb.cli.drill import drill

    backup_app.command("drill")(drill)
    backup_app.command("get")(explore.get)
    backup_app.command("history")(explore.history)
    backup_app.command("diff")(explore.diff)
    backup_app.command("retrieve")(explore.retrieve)
    task_setup.register(app)
    app.add_typer(backup_app, name="backup")
