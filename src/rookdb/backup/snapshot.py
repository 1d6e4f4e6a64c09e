"""Snapshots: a consistent raw copy of the database file, compressed into the backup format.

SQLite's online backup copies every page inside one read transaction when run
in a single step, so the copy is consistent at one etag even while writers
keep committing (WAL readers never block writers). The copy goes to a
temporary file next to the snapshot, is streamed into the file format in
chunks, and is deleted afterwards; the index data travels with it, so a
restore needs no index rebuild.

Freeing a copy the size of the database takes the kernel a noticeable while
(0.02-0.3 s for 300 MB here), so the copy is deleted by a thread as soon as
its last chunk is read, beside the sealing of the last blocks and the fsync
of the snapshot, and the snapshot returns once both are done.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO

from rookdb.backup import naming
from rookdb.backup.format import (
    CHUNK_SIZE,
    BackupHeader,
    BackupWriter,
    FileSummary,
    RunClaim,
)
from rookdb.errors import StorageError
from rookdb.partial import open_locked
from rookdb.storage import Database

Progress = Callable[[int, int], None]


def write_snapshot_file(
    db: Database,
    path: Path,
    *,
    compression: str = "zstd",
    encryption_key: str | None = None,
    node: str | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
    claim: RunClaim | None = None,
) -> FileSummary:
    """Write a snapshot of `db` to `path` (atomically)."""
    copy = Path(f"{path}.sqlite{naming.IN_PROGRESS}")
    lock = None
    discard: threading.Thread | None = None
    try:
        try:
            # Held until the copy is deleted, so a clean-up of abandoned partial
            # files never removes it while the snapshot is still being compressed.
            lock = open_locked(copy)
            copied = db.copy_to(copy)
            total = copy.stat().st_size
        except OSError as exc:
            raise StorageError(f"cannot copy database {db.name}: {exc}") from exc
        header = BackupHeader(
            database=db.name,
            database_id=copied.database_id,
            kind="full",
            type="snapshot",
            since_etag=0,
            last_etag=copied.last_etag,
            created_at=naming.iso_time(now),
            node=node or db.node_tag,
            compression=compression,
            claim=claim,
        )
        with naming.atomic_file(path) as out:
            writer = BackupWriter(out, header, encryption_key=encryption_key, index_ids=False)
            try:
                done = 0
                with open(copy, "rb") as source:
                    while chunk := source.read(CHUNK_SIZE):
                        writer.add_file_chunk(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done, total)
                discard = threading.Thread(
                    target=_discard, args=(copy, lock), name="rookdb-snapshot-discard"
                )
                lock = None  # the thread drops it once the copy is gone
                discard.start()
                # Rows per kind, under the names a logical backup counts its records by.
                for name, value in copied.counts.items():
                    writer.set_count(name, value)
                trailer, sha = writer.finish()
            except BaseException:
                writer.close()
                raise
            return FileSummary(writer.header, trailer, out.tell(), sha)
    finally:
        if discard is not None:
            discard.join()
        copy.unlink(missing_ok=True)  # again: what the thread could not delete fails here
        if lock is not None:
            lock.close()
        for extra in ("-wal", "-shm", "-journal"):
            Path(f"{copy}{extra}").unlink(missing_ok=True)


def _discard(copy: Path, lock: IO[bytes]) -> None:
    """Delete the read copy, then drop its lock (the last handle: the kernel frees it then)."""
    try:
        with contextlib.suppress(OSError):
            copy.unlink(missing_ok=True)
    finally:
        lock.close()
