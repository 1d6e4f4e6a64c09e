"""Export and import (the smuggler): full and incremental, onto new and existing databases."""

from __future__ import annotations

from pathlib import Path

import pytest

import rookdb
from rookdb.backup import export_database, write_full_backup
from rookdb.errors import BackupCorrupted, RestoreError
from rookdb.restore import import_file


def test_export_then_import_into_a_new_database(instance: rookdb.Instance, tmp_path: Path) -> None:
    db = instance.create_database("shop")
    db.create_index("ByName", "Users", ["name"])
    for i in range(50):
        db.put(f"users/{i}", {"name": f"u{i}"})
    db.put_attachment("users/3", "a.txt", b"abc", "text/plain")
    db.next_identity("users")
    summary = export_database(db, tmp_path / "shop.export")
    assert summary.header.kind == "full" and summary.trailer.counts["documents"] == 50
    result = import_file(instance, tmp_path / "shop.export", "copy")
    copy = instance.database("copy")
    assert result.documents == 50 == copy.count()
    assert copy.read_attachment("users/3", "a.txt") == b"abc"
    assert copy.identities() == {"users": 1}
    assert copy.query("Users", [("name", "==", "u7")]).total == 1


def test_incremental_import_applies_updates_and_deletes(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    source = instance.create_database("source")
    target = instance.create_database("target")
    for i in range(10):
        source.put(f"users/{i}", {"v": 0})
    export_database(source, tmp_path / "first")
    import_file(instance, tmp_path / "first", "target")
    mark = source.last_etag
    source.put("users/1", {"v": 1})
    source.delete("users/2")
    source.put_attachment("users/3", "x", b"123")
    export_database(source, tmp_path / "second", since_etag=mark)
    # Without --incremental only updates are applied.
    import_file(instance, tmp_path / "second", "target")
    assert target.get("users/2") is not None
    assert target.get("users/1").body == {"v": 1}  # type: ignore[union-attr]
    import_file(instance, tmp_path / "second", "target", incremental=True)
    assert target.get("users/2") is None
    assert target.read_attachment("users/3", "x") == b"123"
    assert sorted(d.id for d in target.list_documents()) == sorted(
        d.id for d in source.list_documents()
    )
    # The import wrote fresh changes: the target's own backups see them.
    assert target.last_etag > 10


def test_import_refuses_damaged_files_and_snapshots(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    db = instance.create_database("shop")
    db.put("users/1", {})
    export_database(db, tmp_path / "e")
    data = bytearray((tmp_path / "e").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "bad").write_bytes(bytes(data))
    with pytest.raises(BackupCorrupted, match="bad"):
        import_file(instance, tmp_path / "bad", "shop", incremental=True)
    with pytest.raises(BackupCorrupted, match="bad"):
        import_file(instance, tmp_path / "bad", "fresh")
    assert not instance.has_database("fresh")
    snap = write_full_backup(db, tmp_path / "s", backup_type="snapshot")
    with pytest.raises(RestoreError, match="snapshot"):
        import_file(instance, snap.path, "shop")
    assert db.count() == 1
