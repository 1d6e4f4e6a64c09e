"""Every kind of change keeps its names: in a file's trailer, a restore's counts, a snapshot's.

Backup files written long ago carry these trailer names, and scripts read a
restore's counts by theirs; both are spelled out here so a rename fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import rookdb
from backup_surgery import CREATED_AT, hand_written
from rookdb.backup import verify_run_folder, write_full_backup
from rookdb.backup.chain import verify_file
from rookdb.backup.format import BackupReader
from rookdb.errors import BackupCorrupted
from rookdb.restore import import_file, restore_database
from rookdb.storage import Database
from rookdb.storage.record_kinds import RECORD_KINDS

TRAILER_NAMES = {
    "documents": 4,
    "tombstones": 1,
    "attachments": 1,
    "attachment_tombstones": 1,
    "identities": 1,
    "indexes": 1,
    "index_tombstones": 1,
}
RESULT_NAMES = {
    "documents": 4,
    "deletes": 1,
    "attachments": 1,
    "attachment_deletes": 1,
    "identities": 1,
    "indexes": 1,
    "index_deletes": 1,
}


def every_kind(db: Database) -> None:
    """One change of every kind still visible in a full backup (see the counts above)."""
    db.create_index("ByName", "Users", ["name"])
    db.create_index("Gone", "Users", ["age"])
    for i in range(5):
        db.put(f"users/{i}", {"name": f"u{i}", "age": i})
    db.put_attachment("users/1", "a.txt", b"abc", "text/plain")
    db.put_attachment("users/2", "b.txt", b"def", "text/plain")
    db.delete_attachment("users/2", "b.txt")
    db.delete("users/4")
    db.delete_index("Gone")
    db.next_identity("orders")


def test_the_names_are_the_ones_old_files_and_results_carry() -> None:
    assert [kind.count for kind in RECORD_KINDS] == list(TRAILER_NAMES)
    assert [kind.result for kind in RECORD_KINDS] == list(RESULT_NAMES)


def test_a_full_backup_counts_every_kind_and_restores_it(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    db = instance.create_database("shop")
    every_kind(db)
    full = write_full_backup(db, tmp_path / "backups")
    with BackupReader(full.path) as reader:
        assert reader.trailer.counts == TRAILER_NAMES
    assert verify_run_folder(full.path.parent).ok
    result = restore_database(instance, full.path.parent, "copy")
    assert list(result.counts.items()) == list(RESULT_NAMES.items())
    copy = instance.database("copy")
    assert copy.last_etag == db.last_etag
    assert [i.name for i in copy.list_indexes()] == ["ByName"]
    assert copy.query("Users", [("name", "==", "u3")]).total == 1


def test_an_import_with_fresh_etags_counts_every_kind(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    source = instance.create_database("source")
    every_kind(source)
    full = write_full_backup(source, tmp_path / "backups")
    target = instance.create_database("target")
    target.put("users/4", {"name": "still here until the delete"})
    result = import_file(instance, full.path, "target", incremental=True)
    assert list(result.counts.items()) == list(RESULT_NAMES.items())
    assert target.get("users/4") is None
    assert target.read_attachment("users/1", "a.txt") == b"abc"
    assert target.identities() == {"orders": 1}
    assert [i.name for i in target.list_indexes()] == ["ByName"]


def test_a_snapshot_counts_the_rows_of_every_kind_a_restore_keeps(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    db = instance.create_database("shop")
    every_kind(db)
    snap = write_full_backup(db, tmp_path / "backups", backup_type="snapshot")
    with BackupReader(snap.path) as reader:
        counts = dict(reader.trailer.counts)
    assert counts.pop("file_bytes") > 0
    assert counts == {
        name: TRAILER_NAMES[name]
        for name in ("documents", "tombstones", "attachments", "identities", "indexes")
    }
    restore_database(instance, snap.path.parent, "copy")
    copy = instance.database("copy")
    assert copy.count() == 4 and copy.database_id != db.database_id


def test_a_record_of_a_kind_no_rookdb_writes_is_refused(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    # Its trailer counts it, so only the record itself can show the file is wrong
    # (the reader or the kinds table, whichever meets it first, says so).
    path = tmp_path / "2026-01-02-03-04-05.rookdb-shop-A-backup" / "odd.rookdb-full-backup"
    path.parent.mkdir()
    with hand_written(
        path, database="shop", database_id="f" * 32, kind="full", last_etag=2
    ) as writer:
        writer.add_document(1, "users/1", "Users", CREATED_AT, "A:1-ff", "{}")
        writer.add_tombstone(2, "collection", "Users", None, None, CREATED_AT)
    with pytest.raises(BackupCorrupted, match="tombstone record"):
        verify_file(path)
    with pytest.raises(BackupCorrupted, match="tombstone record"):
        import_file(instance, path, "odd")
    assert not instance.has_database("odd")
