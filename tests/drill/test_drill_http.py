"""Drills over HTTP against a real uvicorn server: Drill Now, status fields, /metrics."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

from rookdb import Instance

from .chains import fill

BASE = "/databases/shop/tasks/backups"


def wait_status(http: httpx.Client, task_id: str, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        status: dict[str, Any] = http.get(f"{BASE}/{task_id}/status").json()
        if done(status):
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def metric(text: str, name: str, task_id: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and f'task_id="{task_id}"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} for {task_id} not in /metrics")


def test_drill_now_status_and_metrics(
    instance: Instance, http: httpx.Client, tmp_path: Path
) -> None:
    fill(instance.create_database("shop"))
    bad = http.post(
        BASE,
        json={
            "full_backup_cron": "0 2 * * *",
            "destinations": [{"kind": "local", "path": str(tmp_path / "out")}],
            "drill": {"cron": "61 * * * *"},
        },
    )
    assert bad.status_code == 400 and bad.json()["field"] == "drill.cron"
    created = http.post(
        BASE,
        json={
            "full_backup_cron": "0 2 * * *",
            "destinations": [{"kind": "local", "path": str(tmp_path / "out")}],
            "drill": {"after_full": True, "cron": "0 4 * * 0"},
        },
    )
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    before = http.get("/metrics").text
    assert metric(before, "rookdb_backup_drill_last_success_timestamp_seconds", task_id) == 0

    assert http.post(f"{BASE}/{task_id}/backup-now").status_code == 202
    # Ended, not only recorded: a Drill Now sent while it still runs joins it (trigger after_full).
    status = wait_status(
        http, task_id, lambda s: (s["last_drill"] or {}).get("passed") and s["drilling"] is None
    )
    verified = status["last_verified_restorable"]
    assert verified["file"].endswith(".rookdb-full-backup")
    assert status["restore_time_seconds"] > 0 and status["last_drill_error"] is None

    now = http.post(f"{BASE}/{task_id}/drill-now", params={"wait": "true"})
    assert now.status_code == 200
    assert now.json()["passed"] is True and now.json()["trigger"] == "manual"
    queued = http.post(f"{BASE}/{task_id}/drill-now")
    assert queued.status_code == 202 and queued.json()["trigger"] == "manual"
    wait_status(http, task_id, lambda s: s["drilling"] is None)

    text = http.get("/metrics").text
    assert metric(text, "rookdb_backup_drill_last_success_timestamp_seconds", task_id) > 0
    assert metric(text, "rookdb_backup_drill_restore_seconds", task_id) > 0
    assert metric(text, "rookdb_backup_drill_runs_total", task_id) == 3
    assert metric(text, "rookdb_backup_drill_failures_total", task_id) == 0
    assert http.post(f"{BASE}/t-none/drill-now").status_code == 404
