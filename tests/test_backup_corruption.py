"""Damaged, foreign or unreadable backup files: an error naming the file, nothing left behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import orjson
import pytest

import rookdb
from backup_surgery import RAW_KEY, rewrite_trailer_count
from rookdb.backup import (
    BackupFile,
    read_run_folder,
    verify_file,
    verify_run_folder,
    write_full_backup,
    write_incremental_backup,
)
from rookdb.backup.format import MAGIC
from rookdb.errors import BackupCorrupted, ChainBroken, EncryptionKeyError
from rookdb.restore import restore_database


def make_chain(db: rookdb.Database, out: Path, **options: object) -> list[BackupFile]:
    for i in range(200):
        db.put(f"users/{i}", {"name": f"user {i}", "pad": "x" * 200})
    db.put_attachment("users/1", "photo", os.urandom(50_000), "image/png")
    files = [write_full_backup(db, out, **options)]  # type: ignore[arg-type]
    for step in range(3):
        db.put(f"orders/{step}", {"step": step})
        db.delete(f"users/{step + 10}")
        inc = write_incremental_backup(
            db,
            files[0].path.parent,
            files[-1].last_etag,
            **{k: v for k, v in options.items() if k != "backup_type"},  # type: ignore[arg-type]
        )
        assert inc is not None
        files.append(inc)
    return files


def assert_nothing_restored(instance: rookdb.Instance, name: str) -> None:
    assert not instance.has_database(name)
    assert not instance.database_path(name).exists()
    staging = instance.data_dir / "staging"
    assert not staging.exists() or not any(staging.iterdir())


def test_truncated_file_is_reported_by_name(instance: rookdb.Instance, tmp_path: Path) -> None:
    files = make_chain(instance.create_database("shop"), tmp_path)
    victim = files[1].path
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    with pytest.raises(BackupCorrupted, match=victim.name):
        restore_database(instance, files[0].path.parent, "copy")
    assert_nothing_restored(instance, "copy")
    problems = verify_run_folder(files[0].path.parent).problems
    assert any(victim.name in p for p in problems)


@pytest.mark.parametrize(("index", "count"), [(0, "documents"), (2, "tombstones")])
def test_a_rewritten_trailer_count_is_refused_and_named(
    instance: rookdb.Instance, tmp_path: Path, index: int, count: str
) -> None:
    # The SHA-256 covers every byte before the trailer, so only replaying the
    # records and counting them can tell that the trailer was rewritten.
    files = make_chain(instance.create_database("shop"), tmp_path)
    victim = files[index].path
    rewrite_trailer_count(victim, count, 1)
    with pytest.raises(BackupCorrupted, match=f"{victim.name}: its records differ") as info:
        restore_database(instance, files[0].path.parent, "copy")
    assert f"{count}: the trailer says" in info.value.message
    assert_nothing_restored(instance, "copy")


@pytest.mark.parametrize("where", [0.1, 0.5, 0.95])
def test_flipped_byte_is_detected_before_anything_is_built(
    instance: rookdb.Instance, tmp_path: Path, where: float
) -> None:
    files = make_chain(instance.create_database("shop"), tmp_path)
    victim = files[0].path
    data = bytearray(victim.read_bytes())
    position = max(len(MAGIC) + 4 + 300, int(len(data) * where))
    data[position] ^= 0x01
    victim.write_bytes(bytes(data))
    with pytest.raises(BackupCorrupted, match=victim.name):
        verify_file(victim)
    with pytest.raises(BackupCorrupted, match=victim.name):
        restore_database(instance, victim.parent, "copy")
    assert_nothing_restored(instance, "copy")


def test_missing_middle_incremental_breaks_the_chain(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    files = make_chain(instance.create_database("shop"), tmp_path)
    files[2].path.unlink()
    with pytest.raises(ChainBroken, match="gap"):
        restore_database(instance, files[0].path.parent, "copy")
    assert_nothing_restored(instance, "copy")
    # A restore up to a file before the gap still works.
    restore_database(instance, files[0].path.parent, "early", until=files[1].file_name)
    assert instance.database("early").get("orders/0") is not None
    assert any("gap" in p for p in read_run_folder(files[0].path.parent).problems)


def test_file_of_another_database_in_the_chain(instance: rookdb.Instance, tmp_path: Path) -> None:
    files = make_chain(instance.create_database("shop"), tmp_path / "a")
    other = make_chain(instance.create_database("other"), tmp_path / "b")
    shutil.copy(
        other[3].path, files[0].path.parent / "2099-01-01-00-00-00.rookdb-incremental-backup"
    )
    with pytest.raises(ChainBroken, match="another database"):
        restore_database(instance, files[0].path.parent, "copy")
    assert_nothing_restored(instance, "copy")


def test_incremental_into_a_run_folder_of_another_database_is_refused(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    files = make_chain(instance.create_database("shop"), tmp_path)
    other = instance.create_database("other")
    other.put("x/1", {})
    with pytest.raises(ChainBroken, match="another database"):
        write_incremental_backup(other, files[0].path.parent, files[-1].last_etag)


def test_unknown_format_version(instance: rookdb.Instance, tmp_path: Path) -> None:
    files = make_chain(instance.create_database("shop"), tmp_path)
    victim = files[0].path
    data = victim.read_bytes()
    start = len(MAGIC) + 4
    length = int.from_bytes(data[len(MAGIC) : start], "little")
    header = orjson.loads(data[start : start + length])
    header["format_version"] = 99
    new = orjson.dumps(header)
    victim.write_bytes(
        data[: len(MAGIC)] + len(new).to_bytes(4, "little") + new + data[start + length :]
    )
    with pytest.raises(BackupCorrupted, match="format version 99"):
        restore_database(instance, victim.parent, "copy")
    assert_nothing_restored(instance, "copy")


@pytest.mark.parametrize("key", [RAW_KEY, "correct horse battery staple"])
def test_encrypted_chain_needs_the_right_key(
    instance: rookdb.Instance, tmp_path: Path, key: str
) -> None:
    db = instance.create_database("shop")
    files = make_chain(db, tmp_path, encryption_key=key)
    assert b"user 1" not in files[0].path.read_bytes()
    folder = files[0].path.parent
    with pytest.raises(EncryptionKeyError, match="encrypted"):
        restore_database(instance, folder, "copy")
    with pytest.raises(EncryptionKeyError, match="wrong encryption key"):
        restore_database(instance, folder, "copy", encryption_key="not the key")
    assert_nothing_restored(instance, "copy")
    restore_database(instance, folder, "copy", encryption_key=key)
    assert instance.database("copy").count() == db.count()
    assert instance.database("copy").read_attachment("users/1", "photo") == db.read_attachment(
        "users/1", "photo"
    )


def test_encrypted_snapshot_round_trip(instance: rookdb.Instance, tmp_path: Path) -> None:
    db = instance.create_database("shop")
    db.create_index("ByName", "Users", ["name"])
    files = make_chain(db, tmp_path, backup_type="snapshot", encryption_key=RAW_KEY)
    with pytest.raises(EncryptionKeyError):
        restore_database(
            instance, files[0].path.parent, "copy", encryption_key=RAW_KEY[:-4] + "AAA="
        )
    restore_database(instance, files[0].path.parent, "copy", encryption_key=RAW_KEY)
    copy = instance.database("copy")
    assert copy.query("Users", [("name", "==", "user 5")]).total == 1
    assert copy.count() == db.count()


def test_failed_write_leaves_no_partial_file(instance: rookdb.Instance, tmp_path: Path) -> None:
    db = instance.create_database("shop")
    db.put("users/1", {"a": 1})
    out = tmp_path / "backups"
    full = write_full_backup(db, out)
    db.put("users/2", {"a": 2})
    instance.close()
    # The incremental runs in a child without the capability that lets root write
    # into a read-only folder, so the permission is enforced as it would be for
    # any other user (CI runs as root).
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        import rookdb
        from rookdb.backup import write_incremental_backup
        from rookdb.errors import StorageError
        with rookdb.open(sys.argv[1]) as inst:
            try:
                write_incremental_backup(inst.database("shop"), Path(sys.argv[2]), int(sys.argv[3]))
            except StorageError as exc:
                print("error:", exc.message)
                sys.exit(3)
        """
    )
    without_override = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    os.chmod(full.path.parent, 0o500)
    try:
        proc = subprocess.run(
            [*(without_override if os.geteuid() == 0 else []), sys.executable, "-c", script]
            + [str(tmp_path / "data"), str(full.path.parent), str(full.last_etag)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        os.chmod(full.path.parent, 0o700)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "in-progress" in proc.stdout or "backup file" in proc.stdout
    assert sorted(p.name for p in full.path.parent.iterdir()) == [full.file_name]


def test_disk_full_while_writing_leaves_nothing(tmp_path: Path) -> None:
    # RLIMIT_FSIZE makes the write fail with EFBIG, as a full disk would, in a
    # child process so the limit does not touch the test runner.
    script = textwrap.dedent(
        """
        import os, resource, signal, sys
        from pathlib import Path
        import rookdb
        from rookdb.backup import write_full_backup
        from rookdb.errors import StorageError
        inst = rookdb.open(sys.argv[1], durable=False)
        db = inst.create_database("shop")
        db.bulk_insert((f"users/{i}", {"blob": os.urandom(300).hex()}) for i in range(3000))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
        try:
            write_full_backup(db, Path(sys.argv[2]), compression="none")
        except StorageError as exc:
            print("error:", exc.message)
            sys.exit(3)
        sys.exit(0)
        """
    )
    out = tmp_path / "backups"
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "data"), str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 3, proc.stderr
    assert "rookdb-full-backup" in proc.stdout
    leftovers = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert leftovers == []
    assert not out.exists() or list(out.iterdir()) == []
