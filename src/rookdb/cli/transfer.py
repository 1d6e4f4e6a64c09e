"""CLI commands: `rookdb export DB FILE` and `rookdb import FILE DB [--incremental]`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rookdb.cli import context
from rookdb.cli.backup import KeyOption, embedded_instance, progress_bar


def export(
    ctx: typer.Context,
    database: Annotated[str, typer.Argument(metavar="DB", help="The database to export.")],
    file: Annotated[Path, typer.Argument(help="The file to write (logical backup format).")],
    since_etag: Annotated[
        int,
        typer.Option(
            "--since-etag",
            min=0,
            max=context.INT64_MAX,
            help="Only changes after this etag (incremental).",
        ),
    ] = 0,
    compression: Annotated[str, typer.Option("--compression", help="zstd, gzip or none.")] = "zstd",
    encryption_key: KeyOption = None,
) -> None:
    """Export DB (or its changes after --since-etag) to FILE, deletes included."""
    from rookdb.backup import export_database

    instance = embedded_instance(ctx, "export")
    try:
        db = instance.database(database)
        with progress_bar(ctx, f"exporting {database}") as update:
            summary = export_database(
                db,
                file,
                since_etag,
                compression=compression,
                encryption_key=encryption_key,
                progress=update,
            )
    finally:
        instance.close()
    counts = summary.trailer.counts
    typer.echo(
        f"exported {database} to {file}: etags {summary.header.since_etag}.."
        f"{summary.header.last_etag}, {counts.get('documents', 0)} documents, "
        f"{counts.get('tombstones', 0)} deletes, {summary.size_bytes} bytes"
    )


def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="An export (or backup) file.")],
    database: Annotated[str, typer.Argument(metavar="DB", help="Target database.")],
    incremental: Annotated[
        bool,
        typer.Option("--incremental", help="Also apply the file's deletes (an incremental)."),
    ] = False,
    encryption_key: KeyOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Import FILE into DB (created when missing); --incremental applies deletes too."""
    from rookdb.restore import import_file

    instance = embedded_instance(ctx, "import")
    try:
        with progress_bar(ctx, f"importing into {database}", in_bytes=True) as update:
            result = import_file(
                instance,
                file,
                database,
                incremental=incremental,
                encryption_key=encryption_key,
                progress=update,
            )
    finally:
        instance.close()
    if as_json:
        context.print_json(result.to_json())
        return
    c = result.counts
    typer.echo(
        f"imported {file} into {result.database}: {c.get('documents', 0)} documents, "
        f"{c.get('deletes', 0)} deletes, {c.get('attachments', 0)} attachments; "
        f"{result.documents} documents now"
    )


def register(app: typer.Typer) -> None:
    """Add `export` and `import` to the root app."""
    app.command("export")(export)
    app.command("import")(import_)
