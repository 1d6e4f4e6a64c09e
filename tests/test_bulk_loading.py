"""The bulk loader across its transaction and batch boundaries, and when a load fails.

Real restores and imports, with the loader's batches made tiny so that a
delete, an attachment or an index definition falls on every side of a commit.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest

import rookdb
from backup_surgery import CREATED_AT, hand_written
from rookdb.backup import latest_chain, write_full_backup, write_incremental_backup
from rookdb.backup.chain import read_run_folder
from rookdb.backup.format import BackupWriter
from rookdb.errors import BackupCorrupted
from rookdb.restore import import_file, restore_database
from rookdb.storage import TombstoneChange, bulk
from test_backup_roundtrip import database_state, run_operation

HISTORY: list[tuple[Any, ...]] = [
    ("index", "ByV", "Users", ["v"]),
    *[("put", f"users/{i}", i, "Users") for i in range(12)],
    ("attach", "users/1", "a.txt", b"one"),
    ("attach", "users/2", "b.bin", b"two"),
    ("delete", "users/3"),
    ("identity", "users"),
    ("index", "ByName", "People", ["name"]),
    ("drop-index", "ByName"),
    ("detach", "users/2", "b.bin"),
    ("full",),
    *[("put", f"users/{i}", i + 100, "Users") for i in range(0, 12, 2)],
    ("delete", "users/1"),  # its attachment goes with it
    ("put", "users/1", 7, "People"),  # back, in another collection
    ("attach", "users/5", "c.txt", b"five"),
    ("index", "ByName", "People", ["name"]),
    ("identity", "orders"),
    ("drop-index", "ByV"),
    ("incremental",),
    ("delete", "users/5"),
    ("put", "users/5", 5, "Users"),  # re-created without its attachment
    ("incremental",),
]


@pytest.fixture
def tiny_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "RECORDS_PER_TRANSACTION", 4)
    monkeypatch.setattr(bulk, "DOCUMENT_BATCH", 3)


def another_databases_incremental(
    path: Path, *, last_etag: int
) -> AbstractContextManager[BackupWriter]:
    """A hand-written incremental file of another database (etags 1 to `last_etag`)."""
    return hand_written(
        path, database="other", database_id="e" * 32, kind="incremental", last_etag=last_etag
    )


def write_history(db: rookdb.Database, backups: Path) -> list[dict[str, Any]]:
    """Run HISTORY, backing up where it says; the state at each backup file, in order."""
    states = []
    for op in HISTORY:
        if op[0] == "full":
            write_full_backup(db, backups)
        elif op[0] == "incremental":
            chain = latest_chain(backups)
            write_incremental_backup(db, chain.path, chain.last_etag)
        else:
            run_operation(db, op)
            continue
        states.append(database_state(db))
    return states


@pytest.mark.usefixtures("tiny_batches")
def test_a_restore_in_tiny_batches_gives_the_source_at_every_file(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    db = instance.create_database("shop")
    states = write_history(db, tmp_path / "backups")
    folder = latest_chain(tmp_path / "backups").path
    files = [f.file_name for f in read_run_folder(folder).files]
    for position, (name, state) in enumerate(zip(files, states, strict=True)):
        restored = f"copy{position}"
        result = restore_database(instance, folder, restored, until=name)
        assert database_state(instance.database(restored)) == state, name
        assert result.last_etag <= db.last_etag
    assert instance.database(f"copy{len(files) - 1}").last_etag == db.last_etag


@pytest.mark.usefixtures("tiny_batches")
def test_an_incremental_import_in_tiny_batches_matches_the_source(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    source = instance.create_database("source")
    write_history(source, tmp_path / "backups")
    target = instance.create_database("target")
    target.put("users/3", {"name": "deleted in the source"})
    for file in read_run_folder(latest_chain(tmp_path / "backups").path).files:
        import_file(instance, file.path, "target", incremental=True)
    want, got = database_state(source), database_state(target)
    for key in ("attachments", "identities", "indexes", "queries", "collections"):
        assert got[key] == want[key], key
    # Fresh etags and times: compare what the documents hold, not their metadata.
    assert {k: v[:2] for k, v in got["documents"].items()} == {
        k: v[:2] for k, v in want["documents"].items()
    }


@pytest.mark.usefixtures("tiny_batches")
def test_a_bad_attachment_stops_an_import_and_the_database_keeps_working(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    db = instance.create_database("shop")
    path = tmp_path / "bad.rookdb-incremental-backup"
    with another_databases_incremental(path, last_etag=3) as writer:
        writer.add_document(1, "users/1", "Users", CREATED_AT, "A:1-ee", "{}")
        writer.add_document(2, "users/2", "Users", CREATED_AT, "A:2-ee", "{}")
        # Three bytes as recorded, but a hash that is not theirs.
        writer.add_attachment(3, "users/1", "a.txt", "text/plain", 3, "0" * 64, [b"abc"])
    with pytest.raises(BackupCorrupted, match="does not match its recorded hash"):
        import_file(instance, path, "shop", incremental=True)
    # The open transaction was rolled back and the write lock let go.
    assert db.attachment_info("users/1", "a.txt") is None
    assert db.put("users/9", {"ok": True}).etag == db.last_etag


def test_a_restored_database_is_built_with_larger_pages_and_keeps_them(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    # 8 KiB pages hold ~1 KB documents with less waste; the copy is an ordinary database.
    db = instance.create_database("shop")
    states = write_history(db, tmp_path / "backups")
    restore_database(instance, latest_chain(tmp_path / "backups").path, "copy")
    restored = instance.database("copy")
    assert database_state(restored) == states[-1]
    with sqlite3.connect(instance.database_path("copy")) as conn:
        assert conn.execute("PRAGMA page_size").fetchone()[0] == bulk.STAGING_PAGE_SIZE == 8192
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    restored.put("users/99", {"v": 99})  # and it takes writes like any other
    assert restored.get("users/99") is not None


def _tombstoned_ids(db: rookdb.Database) -> set[str]:
    with db.changes(0) as feed:
        return {c.id.lower() for c in feed if isinstance(c, TombstoneChange) and c.of == "document"}


@pytest.mark.usefixtures("tiny_batches")
@pytest.mark.parametrize("incremental", [False, True])
def test_an_import_onto_stored_documents_is_what_putting_them_one_by_one_gives(
    instance: rookdb.Instance, tmp_path: Path, incremental: bool
) -> None:
    source = instance.create_database("source")
    for i in range(10):
        run_operation(source, ("put", f"users/{i}", i, "Users"))
    write_full_backup(source, tmp_path / "backups")
    full = read_run_folder(latest_chain(tmp_path / "backups").path).files[0].path
    target = instance.create_database("target")
    run_operation(target, ("put", "USERS/1", 100, "Users"))  # the same id, another case
    # Stored in another collection: its transaction's documents go one by one (the
    # loader's transactions hold 4 records here, so the others go in bulk).
    run_operation(target, ("put", "users/9", 900, "People"))
    target.put_attachment("users/9", "old.txt", b"of the People document", "text/plain")
    run_operation(target, ("put", "users/3", 300, "Users"))
    run_operation(target, ("delete", "users/3"))  # a tombstone the import must drop
    run_operation(target, ("put", "orders/1", 1, "Orders"))
    before = target.last_etag

    import_file(instance, full, "target", incremental=incremental)

    stored = {d.id: d for d in (target.get(f"users/{i}") for i in range(10)) if d is not None}
    assert sorted(stored) == sorted(["USERS/1", *(f"users/{i}" for i in range(10) if i != 1)])
    assert all(d.body["v"] == int(d.id.split("/")[1]) for d in stored.values())
    assert {d.collection for d in stored.values()} == {"Users"}
    # Fresh etags after the target's own, in the file's order.
    imported = sorted(stored.values(), key=lambda d: d.etag)
    assert imported[0].etag > before
    assert [d.id.lower() for d in imported] == [f"users/{i}" for i in range(10)]
    assert target.last_etag == imported[-1].etag
    # users/9 was deleted from People (a tombstone) and put again (the tombstone goes).
    assert "users/9" not in _tombstoned_ids(target) and "users/3" not in _tombstoned_ids(target)
    assert target.list_attachments("users/9") == [], "the deleted document's attachments went"
    orders = target.get("orders/1")
    assert orders is not None and orders.body["v"] == 1


def test_an_import_of_a_file_naming_an_id_twice_keeps_the_first_spelling_and_the_last_body(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    db = instance.create_database("shop")
    path = tmp_path / "twice.rookdb-incremental-backup"
    with another_databases_incremental(path, last_etag=2) as writer:
        writer.add_document(1, "users/1", "Users", CREATED_AT, "A:1-ee", '{"v": 1}')
        writer.add_document(2, "USERS/1", "Users", CREATED_AT, "A:2-ee", '{"v": 2}')
    import_file(instance, path, "shop")
    stored = db.get("users/1")
    assert stored is not None and (stored.id, stored.body) == ("users/1", {"v": 2})


def test_an_import_of_a_document_with_no_recorded_time_stamps_it_now(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    db = instance.create_database("shop")
    path = tmp_path / "untimed.rookdb-incremental-backup"
    with another_databases_incremental(path, last_etag=1) as writer:
        writer.add_document(1, "users/1", "Users", "", "A:1-ee", '{"v": 1}')
    import_file(instance, path, "shop")
    stored = db.get("users/1")
    assert stored is not None and stored.last_modified.startswith("20")
