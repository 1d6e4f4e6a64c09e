"""CLI commands for attachments: `rookdb attachment put|get|list|delete`."""

from __future__ import annotations

import contextlib
import mimetypes
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, BinaryIO

import typer
from rich.table import Table

from rookdb.cli import context
from rookdb.cli.context import open_database
from rookdb.cli.options import DatabaseArg, JsonFlag
from rookdb.cli.output import as_json, console, human_size, say
from rookdb.errors import InvalidInput, NotFound

attachment_app = typer.Typer(
    name="attachment",
    help="Store, fetch, list and delete binary attachments on documents.",
    no_args_is_help=True,
)


# -- attachments -------------------------------------------------------------------
@attachment_app.command("put")
def attachment_put(
    ctx: typer.Context,
    database: DatabaseArg,
    doc_id: Annotated[str, typer.Argument(metavar="ID")],
    name: str,
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="The file to attach, or - for stdin.")
    ],
    content_type: Annotated[
        str | None,
        typer.Option("--content-type", help="Default: guessed from FILE's name, else binary."),
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Attach a file to an existing document (streamed, any size).

    Example: rookdb attachment put shop users/1 photo.jpg ./photo.jpg
    """
    if content_type is None:
        guessed = mimetypes.guess_type(file)[0] if file != "-" else None
        content_type = guessed or "application/octet-stream"
    with open_database(ctx, database) as db:
        if file == "-":
            info = as_json(db.put_attachment(doc_id, name, sys.stdin.buffer, content_type))
        else:
            try:
                source: BinaryIO = Path(file).open("rb")  # noqa: SIM115 (closed below)
            except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
                reason = getattr(exc, "strerror", None) or str(exc)
                raise InvalidInput(f"cannot read {file!r}: {reason}", field="file") from exc
            with source:
                info = as_json(db.put_attachment(doc_id, name, source, content_type))
    if json:
        context.print_json(info)
    else:
        typer.echo(
            f"{info['document_id']}/{info['name']} {human_size(info['size'])} "
            f"{info['content_type']} etag {info['etag']}"
        )


@attachment_app.command("get")
def attachment_get(
    ctx: typer.Context,
    database: DatabaseArg,
    doc_id: Annotated[str, typer.Argument(metavar="ID")],
    name: str,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Write an attachment's bytes to stdout or a file (streamed).

    Example: rookdb attachment get shop users/1 photo.jpg -o photo.jpg
    """
    with open_database(ctx, database) as db:
        _info, chunks = db.get_attachment(doc_id, name)
        try:
            if output is None:
                _write_stdout(chunks)
            else:
                _write_file(chunks, output)
        finally:
            # Ends the read transaction (embedded) or the HTTP response (remote) at once.
            close = getattr(chunks, "close", None)
            if callable(close):
                close()
    if output is not None:
        say(ctx, f"wrote {output}")


def _write_stdout(chunks: Iterable[bytes]) -> None:
    sys.stdout.flush()
    stdout = sys.stdout.buffer
    for chunk in chunks:
        stdout.write(chunk)
    stdout.flush()


def _write_file(chunks: Iterable[bytes], output: Path) -> None:
    # Write beside the target and rename, so a failed download never looks complete.
    partial = output.with_name(output.name + ".part")
    try:
        with partial.open("wb") as sink:
            for chunk in chunks:
                sink.write(chunk)
        partial.replace(output)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        with contextlib.suppress(OSError, ValueError):
            partial.unlink(missing_ok=True)
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InvalidInput(f"cannot write {str(output)!r}: {reason}", field="output") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


@attachment_app.command("list")
def attachment_list(
    ctx: typer.Context,
    database: DatabaseArg,
    doc_id: Annotated[str, typer.Argument(metavar="ID")],
    json: JsonFlag = False,
) -> None:
    """List a document's attachments.

    Example: rookdb attachment list shop users/1
    """
    with open_database(ctx, database) as db:
        if db.get(doc_id) is None:
            raise NotFound(f"document {doc_id!r} does not exist")
        infos = [as_json(i) for i in db.list_attachments(doc_id)]
    if json:
        context.print_json(infos)
        return
    table = Table("name", "content type", "size", "hash", "etag")
    for i in infos:
        table.add_row(
            i["name"], i["content_type"], human_size(i["size"]), i["hash"], str(i["etag"])
        )
    console().print(table)


@attachment_app.command("delete")
def attachment_delete(
    ctx: typer.Context,
    database: DatabaseArg,
    doc_id: Annotated[str, typer.Argument(metavar="ID")],
    name: str,
) -> None:
    """Delete one attachment of a document.

    Example: rookdb attachment delete shop users/1 photo.jpg
    """
    with open_database(ctx, database) as db:
        if not db.delete_attachment(doc_id, name):
            raise NotFound(f"document {doc_id!r} has no attachment {name!r}")
    say(ctx, f"deleted attachment {name!r} of {doc_id}")


def register(app: typer.Typer) -> None:
    """Add the `attachment` group to the root app."""
    app.add_typer(attachment_app)
