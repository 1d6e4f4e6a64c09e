"""Run folders and backup files: names, headers, chains, skipping empty incrementals, snapshots."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

import rookdb
from rookdb.backup import (
    BackupReader,
    latest_chain,
    read_run_folder,
    verify_run_folder,
    write_full_backup,
    write_incremental_backup,
)
from rookdb.errors import InvalidInput
from rookdb.restore import restore_database

NOW = datetime(2026, 11, 22, 2, 0, 3, tzinfo=UTC)


def test_names_follow_the_documented_layout(instance: rookdb.Instance, tmp_path: Path) -> None:
    db = instance.create_database("shop")
    db.put("users/1", {"a": 1})
    full = write_full_backup(db, tmp_path, now=NOW)
    assert full.run_folder == "2026-11-22-02-00-03.rookdb-shop-A-backup"
    assert full.file_name == "2026-11-22-02-00-03.rookdb-full-backup"
    assert full.path == tmp_path / full.run_folder / full.file_name
    assert (full.kind, full.type, full.since_etag, full.last_etag) == ("full", "backup", 0, 1)
    snap = write_full_backup(db, tmp_path, backup_type="snapshot", now=NOW, node_tag="B")
    assert snap.run_folder == "2026-11-22-02-00-03.rookdb-shop-B-backup"
    assert snap.file_name.endswith(".rookdb-snapshot")
    db.put("users/2", {"a": 2})
    inc = write_incremental_backup(db, full.path.parent, full.last_etag, now=NOW)
    assert inc is not None
    assert inc.file_name == "2026-11-22-02-00-03.rookdb-incremental-backup"
    assert (inc.kind, inc.since_etag, inc.last_etag, inc.documents) == ("incremental", 1, 2, 1)
    assert not list(tmp_path.rglob("*.in-progress"))


def test_two_fulls_in_the_same_second_get_distinct_names(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    db = instance.create_database("shop")
    first = write_full_backup(db, tmp_path, now=NOW)
    second = write_full_backup(db, tmp_path, now=NOW)
    db.put("a/1", {})
    third = write_incremental_backup(db, second.path.parent, second.last_etag, now=NOW)
    db.put("a/2", {})
    fourth = write_incremental_backup(db, second.path.parent, 1, now=NOW)
    assert first.run_folder != second.run_folder
    assert third is not None and fourth is not None and third.file_name != fourth.file_name
    assert latest_chain(tmp_path) is not None
    assert latest_chain(tmp_path).path == second.path.parent  # type: ignore[union-attr]


def test_incremental_without_changes_writes_nothing(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    db = instance.create_database("shop")
    db.put("users/1", {"a": 1})
    full = write_full_backup(db, tmp_path)
    assert write_incremental_backup(db, full.path.parent, full.last_etag) is None
    assert [p.name for p in full.path.parent.iterdir()] == [full.file_name]


def test_header_trailer_and_index_describe_the_file(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    db = instance.create_database("shop")
    db.bulk_insert((f"users/{i}", {"n": i, "text": "t" * 500}) for i in range(5000))
    db.delete("users/7")
    db.put_attachment("users/1", "a.bin", b"\x00" * 3_000_000)
    for compression in ("zstd", "gzip", "none"):
        full = write_full_backup(db, tmp_path / compression, compression=compression)
        with BackupReader(full.path) as reader:
            assert reader.header.database == "shop"
            assert reader.header.database_id == db.database_id
            assert reader.header.compression == compression
            assert reader.header.node == "A"
            assert reader.trailer.counts["documents"] == 4999
            assert reader.trailer.counts["tombstones"] == 1
            assert reader.trailer.counts["attachments"] == 1
            assert reader.trailer.blocks > 1
            entries = list(reader.index_entries())
            ids = [doc_id for _offset, chunk in entries for doc_id in chunk]
            assert "users/4999" in ids and "users/7" in ids
        assert verify_run_folder(full.path.parent).ok
    sizes = {
        c: next((tmp_path / c).rglob("*.rookdb-full-backup")).stat().st_size
        for c in ("zstd", "none")
    }
    assert sizes["zstd"] < sizes["none"] / 3


def test_ls_lists_the_chain_in_order(instance: rookdb.Instance, tmp_path: Path) -> None:
    db = instance.create_database("shop")
    full = write_full_backup(db, tmp_path)
    last = full.last_etag
    for i in range(3):
        db.put(f"users/{i}", {})
        inc = write_incremental_backup(db, full.path.parent, last)
        assert inc is not None
        last = inc.last_etag
    info = read_run_folder(full.path.parent)
    assert info.ok and info.last_etag == 3 and info.database == "shop"
    assert [f.kind for f in info.files] == ["full", "incremental", "incremental", "incremental"]
    assert [(f.since_etag, f.last_etag) for f in info.files] == [(0, 0), (0, 1), (1, 2), (2, 3)]
    assert info.to_json()["files"][1]["counts"]["documents"] == 1


def test_bad_options_are_rejected(instance: rookdb.Instance, tmp_path: Path) -> None:
    db = instance.create_database("shop")
    out = tmp_path / "backups"
    with pytest.raises(InvalidInput, match="compression"):
        write_full_backup(db, out, compression="lz4")
    with pytest.raises(InvalidInput, match="backup type"):
        write_full_backup(db, out, backup_type="raw")
    assert not out.exists()


def test_progress_is_reported(instance: rookdb.Instance, tmp_path: Path) -> None:
    db = instance.create_database("shop")
    db.bulk_insert((f"users/{i}", {"n": i}) for i in range(5000))
    calls: list[tuple[int, int]] = []
    write_full_backup(db, tmp_path, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1] == (5000, 5000)


def test_snapshot_under_concurrent_writes_restores_a_consistent_state(
    tmp_path: Path,
) -> None:
    instance = rookdb.open(tmp_path / "data", durable=False)
    try:
        db = instance.create_database("shop")
        db.create_index("ByN", "Users", ["n"])
        db.bulk_insert((f"users/{i}", {"n": i, "pair": 0}) for i in range(20_000))
        stop = threading.Event()
        written = [0]

        def writer() -> None:
            # Each write changes a pair of documents atomically: a consistent copy
            # never shows one half of a pair without the other.
            i = 0
            while not stop.is_set():
                from rookdb.storage import BatchOperation

                db.batch(
                    [
                        BatchOperation("put", f"pairs/{i}-a", {"n": i, "pair": i}),
                        BatchOperation("put", f"pairs/{i}-b", {"n": i, "pair": i}),
                    ]
                )
                i += 1
                written[0] = i

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            snaps = [
                write_full_backup(db, tmp_path / "bk", backup_type="snapshot") for _ in range(3)
            ]
        finally:
            stop.set()
            thread.join(timeout=30)
        assert written[0] > 0
        for n, snap in enumerate(snaps):
            restore_database(instance, snap.path.parent, f"r{n}")
            copy = instance.database(f"r{n}")
            assert copy.last_etag == snap.last_etag
            pairs = copy.collections().get("Pairs", 0)
            assert pairs % 2 == 0
            assert copy.count() == 20_000 + pairs
            assert copy.query("Users", [("n", "<", 10)]).total == 10
    finally:
        instance.close()


def test_a_database_copy_is_one_complete_file_in_rollback_journal_mode(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    # The copy is written without a journal or fsync (it is temporary): it must still
    # come out as a single, whole file that opens as an ordinary rollback-journal database.
    db = instance.create_database("shop")
    db.create_index("ByN", "Users", ["n"])
    db.bulk_insert((f"users/{i}", {"n": i}) for i in range(2_000))
    db.put_attachment("users/1", "a.bin", b"abc", "application/octet-stream")
    (tmp_path / "copies").mkdir()
    target = tmp_path / "copies" / "copy.rookdb"
    copied = db.copy_to(target)
    assert copied.last_etag == db.last_etag
    assert [p.name for p in target.parent.iterdir()] == ["copy.rookdb"]
    with sqlite3.connect(target) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 2_000
