"""A task's status is one typed record, and one JSON: the same over HTTP, `--json` from a
server or a data dir, and read back into `TaskStatus` without a field lost."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from rookdb import Instance
from rookdb.cli.main import app
from rookdb.tasks.model import parse_task
from rookdb.tasks.records import LastRun
from rookdb.tasks.status_view import TaskOverview, TaskStatus, render
from system.contract import busy_record

BASE = "/databases/shop/tasks/backups"
# The status JSON of DESIGN.md and the fields added since; none may go.
STATUS_KEYS = {
    "task_id",
    "state",
    "node",
    "last_full_backup",
    "last_incremental_backup",
    "last_etag",
    "next_backup",
    "overdue",
    "schedule_error",
    "running",
    "last_run",
    "destinations",
    "run_folder",
    "runs",
    "failures",
    "last_verified_restorable",
    "restore_time_seconds",
    "last_drill_error",
    "last_drill",
    "drilling",
    "responsible_node",
    "responsible_reason",
    "last_executing_node",
}
LAST_RUN_KEYS = {
    "kind",
    "type",
    "started_at",
    "duration_ms",
    "size_bytes",
    "documents",
    "error",
    "skipped",
    "manual",
    "node",
    "file",
    "last_etag",
}


def cli(env: dict[str, str], *args: str) -> Any:
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def wait_status(http: httpx.Client, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        status: dict[str, Any] = http.get(f"{BASE}/{task_id}/status").json()
        if status["last_drill"] is not None and status["drilling"] is None:
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def test_http_cli_and_typed_status_agree(
    instance: Instance, live_server: Any, http: httpx.Client, tmp_path: Path
) -> None:
    shop = instance.create_database("shop")
    shop.bulk_insert((f"users/{i}", {"n": i}) for i in range(20))
    task = http.post(
        BASE,
        json={
            "full_backup_cron": "0 2 * * *",
            "incremental_backup_cron": "0 */6 * * *",
            "destinations": [{"kind": "local", "path": str(tmp_path / "out")}],
            "retention": {"keep_full_chains": 2},
            "drill": {"after_full": True},
        },
    ).json()
    assert http.post(f"{BASE}/{task['id']}/backup-now").status_code == 202
    status = wait_status(http, task["id"])

    assert set(status) == STATUS_KEYS
    run = status["last_run"]
    assert set(run) == LAST_RUN_KEYS | {"retention"}  # a full: retention ran
    assert run["error"] is None and run["documents"] == 20 and run["kind"] == "full"
    assert status["last_drill"]["passed"] is True
    assert status["last_verified_restorable"]["run_folder"] == status["run_folder"]
    # The typed view reads every field and gives the same JSON back.
    typed = TaskStatus.from_json(status)
    assert typed.to_json() == status
    assert typed.last_run is not None and typed.last_run.retention is not None
    assert typed.last_drill is not None and typed.last_drill.passed is True

    from_server = {"ROOKDB_URL": live_server.url, "ROOKDB_DATA_DIR": ""}
    from_data_dir = {"ROOKDB_DATA_DIR": str(instance.data_dir), "ROOKDB_URL": ""}
    for env in (from_server, from_data_dir):
        shown = cli(env, "backup", "tasks", "show", "shop", task["id"], "--json")
        assert shown["status"] == status
        [listed] = cli(env, "backup", "tasks", "list", "shop", "--json")
        assert listed == {**http.get(f"{BASE}/{task['id']}").json(), "status": status}
        assert TaskOverview.from_json(listed).to_json() == listed
    history = http.get(f"{BASE}/{task['id']}/history").json()["runs"]
    assert history == [run]


def test_every_typed_part_survives_the_json_of_the_status() -> None:
    record = busy_record()
    task = parse_task(
        {"full_backup_cron": "0 2 * * *", "destinations": [{"kind": "local", "path": "/b"}]}
    )
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    status = render(task, record, node="A", responsible="A", now=now)
    body = status.to_json()
    assert set(body) == STATUS_KEYS
    # Who holds a run is internal: the status shows kind, start and progress only.
    assert body["running"] == {
        "kind": "incremental",
        "started_at": "2026-11-30T12:00:00Z",
        "progress": {"done": 5, "total": 10, "percent": 50.0},
    }
    assert body["drilling"]["node"] == "B" and body["drilling"]["trigger"] == "manual"
    assert body["last_run"]["cleaned_up"] == ["run/x.in-progress"]
    assert body["last_run"]["retention"][1] == {
        "destination": None,
        "deleted_folders": [],
        "error": "E",
    }
    assert TaskStatus.from_json(body).to_json() == body
    assert TaskStatus.from_json(body).last_run == record.last_run


def test_a_run_without_retention_or_cleanup_keeps_todays_keys() -> None:
    run = LastRun("incremental", "2026-11-30T12:00:00Z", type="backup", skipped=True)
    assert set(run.to_json()) == LAST_RUN_KEYS
    assert LastRun.from_json(run.to_json()) == run
