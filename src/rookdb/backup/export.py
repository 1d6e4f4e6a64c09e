"""Export: a database's changes after an etag, in the logical backup format.

`write_export` writes into any binary stream (the server streams it into an
HTTP response); `export_database` into a file, kept only once complete.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO

from rookdb.backup import naming
from rookdb.backup.format import FileSummary, check_compression
from rookdb.backup.logical import write_logical
from rookdb.errors import InvalidInput
from rookdb.storage import Database

Progress = Callable[[int, int], None]


def write_export(
    db: Database,
    out: IO[bytes],
    since_etag: int = 0,
    *,
    compression: str = "zstd",
    encryption_key: str | None = None,
    progress: Progress | None = None,
) -> FileSummary:
    """Write every change of `db` after `since_etag` into `out` (full when since_etag is 0)."""
    _check(compression, since_etag)
    with db.changes(since_etag) as feed:
        return write_logical(
            db,
            out,
            feed,
            kind="full" if since_etag == 0 else "incremental",
            compression=compression,
            encryption_key=encryption_key,
            node=db.node_tag,
            created_at=naming.iso_time(),
            progress=progress,
        )


def export_database(
    db: Database,
    file: Path,
    since_etag: int = 0,
    *,
    compression: str = "zstd",
    encryption_key: str | None = None,
    progress: Progress | None = None,
) -> FileSummary:
    """Write every change of `db` after `since_etag` to `file` (full when since_etag is 0)."""
    _check(compression, since_etag)  # before a file is created
    with naming.atomic_file(Path(file)) as out:
        return write_export(
            db,
            out,
            since_etag,
            compression=compression,
            encryption_key=encryption_key,
            progress=progress,
        )


def _check(compression: str, since_etag: int) -> None:
    check_compression(compression)
    if since_etag < 0:
        raise InvalidInput("since_etag must be >= 0", field="since_etag")
