"""Snapshots: a consistent raw copy of the database file, compressed into the backup format.

SQLite's online backup copies every page inside one read transaction when run
in a single step, so the copy is consistent at one etag even while writers
keep committing (WAL readers never block writers). The copy goes to a
temporary file next to the snapshot, is streamed into the file format in
chunks, and is deleted afterwards; the index data travels with it, so a
restore needs no index rebuild.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from rookdb.backup import naming
from rookdb.backup.format import CHUNK_SIZE, BackupHeader, BackupWriter, FileSummary
from rookdb.errors import StorageError
from rookdb.partial import open_locked
from rookdb.storage import Database

Progress = Callable[[int, int], None]

_COUNTS = {
    "documents": "SELECT COUNT(*) FROM documents",
    "tombstones": "SELECT COUNT(*) FROM tombstones WHERE kind = 'document'",
    "attachments": "SELECT COUNT(*) FROM attachments",
    "identities": "SELECT COUNT(*) FROM identities",
    "indexes": "SELECT COUNT(*) FROM indexes",
}


def copy_database(db: Database, target: Path) -> tuple[int, str, dict[str, int]]:
    """Copy the database consistently into `target`; return (last etag, database id, counts)."""
    source = db.engine.snapshot_connection()
    try:
        dest = sqlite3.connect(str(target), isolation_level=None)
        try:
            source.backup(dest)  # pages=-1: one step, one read transaction
            # The copy inherits WAL mode from the source; switch it back so it is one file.
            dest.execute("PRAGMA journal_mode = DELETE")
            meta = dict(dest.execute("SELECT key, value FROM meta").fetchall())
            counts = {name: int(dest.execute(sql).fetchone()[0]) for name, sql in _COUNTS.items()}
        finally:
            dest.close()
    except sqlite3.Error as exc:
        raise StorageError(f"cannot copy database {db.name} for a snapshot: {exc}") from exc
    finally:
        source.close()
    return int(meta["last_etag"]), str(meta["database_id"]), counts


def write_snapshot_file(
    db: Database,
    path: Path,
    *,
    compression: str = "zstd",
    encryption_key: str | None = None,
    node: str | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> FileSummary:
    """Write a snapshot of `db` to `path` (atomically)."""
    copy = Path(f"{path}.sqlite{naming.IN_PROGRESS}")
    lock = None
    try:
        try:
            # Held until the copy is deleted, so a clean-up of abandoned partial
            # files never removes it while the snapshot is still being compressed.
            lock = open_locked(copy)
            last_etag, database_id, counts = copy_database(db, copy)
            total = copy.stat().st_size
        except OSError as exc:
            raise StorageError(f"cannot copy database {db.name}: {exc}") from exc
        header = BackupHeader(
            database=db.name,
            database_id=database_id,
            kind="full",
            type="snapshot",
            since_etag=0,
            last_etag=last_etag,
            created_at=naming.iso_time(now),
            node=node or db.node_tag,
            compression=compression,
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
                for name, value in counts.items():
                    writer.set_count(name, value)
                trailer, sha = writer.finish()
            except BaseException:
                writer.close()
                raise
            return FileSummary(writer.header, trailer, out.tell(), sha)
    finally:
        copy.unlink(missing_ok=True)
        if lock is not None:
            lock.close()
        for extra in ("-wal", "-shm", "-journal"):
            Path(f"{copy}{extra}").unlink(missing_ok=True)
