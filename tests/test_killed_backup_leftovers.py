"""A backup or upload killed mid-way (SIGKILL) never hides the complete chain beside it.

Restore, drill, ls, verify and `backup run --incremental` all pass over a run
folder that holds only partial files; the next backup into the folder (or the
next task run on a destination) removes them once abandoned — never while
their writer is alive.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import rookdb
from rookdb import partial
from rookdb.backup import write_full_backup, write_incremental_backup
from rookdb.tasks import BackupScheduler, BackupTasks, ManualClock
from rookdb_process import ENV, cli

# Each child pauses once its partial file holds data, and tells the test so;
# the pause is bounded so a child the test failed to kill still ends.
BACKUP_CHILD = """
import sys, time
from pathlib import Path
import rookdb
from rookdb.backup import write_full_backup

data_dir, out, marker = sys.argv[1:4]
instance = rookdb.open(data_dir)
paused = False

def progress(done, total):
    global paused
    if not paused and done > 0:
        paused = True
        Path(marker).write_text("writing")
        time.sleep(120)

write_full_backup(instance.database("shop"), Path(out), progress=progress)
"""

UPLOAD_CHILD = """
import sys, time
from pathlib import Path
from rookdb.destinations.local import LocalDestination

source, root, remote_path, marker = sys.argv[1:5]
paused = False

def progress(amount):
    global paused
    if not paused:
        paused = True
        Path(marker).write_text("uploading")
        time.sleep(120)

LocalDestination(root).put_file(Path(source), remote_path, progress=progress)
"""


def rook(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = cli("--data-dir", str(data_dir), *args)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def start_child(script: str, *args: str | Path, marker: Path) -> subprocess.Popen[bytes]:
    child = subprocess.Popen([sys.executable, "-c", script, *map(str, args)], env=ENV)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert child.poll() is None, "the child ended before it paused"
        assert time.monotonic() < deadline, "the child never reached its pause"
        time.sleep(0.02)
    return child


def kill(child: subprocess.Popen[bytes]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)


def partial_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and partial.is_partial_name(p.name))


def age(paths: list[Path], seconds: float) -> None:
    """Make files look untouched for `seconds` (as if the grace period had passed)."""
    then = time.time() - seconds
    for path in paths:
        os.utime(path, (then, then))


@pytest.fixture
def chain(tmp_path: Path) -> Iterator[str]:
    """A complete chain (full + incremental) of `shop` in tmp_path/out; its run folder name."""
    with rookdb.open(tmp_path / "data") as instance:
        db = instance.create_database("shop")
        db.bulk_insert((f"users/{n}", {"n": n, "text": "x" * 200}) for n in range(3000))
        full = write_full_backup(db, tmp_path / "out")
        db.put("users/extra", {"n": -1})
        write_incremental_backup(db, full.path.parent, full.last_etag)
        yield full.run_folder


def test_a_killed_backup_run_is_passed_over_then_cleaned_once_abandoned(
    tmp_path: Path, chain: str
) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    child = start_child(BACKUP_CHILD, data, out, tmp_path / "paused", marker=tmp_path / "paused")
    kill(child)
    [leftover] = partial_files(out)
    killed_folder = leftover.parent.name
    assert killed_folder != chain

    done = rook(data, "restore", str(out), "-d", "r1", "--json")
    assert done.returncode == 0, done.stderr
    choice = json.loads(done.stdout)["chain_choice"]
    assert choice["run_folder"] == chain
    [passed] = choice["passed_over"]
    assert passed["run_folder"] == killed_folder and "partial file" in passed["reason"]

    drill = rook(data, "backup", "drill", str(out), "--json")
    assert drill.returncode == 0, drill.stdout + drill.stderr
    assert json.loads(drill.stdout)["run_folder"] == chain
    listed = rook(data, "backup", "ls", str(out), "--json")
    assert [f["run_folder"] for f in json.loads(listed.stdout)] == [chain]
    assert rook(data, "backup", "verify", str(out)).returncode == 0

    # Within the grace period the leftover stays; the chain goes on regardless.
    with rookdb.open(data) as instance:
        instance.database("shop").put("users/next", {"n": 1})
    done = rook(data, "backup", "run", "shop", "--to", str(out), "--incremental", "--json")
    assert done.returncode == 0, done.stderr
    written = json.loads(done.stdout)
    assert written["run_folder"] == chain and written["cleaned_up"] == []
    assert leftover.exists()

    age([leftover], partial.DEFAULT_GRACE_SECONDS + 60)
    with rookdb.open(data) as instance:
        instance.database("shop").put("users/later", {"n": 2})
    done = rook(data, "backup", "run", "shop", "--to", str(out), "--incremental", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cleaned_up"] == [f"{killed_folder}/{leftover.name}"]
    assert not (out / killed_folder).exists(), "the emptied run folder goes too"
    assert partial_files(out) == []


def test_a_live_writer_keeps_its_partial_file_however_old(tmp_path: Path, chain: str) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    child = start_child(BACKUP_CHILD, data, out, tmp_path / "paused", marker=tmp_path / "paused")
    try:
        [writing] = partial_files(out)
        age([writing], 24 * 3600)
        assert partial.remove_abandoned(out).files == ()
        assert writing.exists()
    finally:
        kill(child)
    # The same file, its writer gone: now it is abandoned.
    assert partial.remove_abandoned(out).files == (f"{writing.parent.name}/{writing.name}",)


def test_an_upload_killed_mid_way_is_cleaned_by_the_next_task_run(
    tmp_path: Path, chain: str
) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(4 * 1024 * 1024))
    killed_folder = "2030-01-01-00-00-00.rookdb-shop-A-backup"
    remote = f"{killed_folder}/2030-01-01-00-00-00.rookdb-full-backup"
    marker = tmp_path / "uploading"
    kill(start_child(UPLOAD_CHILD, big, out, remote, marker, marker=marker))
    [leftover] = partial_files(out)
    assert leftover.name.startswith(partial.UPLOAD_PREFIX)

    done = rook(data, "restore", str(out), "-d", "r1", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["chain_choice"]["run_folder"] == chain

    age([leftover], partial.DEFAULT_GRACE_SECONDS + 60)
    with rookdb.open(data) as instance:
        service = BackupTasks(
            instance, BackupScheduler(instance, clock=ManualClock("2026-11-22T10:00Z"))
        )
        try:
            task = service.create(
                "shop",
                {
                    "full_backup_cron": "0 2 * * *",
                    "destinations": [{"kind": "local", "path": str(out)}],
                },
            )
            run = service.backup_now("shop", task["id"], full=True, wait=True)
        finally:
            service.scheduler.stop()
    assert run["error"] is None
    assert run["cleaned_up"] == [f"{killed_folder}/{leftover.name}"]
    assert not (out / killed_folder).exists()
