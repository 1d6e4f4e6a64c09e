"""Restore and drill take the chain the evidence says is current, never a stale or partial one.

A full backup that fails on one destination must not leave a newer-looking
chain on another while the task goes on with the old one; and when a folder
of run folders holds such a chain anyway (the take-back failed too), restore
and drill still pick the chain holding the newest backup, and say so.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

import rookdb
from rookdb import Instance
from rookdb.backup import write_full_backup, write_incremental_backup
from rookdb.tasks import BackupScheduler, BackupTasks, ManualClock
from rookdb_process import cli


def rook(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = cli("--data-dir", str(data_dir), *args)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def restored(data_dir: Path, name: str) -> tuple[int, list[str]]:
    with rookdb.open(data_dir) as instance:
        db = instance.database(name)
        ids = sorted(doc.id for doc in db.list_documents(page_size=1000))
        return db.last_etag, ids


def run_folders(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.is_dir())


def test_a_full_that_failed_on_one_destination_leaves_no_newer_chain_on_another(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    a, b = tmp_path / "A", tmp_path / "B"
    instance = rookdb.open(data)
    db = instance.create_database("shop")
    service = BackupTasks(
        instance, BackupScheduler(instance, clock=ManualClock("2026-11-22T10:00Z"))
    )
    try:
        task = service.create(
            "shop",
            {
                "full_backup_cron": "0 2 * * *",
                "incremental_backup_cron": "0 */6 * * *",
                "destinations": [
                    {"kind": "local", "path": str(a)},
                    {"kind": "local", "path": str(b)},
                ],
            },
        )
        db.put("users/1", {"name": "Ann"})
        assert service.backup_now("shop", task["id"], full=True, wait=True)["error"] is None
        db.put("users/2", {"name": "Bob"})
        assert service.backup_now("shop", task["id"], full=False, wait=True)["error"] is None
        [chain] = run_folders(a)

        # B cannot be written: a file stands where its folder was.
        b.rename(tmp_path / "B-saved")
        b.write_text("not a folder")
        db.put("users/3", {"name": "Cy"})
        failed = service.backup_now("shop", task["id"], full=True, wait=True)
        assert failed["error"] and "1 of 2 destinations failed" in failed["error"]
        assert run_folders(a) == [chain], "the failed full must be taken back off A"

        b.unlink()
        (tmp_path / "B-saved").rename(b)
        db.put("users/4", {"name": "Dee"})
        last = service.backup_now("shop", task["id"], full=False, wait=True)
        assert last["error"] is None and last["kind"] == "incremental"
        source_etag = db.last_etag
    finally:
        service.scheduler.stop()
        instance.close()

    done = rook(data, "restore", str(a), "-d", "fromA", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["chain_choice"]["run_folder"] == chain
    assert restored(data, "fromA") == (source_etag, ["users/1", "users/2", "users/3", "users/4"])
    drill = rook(data, "backup", "drill", str(a), "--json")
    assert drill.returncode == 0, drill.stdout + drill.stderr
    report = json.loads(drill.stdout)
    assert report["run_folder"] == chain and report["last_etag_found"] == source_etag


def write_history(instance: Instance, out: Path) -> dict[str, Any]:
    """full (etag 1), incremental (2), a newer-looking full (3) in a second run folder that a
    failed run left behind, then an incremental (4) continuing the first chain."""
    db = instance.create_database("shop")
    db.put("users/1", {"n": 1})
    first = write_full_backup(db, out, now=_at("2026-11-22T02:00:00Z"))
    db.put("users/2", {"n": 2})
    write_incremental_backup(db, first.path.parent, 1, now=_at("2026-11-22T06:00:00Z"))
    db.put("users/3", {"n": 3})
    stray = write_full_backup(db, out, now=_at("2026-11-22T08:00:00Z"))
    db.put("users/4", {"n": 4})
    write_incremental_backup(db, first.path.parent, 2, now=_at("2026-11-22T12:00:00Z"))
    return {"current": first.run_folder, "stray": stray.run_folder, "etag": db.last_etag}


def _at(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def history(tmp_path: Path) -> dict[str, Any]:
    with rookdb.open(tmp_path / "data") as instance:
        return write_history(instance, tmp_path / "out")


def test_restore_takes_the_chain_with_the_newest_backup_not_the_newest_folder(
    tmp_path: Path, history: dict[str, Any]
) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    done = rook(data, "restore", str(out), "-d", "r1", "--json")
    assert done.returncode == 0, done.stderr
    choice = json.loads(done.stdout)["chain_choice"]
    assert choice["run_folder"] == history["current"]
    assert "newest backup" in choice["reason"]
    assert [p["run_folder"] for p in choice["passed_over"]] == [history["stray"]]
    assert restored(data, "r1") == (4, ["users/1", "users/2", "users/3", "users/4"])

    # Said in plain words too, on stderr, so piped output stays the result alone.
    plain = rook(data, "restore", str(out), "-d", "r2")
    assert plain.returncode == 0, plain.stderr
    assert f"using run folder {history['current']}" in plain.stderr
    assert history["stray"] in plain.stderr

    drill = rook(data, "backup", "drill", str(out), "--json")
    assert drill.returncode == 0, drill.stdout + drill.stderr
    assert json.loads(drill.stdout)["run_folder"] == history["current"]


def test_a_point_in_time_takes_the_chain_that_was_current_then(
    tmp_path: Path, history: dict[str, Any]
) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    # At 09:00 the newest backup anywhere was the 08:00 full of the second folder.
    done = rook(data, "restore", str(out), "-d", "at9", "--until", "2026-11-22T09:00:00Z", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["chain_choice"]["run_folder"] == history["stray"]
    assert restored(data, "at9") == (3, ["users/1", "users/2", "users/3"])
    # At 07:00 only the first chain existed.
    done = rook(data, "restore", str(out), "-d", "at7", "--until", "2026-11-22T07:00:00Z", "--json")
    assert done.returncode == 0, done.stderr
    assert restored(data, "at7") == (2, ["users/1", "users/2"])


def test_backup_run_incremental_continues_the_current_chain(
    tmp_path: Path, history: dict[str, Any]
) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    with rookdb.open(data) as instance:
        instance.database("shop").put("users/5", {"n": 5})
    done = rook(data, "backup", "run", "shop", "--to", str(out), "--incremental", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["run_folder"] == history["current"]


def test_a_bucket_of_run_folders_restores_its_current_chain(
    tmp_path: Path,
    history: dict[str, Any],
    s3_endpoint_client: Any,
    s3_endpoint_options: dict[str, str],
) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    client = s3_endpoint_client
    client.create_bucket(Bucket="backups")
    for file in out.rglob("*"):
        if file.is_file():
            client.upload_file(str(file), "backups", f"prod/{file.relative_to(out).as_posix()}")
    options = [f"--source-option={k}={v}" for k, v in s3_endpoint_options.items()]
    done = rook(data, "restore", "s3://backups/prod", "-d", "s3now", "--json", *options)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["chain_choice"]["run_folder"] == history["current"]
    assert restored(data, "s3now") == (4, ["users/1", "users/2", "users/3", "users/4"])
    at9 = ["--until", "2026-11-22T09:00:00Z"]
    done = rook(data, "restore", "s3://backups/prod", "-d", "s3at9", "--json", *at9, *options)
    assert done.returncode == 0, done.stderr
    assert restored(data, "s3at9") == (3, ["users/1", "users/2", "users/3"])
