"""End to end: a real `rookdb serve` process, the real (shifted) clock, Backup Now, a scheduled
run, a restart that keeps the status. Under ~20 s: the server's clock is shifted to sit just
before a cron minute instead of waiting up to a minute of real time."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

import rookdb_process
from rookdb.backup import verify_run_folder
from rookdb.tasks.clock import CLOCK_OFFSET_ENV

BASE = "/databases/shop/tasks/backups"
LEAD_SECONDS = 6.0  # how far before a minute boundary the server's clock starts


def serve(data: Path, offset: float) -> tuple[subprocess.Popen[str], str]:
    served = rookdb_process.serve(
        ["--open", "--data-dir", str(data), "--port", "0"], env={CLOCK_OFFSET_ENV: str(offset)}
    )
    return served.process, served.url


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        assert proc.wait(timeout=30) == 0
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def offset_before_next_minute() -> float:
    """A clock offset that puts "now" LEAD_SECONDS before the next minute boundary."""
    now = datetime.now(UTC).timestamp()
    to_boundary = 60 - now % 60
    return to_boundary - LEAD_SECONDS + (60 if to_boundary < LEAD_SECONDS else 0)


def wait_for(
    http: httpx.Client, task_id: str, done: Callable[[dict[str, Any]], bool], timeout: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = http.get(f"{BASE}/{task_id}/status").json()
        if done(status):
            return status
        if time.monotonic() > deadline:
            pytest.fail(f"timed out; last status {status}")
        time.sleep(0.1)


def test_serve_runs_backup_now_then_a_scheduled_incremental_and_keeps_status(
    tmp_path: Path,
) -> None:
    data, out = tmp_path / "data", tmp_path / "backups"
    proc, url = serve(data, offset_before_next_minute())
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            assert http.post("/databases", json={"name": "shop"}).status_code == 201
            http.put("/databases/shop/docs/users/1", json={"name": "Ann"})
            task = http.post(
                BASE,
                json={
                    "incremental_backup_cron": "* * * * *",
                    "destinations": [{"kind": "local", "path": str(out)}],
                },
            ).json()
            started = http.post(f"{BASE}/{task['id']}/backup-now", params={"full": "true"})
            assert started.status_code == 202
            wait_for(http, task["id"], lambda s: s["last_full_backup"] is not None, 15)
            http.put("/databases/shop/docs/users/2", json={"name": "Bob"})
            # The scheduler wakes by itself at the minute: no Backup Now, no tick from here.
            status = wait_for(
                http, task["id"], lambda s: s["last_incremental_backup"] is not None, 20
            )
            assert status["last_run"]["kind"] == "incremental"
            assert status["last_run"]["error"] is None and status["last_run"]["documents"] == 1
            assert status["last_etag"] == http.get("/databases/shop").json()["last_etag"]
            assert status["overdue"] is False
    finally:
        stop(proc)
    [folder] = list(out.iterdir())
    chain = verify_run_folder(folder)
    assert chain.problems == () and len(chain.files) == 2
    # Restart: the status (and the chain position) survived.
    proc, url = serve(data, 0)
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            again = http.get(f"{BASE}/{task['id']}/status").json()
            assert again["last_full_backup"] == status["last_full_backup"]
            assert again["last_incremental_backup"] == status["last_incremental_backup"]
            assert again["run_folder"] == folder.name
            assert len(http.get(f"{BASE}/{task['id']}/history").json()["runs"]) >= 2
    finally:
        stop(proc)
