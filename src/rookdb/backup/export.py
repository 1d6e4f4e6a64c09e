"""Export: a database's changes after an etag into one file in the logical backup format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rookdb.backup.format import FileSummary, check_compression
from rookdb.backup.logical import write_logical_file
from rookdb.errors import InvalidInput
from rookdb.storage import Database


def export_database(
    db: Database,
    file: Path,
    since_etag: int = 0,
    *,
    compression: str = "zstd",
    encryption_key: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FileSummary:
    """Write every change of `db` after `since_etag` to `file` (full when since_etag is 0)."""
    check_compression(compression)
    if since_etag < 0:
        raise InvalidInput("since_etag must be >= 0", field="since_etag")
    summary = write_logical_file(
        db,
        Path(file),
        since_etag=since_etag,
        kind="full" if since_etag == 0 else "incremental",
        compression=compression,
        encryption_key=encryption_key,
        progress=progress,
    )
    assert summary is not None  # only incrementals of backup runs skip empty ranges
    return summary
