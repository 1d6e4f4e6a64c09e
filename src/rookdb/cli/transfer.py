"""CLI commands: `rookdb export DB FILE` and `rookdb import FILE|FOLDER DB [--incremental]`.

On a data dir they call `export_database`, `import_file` and `import_folder`;
with --url the same through `rookdb.Client`: the export is streamed down into
FILE, a file or a folder's chain is streamed up. FILE and FOLDER are always on
this machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rookdb.cli import context
from rookdb.cli.options import CompressionOption, JsonFlag, KeyOption
from rookdb.cli.output import progress_bar

if TYPE_CHECKING:
    from rookdb.restore import FolderImportResult, RestoreResult


def export(
    ctx: typer.Context,
    database: Annotated[str, typer.Argument(metavar="DB", help="The database to export.")],
    file: Annotated[
        Path, typer.Argument(help="The file to write, on this machine (logical backup format).")
    ],
    since_etag: Annotated[
        int,
        typer.Option(
            "--since-etag",
            min=0,
            max=context.INT64_MAX,
            help="Only changes after this etag (incremental).",
        ),
    ] = 0,
    compression: CompressionOption = "zstd",
    encryption_key: KeyOption = None,
) -> None:
    """Export DB (or its changes after --since-etag) to FILE, deletes included.

    With --url the export is streamed from the server into FILE, which is
    kept only once it is complete and its checksum verified.
    """
    cli = context.get(ctx)
    with progress_bar(ctx, f"exporting {database}", in_bytes=bool(cli.url)) as update:
        if cli.url:
            with cli.client() as client:
                info = client.export_database(
                    database,
                    file,
                    since_etag,
                    compression=compression,
                    encryption_key=encryption_key,
                    progress=update,
                )
            since, last, counts, size = (
                info.since_etag,
                info.last_etag,
                info.counts,
                info.size_bytes,
            )
        else:
            from rookdb.backup import export_database

            instance = cli.instance()
            try:
                summary = export_database(
                    instance.database(database),
                    file,
                    since_etag,
                    compression=compression,
                    encryption_key=encryption_key,
                    progress=update,
                )
            finally:
                instance.close()
            header, counts = summary.header, summary.trailer.counts
            since, last, size = header.since_etag, header.last_etag, summary.size_bytes
    typer.echo(
        f"exported {database} to {file}: etags {since}..{last}, "
        f"{counts.get('documents', 0)} documents, {counts.get('tombstones', 0)} deletes, "
        f"{size} bytes"
    )


def import_(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE|FOLDER",
            help="An export (or backup) file, or a folder of them (periodic backups: "
            "export files, or run folders), on this machine.",
        ),
    ],
    database: Annotated[str, typer.Argument(metavar="DB", help="Target database.")],
    incremental: Annotated[
        bool,
        typer.Option("--incremental", help="Also apply the files' deletes (incrementals)."),
    ] = False,
    encryption_key: KeyOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Import FILE into DB (created when missing); --incremental applies deletes too.

    A FOLDER is imported as RavenDB's `smuggler in URL FOLDER --incremental`
    does: every file of its chain in order (the full first, then the
    incrementals by etag range; of run folders, the current chain). A folder
    whose files do not chain is refused before anything is applied. With
    --url the files are streamed to the server.

    Example: rookdb --url http://127.0.0.1:8080 import ./periodic-backups shop --incremental
    """
    cli = context.get(ctx)
    folder = _is_folder(file)
    key = encryption_key
    with progress_bar(ctx, f"importing into {database}", in_bytes=True) as update:
        if cli.url:
            with cli.client() as client:
                if folder:
                    imported = client.import_folder(
                        file, database, incremental=incremental, encryption_key=key, progress=update
                    )
                else:
                    result = client.import_file(
                        file, database, incremental=incremental, encryption_key=key, progress=update
                    )
        else:
            from rookdb.restore import import_file, import_folder

            instance = cli.instance()
            try:
                if folder:
                    imported = import_folder(
                        instance,
                        file,
                        database,
                        incremental=incremental,
                        encryption_key=key,
                        progress=update,
                    )
                else:
                    result = import_file(
                        instance,
                        file,
                        database,
                        incremental=incremental,
                        encryption_key=key,
                        progress=update,
                    )
            finally:
                instance.close()
    if folder:
        _report_folder(ctx, imported, as_json)
    else:
        _report_file(file, result, as_json)


def _is_folder(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long: not a folder, and importing it as a file says why
        return False


def _report_file(file: Path, result: RestoreResult, as_json: bool) -> None:
    if as_json:
        context.print_json(result.to_json())
        return
    c = result.counts
    typer.echo(
        f"imported {file} into {result.database}: {c.get('documents', 0)} documents, "
        f"{c.get('deletes', 0)} deletes, {c.get('attachments', 0)} attachments; "
        f"{result.documents} documents now"
    )


def _report_folder(ctx: typer.Context, imported: FolderImportResult, as_json: bool) -> None:
    import sys

    if imported.chain_choice is not None and not context.get(ctx).quiet:
        sys.stderr.write(imported.chain_choice.describe() + "\n")  # stdout: the result alone
    if as_json:
        context.print_json(imported.to_json())
        return
    for skipped in imported.skipped:
        typer.echo(f"skipped {skipped}: not a backup or export file")
    for f in imported.applied:
        typer.echo(
            f"applied {f.name} ({f.kind}, etags {f.since_etag}..{f.last_etag}): "
            f"{f.counts.get('documents', 0)} documents, {f.counts.get('deletes', 0)} deletes"
        )
    c = imported.counts
    typer.echo(
        f"imported {len(imported.applied)} file(s) from {imported.folder} into "
        f"{imported.database}: {c.get('documents', 0)} documents, {c.get('deletes', 0)} deletes, "
        f"{c.get('attachments', 0)} attachments; {imported.documents} documents now"
    )


def register(app: typer.Typer) -> None:
    """Add `export` and `import` to the root app."""
    app.command("export")(export)
    app.command("import")(import_)
