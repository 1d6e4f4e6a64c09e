"""Two processes on one data dir never run a task twice at once, nor take each other's files.

A `rookdb backup tasks now` on the data dir of a live server used to clear the
task's staging folder, deleting the file the server was still writing; and a
server starting beside a running task marked that live run as interrupted.
Now a run holds a lease on its task (renewed while it goes on): the other
process is told who runs it, start-up recovery leaves a live lease alone, and
each run stages its file in a locked folder of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import rookdb
from rookdb.backup import verify_run_folder
from rookdb.tasks import BackupScheduler, BackupTasks

ROOKDB = str(Path(sys.executable).with_name("rookdb"))
ENV = {k: v for k, v in os.environ.items() if not k.startswith("ROOKDB_")}

# A server-like process: it runs the task and pauses mid-write (its progress
# reporter waits for a "go" file, bounded), then reports its run as JSON.
PAUSED_RUN = """
import json, sys, time
from pathlib import Path
import rookdb
from rookdb.backup import verify_run_folder
from rookdb.tasks import BackupScheduler, BackupTasks, runner

data_dir, task_id, paused, go = sys.argv[1:5]
runner.PROGRESS_INTERVAL = 0.0
original = runner._ProgressReporter.__call__

def pause_once(self, done, total):
    if not Path(paused).exists():
        Path(paused).write_text("writing")
        deadline = time.monotonic() + 120
        while not Path(go).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    original(self, done, total)

runner._ProgressReporter.__call__ = pause_once
with rookdb.open(data_dir) as instance:
    service = BackupTasks(instance, BackupScheduler(instance))
    try:
        print(json.dumps(service.backup_now("shop", task_id, full=True, wait=True)))
    finally:
        service.scheduler.stop()
"""


def shop_with_a_task(data: Path, out: Path) -> dict[str, Any]:
    """A data dir with 3000 documents in `shop` and a nightly task backing up to `out`."""
    with rookdb.open(data) as instance:
        db = instance.create_database("shop")
        db.bulk_insert((f"users/{n}", {"n": n, "text": "y" * 300}) for n in range(3000))
        service = BackupTasks(instance, BackupScheduler(instance))
        try:
            return service.create(
                "shop",
                {
                    "full_backup_cron": "0 2 * * *",
                    "destinations": [{"kind": "local", "path": str(out)}],
                },
            )
        finally:
            service.scheduler.stop()


def test_a_run_in_another_process_is_neither_repeated_nor_interrupted(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    task = shop_with_a_task(data, out)
    paused, go = tmp_path / "paused", tmp_path / "go"
    server = subprocess.Popen(
        [sys.executable, "-c", PAUSED_RUN, str(data), task["id"], str(paused), str(go)],
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    try:
        deadline = time.monotonic() + 60
        while not paused.exists():
            assert server.poll() is None, "the paused run ended early"
            assert time.monotonic() < deadline, "the run never reached its pause"
            time.sleep(0.02)
        beside = subprocess.run(
            [
                ROOKDB,
                "--data-dir",
                str(data),
                "backup",
                "tasks",
                "now",
                "shop",
                task["id"],
                "--json",
            ],
            capture_output=True,
            text=True,
            env=ENV,
            timeout=120,
        )
        assert beside.returncode == 1, beside.stdout + beside.stderr
        assert "already going" in beside.stderr and "Traceback" not in beside.stderr

        # A server starting meanwhile recovers only runs whose lease ran out.
        with rookdb.open(data) as instance:
            scheduler = BackupScheduler(instance)
            scheduler.recover_interrupted()
            record = scheduler.statuses.get("shop", task["id"])
            scheduler.stop()
        assert record is not None and record.running is not None
        assert record.last_run is None
        go.write_text("go")
        out_text, _ = server.communicate(timeout=120)
    finally:
        server.kill()
        server.wait(10)
    paused_run = json.loads(out_text.strip().splitlines()[-1])
    assert paused_run["error"] is None, paused_run["error"]
    for folder in out.iterdir():
        assert verify_run_folder(folder).ok
