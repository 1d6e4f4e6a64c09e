"""Backup tasks over HTTP against a real uvicorn server: routes, errors, secrets, metrics."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from rookdb import Instance
from rookdb.app_state import AppState
from rookdb.server import create_app
from rookdb.tasks import BackupScheduler, BackupTasks

SECRET = "s3cr3t-value-never-shown"
BASE = "/databases/shop/tasks/backups"


@pytest.fixture
def shop(instance: Instance) -> Instance:
    db = instance.create_database("shop")
    db.bulk_insert((f"users/{i}", {"n": i}) for i in range(50))
    return instance


def local_task(tmp_path: Path, **fields: Any) -> dict[str, Any]:
    return {
        "full_backup_cron": "0 2 * * *",
        "incremental_backup_cron": "0 */6 * * *",
        "destinations": [{"kind": "local", "path": str(tmp_path / "backups")}],
        **fields,
    }


def wait_status(http: httpx.Client, task_id: str, done: Any, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = http.get(f"{BASE}/{task_id}/status").json()
        if done(status) or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_crud_round_trip(shop: Instance, http: httpx.Client, tmp_path: Path) -> None:
    created = http.post(BASE, json=local_task(tmp_path))
    assert created.status_code == 201
    task = created.json()
    assert task["id"].startswith("t-") and task["name"].startswith("Backup to Local (")
    assert http.get(f"{BASE}/{task['id']}").json() == task
    [listed] = http.get(BASE).json()["tasks"]
    assert listed["id"] == task["id"] and listed["status"]["state"] == "active"
    updated = http.put(f"{BASE}/{task['id']}", json={**task, "name": "Nightly"})
    assert updated.status_code == 200 and updated.json()["name"] == "Nightly"
    assert http.post(f"{BASE}/{task['id']}/disable").json()["state"] == "disabled"
    assert http.post(f"{BASE}/{task['id']}/enable").json()["state"] == "active"
    status = http.get(f"{BASE}/{task['id']}/status").json()
    assert set(status) >= {
        "task_id",
        "state",
        "node",
        "last_full_backup",
        "last_incremental_backup",
        "last_etag",
        "next_backup",
        "overdue",
        "running",
        "last_run",
        "destinations",
    }
    assert status["next_backup"]["kind"] == "full"
    assert http.delete(f"{BASE}/{task['id']}").status_code == 200
    assert http.get(f"{BASE}/{task['id']}").status_code == 404
    assert http.get(BASE).json()["tasks"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"full_backup_cron": "every night"}, "full_backup_cron"),
        ({"full_backup_cron": None, "incremental_backup_cron": None}, "full_backup_cron"),
        ({"destinations": []}, "destinations"),
        ({"color": "blue"}, "color"),
        ({"timezone": "Nowhere/Land"}, "timezone"),
    ],
)
def test_invalid_definitions_are_400_naming_the_field(
    shop: Instance, http: httpx.Client, tmp_path: Path, change: dict[str, Any], field: str
) -> None:
    response = http.post(BASE, json=local_task(tmp_path, **change))
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert http.get(BASE).json()["tasks"] == []


def test_duplicate_name_is_400(shop: Instance, http: httpx.Client, tmp_path: Path) -> None:
    assert http.post(BASE, json=local_task(tmp_path, name="Nightly")).status_code == 201
    response = http.post(BASE, json=local_task(tmp_path, name="Nightly"))
    assert response.status_code == 400 and response.json()["field"] == "name"


def test_unknown_database_and_task_are_404(shop: Instance, http: httpx.Client) -> None:
    assert http.get("/databases/nope/tasks/backups").status_code == 404
    assert http.get(f"{BASE}/t-0000/status").status_code == 404
    assert http.post(f"{BASE}/t-0000/backup-now").status_code == 404


def test_secrets_never_appear_in_any_response(
    shop: Instance, http: httpx.Client, tmp_path: Path
) -> None:
    body = local_task(tmp_path, encryption_key=SECRET)
    body["destinations"].append(
        {
            "kind": "s3",
            "bucket": "b",
            "endpoint_url": "http://127.0.0.1:9",
            "access_key_id": "AKIA",
            "secret_access_key": SECRET,
        }
    )
    created = http.post(BASE, json=body)
    task_id = created.json()["id"]
    responses = [
        created,
        http.get(BASE),
        http.get(f"{BASE}/{task_id}"),
        http.put(f"{BASE}/{task_id}", json={**created.json(), "name": "Renamed"}),
        http.get(f"{BASE}/{task_id}/status"),
        http.get(f"{BASE}/{task_id}/history"),
        http.get("/metrics"),
    ]
    for response in responses:
        assert response.status_code < 300, response.text
        assert SECRET not in response.text
    assert created.json()["destinations"][1]["secret_access_key"] == "********"
    # Stored sealed with the master key (never in clear), and still usable by the server.
    assert SECRET not in str(shop.system.list("backup-tasks")[0].value)
    stored = BackupTasks(shop).tasks.get("shop", task_id)
    assert stored.encryption_key == SECRET
    assert stored.destination_dicts()[1]["secret_access_key"] == SECRET


def test_backup_now_runs_once_even_when_called_concurrently(
    shop: Instance, http: httpx.Client, live_server: Any, tmp_path: Path
) -> None:
    task_id = http.post(BASE, json=local_task(tmp_path)).json()["id"]
    before = http.get(f"{BASE}/{task_id}/status").json()["next_backup"]
    barrier = threading.Barrier(4)
    answers: list[httpx.Response] = []

    def call() -> None:
        with httpx.Client(base_url=live_server.url, timeout=30) as client:
            barrier.wait()
            answers.append(client.post(f"{BASE}/{task_id}/backup-now", params={"full": "true"}))

    threads = [threading.Thread(target=call) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert [a.status_code for a in answers] == [202] * 4
    status = wait_status(http, task_id, lambda s: s["last_run"] and s["running"] is None)
    assert status["last_run"]["error"] is None and status["last_run"]["documents"] == 50
    assert status["last_full_backup"] is not None
    assert status["destinations"][0]["state"] == "done"
    # Backup Now leaves the schedule alone; with a chain, the 06:00 run is now an incremental.
    assert status["next_backup"] == {"at": before["at"], "kind": "incremental"}
    history = http.get(f"{BASE}/{task_id}/history").json()["runs"]
    assert len(history) == len({a.json()["started_at"] for a in answers}) == 1
    # An incremental right after, with no change: skipped and recorded.
    http.post(f"{BASE}/{task_id}/backup-now", params={"full": "false"})
    status = wait_status(http, task_id, lambda s: s["runs"] == 2)
    assert status["last_run"]["skipped"] is True


def test_serve_has_one_task_service_over_the_scheduler_it_runs(instance: Instance) -> None:
    # The API routes and the Studio pages both read AppState.backup_tasks: one run per
    # task at a time holds only because it is the scheduler `rookdb serve` starts.
    app = create_app(instance)
    [scheduler] = [s for s in app.state.services if isinstance(s, BackupScheduler)]
    assert AppState.of(app).backup_tasks.scheduler is scheduler


def test_metrics_report_each_task(shop: Instance, http: httpx.Client, tmp_path: Path) -> None:
    task_id = http.post(BASE, json=local_task(tmp_path, name="Nightly")).json()["id"]
    http.post(f"{BASE}/{task_id}/backup-now")
    wait_status(http, task_id, lambda s: s["last_full_backup"] is not None)
    response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    labels = f'database="shop",task="Nightly",task_id="{task_id}"'
    lines = response.text.splitlines()

    def value(metric: str) -> float:
        [line] = [ln for ln in lines if ln.startswith(metric + "{") and labels in ln]
        return float(line.rsplit(" ", 1)[1])

    assert value("rookdb_backup_last_success_timestamp_seconds") > time.time() - 120
    assert value("rookdb_backup_last_size_bytes") > 0
    assert value("rookdb_backup_runs_total") == 1
    assert value("rookdb_backup_failures_total") == 0
    assert value("rookdb_backup_overdue") == 0
