"""Fenced runs: a run that lost its claim on the task cannot overwrite what came after it.

A run pauses mid-write in its own process (as a node paused with SIGSTOP, or
cut off, past its lease). Meanwhile another node's run claims the task (its
marker replaces the first one, as a node taking over writes it) and records a
newer outcome. When the first run ends, its outcome is recorded in the
history as superseded, and the task's status stays the newer run's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import rookdb
from rookdb.backup.format import BackupReader
from rookdb.tasks import BackupScheduler, BackupTasks
from rookdb.tasks.lease import Lease
from rookdb.tasks.records import LastRun, RunMarker
from rookdb.tasks.status import STATUS_NAMESPACE, status_key
from test_task_runs_side_by_side import ENV, PAUSED_RUN, shop_with_a_task


def test_a_run_that_lost_its_claim_is_recorded_as_superseded(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "out"
    task = shop_with_a_task(data, out)
    paused, go = tmp_path / "paused", tmp_path / "go"
    late = subprocess.Popen(
        [sys.executable, "-c", PAUSED_RUN, str(data), task["id"], str(paused), str(go)],
        stdout=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    newer = LastRun(kind="full", started_at="2099-01-01T00:00:00Z", node="B", last_etag=3000)
    try:
        deadline = time.monotonic() + 60
        while not paused.exists():
            assert late.poll() is None, "the paused run ended early"
            assert time.monotonic() < deadline, "the run never reached its pause"
            time.sleep(0.02)
        # Node B takes the task over: its claim replaces the paused run's, and its run ends.
        with rookdb.open(data) as instance:
            statuses = BackupScheduler(instance).statuses

            def taken_over(record):  # type: ignore[no-untyped-def]
                claim = Lease(node="B", holder="node-B-process", until="2099-01-01T00:00:30Z")
                record.running = RunMarker("full", "2099-01-01T00:00:00Z", None, claim)

            statuses.update("shop", task["id"], taken_over)

            def newer_run_ended(record):  # type: ignore[no-untyped-def]
                record.running = None
                record.last_run = newer
                record.runs += 1

            statuses.update("shop", task["id"], newer_run_ended)
        go.write_text("go")
        out_text, _ = late.communicate(timeout=120)
    finally:
        late.kill()
        late.wait(10)
    late_run = json.loads(out_text.strip().splitlines()[-1])
    assert late_run["error"].startswith("superseded"), late_run
    with rookdb.open(data) as instance:
        service = BackupTasks(instance, BackupScheduler(instance))
        status = service.status("shop", task["id"])
        history = service.history("shop", task["id"])
        service.scheduler.stop()
    assert status["last_run"]["node"] == "B" and status["runs"] == 1
    assert status["last_full_backup"] is None, "the late run's success is not the task's"
    assert history[0]["error"].startswith("superseded")

    # The late run's file says which claim wrote it: one older than the task's newest.
    with BackupReader(out / late_run["file"]) as reader:
        claim = reader.header.claim
    assert claim is not None and claim.task_id == task["id"] and claim.node == "A"
    with rookdb.open(data) as instance:
        current = instance.system.get(STATUS_NAMESPACE, status_key("shop", task["id"]))
    assert current is not None and claim.revision < current.version
