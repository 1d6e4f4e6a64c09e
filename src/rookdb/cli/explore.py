"""CLI commands of the backup explorer: `backup get | history | diff` and `backup ls --documents`.

Thin shells over `rookdb.explorer`: parse, call one core function, print.
Output goes to stdout; notes about how the answer was read (a file written
before catalogs, read whole; the chain chosen) go to stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from rookdb.cli import context
from rookdb.cli.options import JsonFlag, KeyOption, SourceOptions, source_credentials

if TYPE_CHECKING:  # the explorer is loaded by its commands only, not by every CLI start
    from rookdb.explorer import BackupExplorer

SourceArgument = Annotated[
    str,
    typer.Argument(
        metavar="SOURCE",
        help="A run folder, a folder of run folders, one backup file, or a destination "
        "URL such as s3://bucket/prefix/run-folder (credentials with --source-option).",
    ),
]
IdArgument = Annotated[str, typer.Argument(metavar="DOC_ID", help="The document's id.")]
UntilOption = Annotated[
    str | None,
    typer.Option(
        "--until",
        help="The point of the chain: a file (name) or the last file taken at or before "
        "an ISO time such as 2026-11-22T06:00:00Z. Default: the newest file.",
    ),
]


def open_source(
    source: str, until: str | None, key: str | None, options: list[str] | None
) -> BackupExplorer:
    """The explorer of SOURCE at the point asked, with notes on stderr."""
    from rookdb.explorer import open_backup

    credentials = source_credentials(source, options)
    explorer = open_backup(source, until, encryption_key=key, credentials=credentials or None)
    return explorer


def note_slow_files(explorer: BackupExplorer) -> None:
    """Say on stderr when files without a catalog were read whole."""
    slow = explorer.slow_files()
    if slow:
        _note(
            f"{len(slow)} file(s) predate the catalog (backup format 1) and were read in "
            f"full, the slower path: {', '.join(slow)}"
        )
    for name in explorer.snapshot_files():
        _note(snapshot_note(name))


def snapshot_note(name: str) -> str:
    """What to tell the user when a chain's snapshot was read (the slower path)."""
    return (
        f"the chain starts with snapshot {name}: what no later incremental holds was read "
        "from it, checked and decompressed once into the local explorer cache (the slower "
        "path; later questions reuse the copy)"
    )


def _note(line: str) -> None:
    sys.stderr.write(f"note: {line}\n")


def get(
    source: SourceArgument,
    doc_id: IdArgument,
    until: UntilOption = None,
    attachment: Annotated[
        str | None,
        typer.Option("--attachment", help="Write this attachment's content instead (with -o)."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write the attachment to.")
    ] = None,
    encryption_key: KeyOption = None,
    source_options: SourceOptions = None,
    as_json: JsonFlag = False,
) -> None:
    """Print a document as of a point of a backup chain, without restoring it.

    Reads each file's catalog and one data block; prints the document with its
    @metadata, or where it was deleted. Exit 1 when the id is not in the backup
    at that point. Example: rookdb backup get /backups orders/1041 --until 2026-11-24T00:00:00Z
    """
    if attachment is not None and output is None:
        from rookdb.errors import InvalidInput

        raise InvalidInput("--attachment needs -o FILE to write the content to", field="output")
    with open_source(source, until, encryption_key, source_options) as explorer:
        if attachment is not None and output is not None:
            found = explorer.attachment(doc_id, attachment)
            _write_stream(output, found.chunks)
            note_slow_files(explorer)
            typer.echo(f"wrote {found.info.size} bytes of {attachment!r} to {output}", err=True)
            return
        found_doc = explorer.get(doc_id)
        note_slow_files(explorer)
    if as_json:
        context.print_json(found_doc.to_json())
    elif found_doc.deleted:
        typer.echo(found_doc.describe_delete())
    else:
        context.print_json(found_doc.document)


def _write_stream(path: Path, content: Iterator[bytes]) -> None:
    # Written aside and renamed: a damaged attachment never leaves a plausible file behind.
    partial = path.with_name(path.name + ".in-progress")
    try:
        with open(partial, "wb") as out:
            for chunk in content:
                out.write(chunk)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def history(
    source: SourceArgument,
    doc_id: IdArgument,
    until: UntilOption = None,
    encryption_key: KeyOption = None,
    source_options: SourceOptions = None,
    as_json: JsonFlag = False,
) -> None:
    """List every version of a document across a backup chain, newest first.

    One line per put or delete: file, time taken, etag, change, body size.
    """
    with open_source(source, until, encryption_key, source_options) as explorer:
        found = explorer.history(doc_id)
        note_slow_files(explorer)
    if as_json:
        context.print_json([v.to_json() for v in found])
        return
    for v in found:
        typer.echo(f"{v.taken_at}  {v.file_name}  etag {v.etag}  {v.change:<10}  {v.size} bytes")


def ls_documents(
    source: str,
    until: str | None,
    collection: str | None,
    prefix: str | None,
    key: str | None,
    options: list[str] | None,
    as_json: bool,
) -> None:
    """`backup ls --documents`: the ids present at a point, one per line (JSON lines)."""
    import orjson

    with open_source(source, until, key, options) as explorer:
        note_slow_files(explorer)
        _note(f"documents at {explorer.point.describe()}")
        count = 0
        for listed in explorer.documents(collection, prefix):
            count += 1
            if as_json:
                sys.stdout.write(orjson.dumps(listed.to_json()).decode() + "\n")
            else:
                sys.stdout.write(f"{listed.id}\t{listed.collection}\t{listed.size}\n")
        for name in explorer.snapshot_files():
            _note(snapshot_note(name))
    _note(f"{count} document(s)")


def diff(
    source: SourceArgument,
    from_point: Annotated[
        str,
        typer.Option("--from", help="The earlier point: a file (name) or an ISO time."),
    ],
    to_point: Annotated[
        str | None,
        typer.Option("--to", help="The later point: a file or an ISO time (default: newest)."),
    ] = None,
    collection: Annotated[
        str | None, typer.Option("--collection", help="Only this collection.")
    ] = None,
    encryption_key: KeyOption = None,
    source_options: SourceOptions = None,
    as_json: JsonFlag = False,
) -> None:
    """Show the ids added, changed and deleted between two points of a database's backups.

    The points are files or times of one chain, or of two chains (run folders)
    of the same database. Reads catalogs only. --json prints JSON lines, one per
    id, ending with a statistics record.
    Example: rookdb backup diff /backups --from 2026-11-24T00:00:00Z --to 2026-11-25T00:00:00Z
    """
    import orjson

    from rookdb.explorer import BackupDiff

    with (
        open_source(source, from_point, encryption_key, source_options) as before,
        open_source(source, to_point, encryption_key, source_options) as after,
    ):
        compared = BackupDiff(before, after, collection)
        for row in compared.rows():
            if as_json:
                sys.stdout.write(orjson.dumps(row.to_json()).decode() + "\n")
            else:
                sys.stdout.write(
                    f"{row.change:<8} {row.collection:<16} {row.id}  "
                    f"{_size(row.size_before)} -> {_size(row.size_after)}\n"
                )
        note_slow_files(before)
        note_slow_files(after)
    stats = compared.statistics
    if as_json:
        sys.stdout.write(orjson.dumps({"statistics": stats.to_json()}).decode() + "\n")
        return
    for name, counts in sorted(stats.collections.items()):
        typer.echo(
            f"{name}: {counts['added']} added, {counts['changed']} changed, "
            f"{counts['deleted']} deleted"
        )
    typer.echo(stats.summary())


def _size(size: int | None) -> str:
    return "-" if size is None else f"{size} B"


def restore_into(
    ctx: typer.Context,
    source: str,
    into: str,
    until: str | None,
    ids: list[str] | None,
    collection: str | None,
    prefix: str | None,
    on_conflict: str,
    dry_run: bool,
    key: str | None,
    options: list[str] | None,
    as_json: bool,
) -> None:
    """`restore SOURCE --into LIVE_DB ...`: selected documents back into a live database."""
    from rookdb.explorer.restore_into import Selection, check_on_conflict, restore_selected

    selection = Selection(tuple(ids or ()), collection, prefix)
    choice = check_on_conflict(on_conflict)
    cli = context.get(ctx)
    if cli.url:
        _restore_into_remote(
            cli, source, into, until, selection, choice, dry_run, key, options, as_json
        )
        return
    instance = cli.instance()
    try:
        live = instance.database(into)
        with open_source(source, until, key, options) as explorer:
            result = restore_selected(explorer, live, selection, choice, dry_run=dry_run)
            note_slow_files(explorer)
    finally:
        instance.close()
    if as_json:
        context.print_json(result.to_json())
        return
    for write in result.writes:
        typer.echo(f"{write.action:<9} {write.id}  {write.reason}")
    typer.echo(result.summary())


def _restore_into_remote(
    cli: Any,
    source: str,
    into: str,
    until: str | None,
    selection: Any,
    on_conflict: str,
    dry_run: bool,
    key: str | None,
    options: list[str] | None,
    as_json: bool,
) -> None:
    """With --url: the server puts the documents back (`POST /databases/{db}/restore-selected`)."""
    from urllib.parse import quote

    import orjson

    from rookdb.cli.options import parse_source_options

    body = {
        "source": source,
        "until": until,
        "encryption_key": key,
        "source_options": parse_source_options(options or []) or None,
        "ids": list(selection.ids),
        "collection": selection.collection,
        "prefix": selection.prefix,
        "on_conflict": on_conflict,
        "dry_run": dry_run,
    }
    with cli.client() as client:
        path = f"/databases/{quote(into, safe='')}/restore-selected"
        result = orjson.loads(client.request("POST", path, json=body, wait=True).content)
    if as_json:
        context.print_json(result)
        return
    for write in result["writes"]:
        typer.echo(f"{write['action']:<9} {write['id']}  {write['reason']}")
    counts = result["counts"]
    verb = "would put back" if dry_run else "put back"
    typer.echo(
        f"{verb} {counts['create'] + counts['overwrite']} document(s) into {into} from "
        f"{result['point']}: {counts['create']} created, {counts['overwrite']} overwritten, "
        f"{counts['skip']} skipped"
    )


def retrieve(
    source: Annotated[
        str,
        typer.Argument(
            metavar="SOURCE",
            help="A Glacier URL: glacier://vault/prefix or glacier://vault/prefix/run-folder "
            "(credentials with --source-option).",
        ),
    ],
    until: UntilOption = None,
    source_options: SourceOptions = None,
    status: Annotated[
        bool, typer.Option("--status", help="Only say where the retrieval stands.")
    ] = False,
    wait: Annotated[
        float | None,
        typer.Option("--wait", metavar="SECONDS", help="Then wait up to SECONDS until ready."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Request the retrieval of the Glacier archives the explorer needs, or see where it stands.

    Archives cannot be read in place: this starts one retrieval job per file of
    the run folder at the point (jobs already requested are reused), then
    prints each file's state: not-requested, in-progress, ready, downloaded or
    failed. Once every file is ready, `backup get | history | diff | ls
    --documents` read the retrieved copy (downloaded once into the local
    explorer cache). Example: rookdb backup retrieve glacier://vault/prod --status
    """
    import time

    from rookdb.destinations.base import ArchiveNeedsRetrieval
    from rookdb.explorer import backup_retrieval

    credentials = source_credentials(source, source_options) or None
    found = backup_retrieval(source, until, credentials=credentials, start=not status)
    if wait is not None:
        deadline = time.monotonic() + max(wait, 0.0)
        while not found.ready and time.monotonic() < deadline:
            time.sleep(min(2.0, max(deadline - time.monotonic(), 0.0)))
            found = backup_retrieval(source, until, credentials=credentials)
    if as_json:
        context.print_json(found.to_json())
    else:
        for file in found.files:
            typer.echo(f"{file.state:<14} {file.name}  {file.size} bytes")
        _note(found.summary())
    if wait is not None and not found.ready:
        raise ArchiveNeedsRetrieval(
            f"the retrieval of {found.run_folder} is not ready after {wait:g} s; "
            "ask again later with --status"
        )
