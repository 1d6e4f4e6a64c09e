"""A small backup chain with known contents, shared by the explorer's tests.

A full backup (or a snapshot) of orders/0..N (orders/7 with an attachment, one id with odd
characters), then an incremental (orders/1041 paid, orders/5 deleted,
orders/new added), then another (orders/1041 deleted, orders/7 changed),
taken a day apart from 2026-11-24T02:00:00Z. `padding` makes the documents
large enough that the files span several blocks (range reads, catalogs of
several blocks).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import rookdb
from rookdb.backup import write_full_backup, write_incremental_backup

T0 = datetime(2026, 11, 24, 2, 0, 0, tzinfo=UTC)
ODD = "orders/ä ö/1#?&%'\"x"


@dataclass(frozen=True)
class Chain:
    folder: Path
    files: list[str]  # full, then the incrementals


def noise(i: int, size: int) -> str:
    """Text that compresses like real data does (not to nothing)."""
    out = ""
    while len(out) < size:
        out += hashlib.sha256(f"{i}-{len(out)}".encode()).hexdigest()
    return out[:size]


def make_chain(
    root: Path,
    encryption_key: str | None = None,
    *,
    count: int = 3000,
    padding: int = 0,
    backup_type: str = "backup",
) -> Chain:
    with rookdb.open(root / "data") as instance:
        db = instance.create_database("shop")
        db.bulk_insert(
            (f"orders/{i}", {"total": i, **({"pad": noise(i, padding)} if padding else {})})
            for i in range(count)
        )
        db.put(ODD, {"odd": True})
        db.put_attachment("orders/7", "receipt.txt", b"paid 7 EUR\n" * 300)
        folder = write_full_backup(
            db, root / "backups", now=T0, encryption_key=encryption_key, backup_type=backup_type
        )
        since = db.last_etag
        db.put("orders/1041", {"total": 1041, "status": "paid"})
        db.delete("orders/5")
        db.put("orders/new", {"total": 1})
        inc1 = write_incremental_backup(
            db, folder.path.parent, since, now=T0 + timedelta(days=1), encryption_key=encryption_key
        )
        since = db.last_etag
        db.delete("orders/1041")
        db.put("orders/7", {"total": 7, "note": "changed"})
        inc2 = write_incremental_backup(
            db, folder.path.parent, since, now=T0 + timedelta(days=2), encryption_key=encryption_key
        )
    assert inc1 is not None and inc2 is not None
    return Chain(folder.path.parent, [folder.path.name, inc1.path.name, inc2.path.name])
