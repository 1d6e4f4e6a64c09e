"""Restore to a point in time: by file name or timestamp, deletes included, never half-done."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import rookdb
from rookdb.backup import BackupFile, write_full_backup, write_incremental_backup
from rookdb.errors import AlreadyExists, InvalidInput, NotFound, RestoreError
from rookdb.restore import restore_database

T0 = datetime(2026, 11, 22, 2, 0, 0, tzinfo=UTC)


def hourly_chain(db: rookdb.Database, out: Path) -> list[BackupFile]:
    """Full at T0, then one incremental per hour: +users/2, -users/1, +attachment."""
    db.put("users/1", {"name": "Ann"})
    files = [write_full_backup(db, out, now=T0)]
    steps = [
        lambda: db.put("users/2", {"name": "Bob"}),
        lambda: db.delete("users/1"),
        lambda: db.put_attachment("users/2", "cv.txt", b"hello", "text/plain"),
    ]
    for hour, step in enumerate(steps, start=1):
        step()
        inc = write_incremental_backup(
            db, files[0].path.parent, files[-1].last_etag, now=T0 + timedelta(hours=hour)
        )
        assert inc is not None
        files.append(inc)
    return files


def ids(db: rookdb.Database) -> list[str]:
    return sorted(d.id for d in db.list_documents())


def test_until_a_file_name(instance: rookdb.Instance, tmp_path: Path) -> None:
    files = hourly_chain(instance.create_database("shop"), tmp_path)
    folder = files[0].path.parent
    restore_database(instance, folder, "at0", until=files[0].file_name)
    restore_database(instance, folder, "at1", until=files[1].file_name)
    restore_database(instance, folder, "at2", until=files[2].file_name)
    assert ids(instance.database("at0")) == ["users/1"]
    assert ids(instance.database("at1")) == ["users/1", "users/2"]
    assert ids(instance.database("at2")) == ["users/2"]  # the delete is replayed
    assert instance.database("at2").list_attachments("users/2") == []


def test_until_a_path_to_a_file_as_a_shell_completes_it(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    files = hourly_chain(instance.create_database("shop"), tmp_path)
    folder = files[0].path.parent
    result = restore_database(instance, folder, "at1", until=str(files[1].path))
    assert result.files[-1] == files[1].file_name
    assert ids(instance.database("at1")) == ["users/1", "users/2"]
    # From the folder of run folders too, and relative to it.
    relative = f"{folder.name}/{files[2].file_name}"
    restore_database(instance, tmp_path, "at2", until=relative)
    assert ids(instance.database("at2")) == ["users/2"]


def test_until_a_time_takes_the_last_file_at_or_before_it(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    files = hourly_chain(instance.create_database("shop"), tmp_path)
    folder = files[0].path.parent
    result = restore_database(instance, folder, "t", until="2026-11-22T04:30:00Z")
    assert result.files[-1] == files[2].file_name
    assert ids(instance.database("t")) == ["users/2"]
    exact = restore_database(instance, folder, "exact", until=files[1].created_at)
    assert exact.files[-1] == files[1].file_name
    with pytest.raises(RestoreError, match="nothing to restore"):
        restore_database(instance, folder, "early", until="2026-11-22T01:00:00Z")
    with pytest.raises(InvalidInput, match="neither a file"):
        restore_database(instance, folder, "bad", until="yesterday-ish")


def test_whole_chain_and_a_folder_of_run_folders(instance: rookdb.Instance, tmp_path: Path) -> None:
    db = instance.create_database("shop")
    files = hourly_chain(db, tmp_path)
    result = restore_database(instance, files[0].path.parent, "all")
    copy = instance.database("all")
    assert result.files == tuple(f.file_name for f in files)
    assert copy.read_attachment("users/2", "cv.txt") == b"hello"
    assert copy.last_etag == db.last_etag
    # Given the folder that holds run folders, the newest chain is used.
    db.put("users/9", {})
    write_full_backup(db, tmp_path, now=T0 + timedelta(days=1))
    restore_database(instance, tmp_path, "newest")
    assert "users/9" in ids(instance.database("newest"))
    restore_database(instance, tmp_path, "older", until="2026-11-22T12:00:00Z")
    assert "users/9" not in ids(instance.database("older"))
    # A single file restores its run folder up to that file.
    restore_database(instance, files[1].path, "one")
    assert ids(instance.database("one")) == ["users/1", "users/2"]


def test_existing_name_is_refused_before_any_work(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    files = hourly_chain(instance.create_database("shop"), tmp_path)
    with pytest.raises(AlreadyExists, match="shop"):
        restore_database(instance, files[0].path.parent, "shop")
    with pytest.raises(InvalidInput):
        restore_database(instance, files[0].path.parent, "bad name!")
    with pytest.raises(NotFound):
        restore_database(instance, tmp_path / "missing", "x")
    assert not instance.has_database("x")


def test_restored_documents_keep_metadata_and_order(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    db = instance.create_database("shop")
    db.put("people/1", {"name": "A", "@metadata": {"@collection": "Staff", "@flags": "x"}})
    db.put("users|", {"name": "identity"})
    db.put("orders/1", {"total": 3})
    files = [write_full_backup(db, tmp_path)]
    restore_database(instance, files[0].path.parent, "copy")
    copy = instance.database("copy")
    for original in db.list_documents():
        restored = copy.get(original.id)
        assert restored is not None
        assert restored.to_json() == original.to_json()
    assert copy.identities() == {"users": 1}
    assert copy.collections() == db.collections()
