"""Backup chains for the restore drill tests, and ways to damage their files."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import rookdb
from rookdb.backup import BackupFile, write_full_backup, write_incremental_backup

T0 = datetime(2026, 11, 22, 2, 0, 0, tzinfo=UTC)


@dataclass
class Chain:
    """A run folder of the database `db`: a full (or snapshot) and two incrementals."""

    db: rookdb.Database
    full: BackupFile
    first: BackupFile
    second: BackupFile

    @property
    def folder(self) -> Path:
        return self.full.path.parent

    @property
    def files(self) -> list[BackupFile]:
        return [self.full, self.first, self.second]


def fill(db: rookdb.Database, count: int = 120) -> None:
    """Documents in two collections, attachments, an identity and two indexes."""
    db.bulk_insert((f"users/{i}", {"name": f"user {i}", "age": 20 + i % 50}) for i in range(count))
    for i in range(5):
        db.put(f"orders/{i}", {"total": i * 10, "@metadata": {"@collection": "Orders"}})
    db.put_attachment("users/1", "photo.jpg", b"\xff\xd8" + bytes(range(256)) * 40, "image/jpeg")
    db.put_attachment("users/2", "notes.txt", b"hello", "text/plain")
    db.next_identity("invoices")
    db.create_index("UsersByAge", "Users", ["age"])
    db.create_index("OrdersByTotal", "Orders", ["total"])


def make_chain(instance: rookdb.Instance, out: Path, *, backup_type: str = "backup") -> Chain:
    """Fill a database and back it up: full, then two incrementals with every kind of change."""
    db = instance.create_database("shop")
    fill(db)
    full = write_full_backup(db, out, backup_type=backup_type, now=T0)
    db.delete("users/3")
    db.put("users/4", {"name": "changed", "age": 99})
    db.put("users/new", {"name": "new", "age": 1})
    db.delete_attachment("users/2", "notes.txt")
    db.put_attachment("users/5", "cv.pdf", b"%PDF" * 100, "application/pdf")
    db.next_identity("invoices")
    first = write_incremental_backup(
        db, full.path.parent, full.last_etag, now=T0 + timedelta(hours=1)
    )
    assert first is not None
    db.delete_index("OrdersByTotal")
    db.create_index("UsersByName", "Users", ["name"])
    db.delete("users/new")
    db.put("users/3", {"name": "back", "age": 3})
    second = write_incremental_backup(
        db, full.path.parent, first.last_etag, now=T0 + timedelta(hours=2)
    )
    assert second is not None
    return Chain(db, full, first, second)


def flip_byte(path: Path, at: float = 0.5) -> None:
    """Invert one byte in the records part of a backup file."""
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0xFF
    path.write_bytes(bytes(data))
