"""A cron that can never fire (31 February) is refused everywhere, and one already stored
breaks nothing: every reader shows the task with no next backup and a note saying why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from rookdb import Instance
from rookdb.errors import InvalidInput
from rookdb.server import ServerThread
from rookdb.studio.cron_reading import preview
from rookdb.tasks import BackupTasks, ManualClock
from rookdb.tasks.status import status_key
from rookdb.tasks.store import TASKS_NAMESPACE
from rookdb_process import cli

NEVER = "0 0 31 2 *"
BASE = "/databases/shop/tasks/backups"


def local_task(tmp_path: Path, **fields: Any) -> dict[str, Any]:
    return {
        "full_backup_cron": "0 2 * * *",
        "destinations": [{"kind": "local", "path": str(tmp_path / "backups")}],
        **fields,
    }


@pytest.fixture
def service(instance: Instance) -> BackupTasks:
    instance.create_database("shop")
    return BackupTasks(instance, clock=ManualClock("2026-11-22T10:00:00Z"))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"full_backup_cron": NEVER}, "full_backup_cron"),
        ({"full_backup_cron": "0 0 30 2 *"}, "full_backup_cron"),
        ({"incremental_backup_cron": "0 0 31 4,6,9,11 *"}, "incremental_backup_cron"),
        ({"drill": {"cron": NEVER}}, "drill.cron"),
    ],
)
def test_a_cron_that_never_fires_is_refused_naming_the_field(
    service: BackupTasks, tmp_path: Path, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput, match="never fires") as refused:
        service.create("shop", local_task(tmp_path, **fields))
    assert refused.value.field == field
    assert service.list("shop") == []


@pytest.mark.parametrize("cron", ["0 0 29 2 *", "0 0 31 2 1", "0 0 31 * *"])
def test_rare_crons_that_do_fire_are_accepted(
    service: BackupTasks, tmp_path: Path, cron: str
) -> None:
    task = service.create("shop", local_task(tmp_path, full_backup_cron=cron))
    assert service.status("shop", task["id"])["next_backup"] is not None


def test_http_and_cli_refuse_a_cron_that_never_fires(
    service: BackupTasks, instance: Instance, tmp_path: Path
) -> None:
    with ServerThread(instance, services=[]) as server, httpx.Client(base_url=server.url) as http:
        created = http.post(BASE, json=local_task(tmp_path, full_backup_cron=NEVER))
        assert created.status_code == 400
        assert created.json()["field"] == "full_backup_cron"
        assert "never fires" in created.json()["message"]
        task = http.post(BASE, json=local_task(tmp_path)).json()
        changed = http.put(f"{BASE}/{task['id']}", json={**task, "drill": {"cron": NEVER}})
        assert changed.status_code == 400 and changed.json()["field"] == "drill.cron"
        preview_answer = http.get("/studio/cron-preview", params={"expr": NEVER})
        assert preview_answer.status_code == 200
        assert preview_answer.json()["valid"] is False
        assert "never fires" in preview_answer.json()["error"]
    service.scheduler.stop()
    instance.close()

    data = str(instance.data_dir)
    done = cli("--data-dir", data, "backup", "tasks", "create", "shop", "--full-cron", NEVER,
               "--to-local", str(tmp_path / "b"))  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: full_backup_cron") and "never fires" in done.stderr


def test_preview_says_the_cron_never_fires() -> None:
    from datetime import UTC, datetime

    shown = preview(NEVER, "Europe/Paris", datetime(2026, 11, 22, tzinfo=UTC)).to_json()
    assert shown["valid"] is False and shown["next"] == []
    assert "never fires" in str(shown["error"])


def store_cron_directly(instance: Instance, task_id: str, **crons: Any) -> None:
    """Rewrite a stored task as an older version could have saved it (no validation)."""
    key = status_key("shop", task_id)
    entry = instance.system.get(TASKS_NAMESPACE, key)
    assert entry is not None
    instance.system.put(TASKS_NAMESPACE, key, {**entry.value, **crons})


def test_a_stored_task_whose_cron_never_fires_breaks_no_reader(
    instance: Instance, tmp_path: Path
) -> None:
    instance.create_database("shop")
    clock = ManualClock("2026-11-22T10:00:00Z")
    service = BackupTasks(instance, clock=clock)
    broken = service.create("shop", local_task(tmp_path, name="Broken"))
    half = service.create(
        "shop",
        local_task(tmp_path, name="Half", incremental_backup_cron="0 */6 * * *"),
    )
    healthy = service.create("shop", local_task(tmp_path, name="Healthy"))
    store_cron_directly(instance, broken["id"], full_backup_cron=NEVER, drill={"cron": NEVER})
    store_cron_directly(instance, half["id"], full_backup_cron=NEVER)

    # The core: status and list answer; the broken task has no next backup and says why.
    status = service.status("shop", broken["id"])
    assert status["next_backup"] is None and status["overdue"] is False
    assert "never fires" in status["schedule_error"]
    assert "full_backup_cron" in status["schedule_error"]
    assert "drill.cron" in status["schedule_error"]
    half_status = service.status("shop", half["id"])
    assert half_status["next_backup"]["kind"] == "full"  # the first run is a full one
    assert "full_backup_cron" in half_status["schedule_error"]
    assert service.status("shop", healthy["id"])["schedule_error"] is None
    assert len(service.list("shop")) == 3

    # The scheduler goes on: the healthy task still runs when due.
    clock.set("2026-11-23T02:00:00Z")
    started = service.scheduler.tick()
    assert {h.task_id for h in started} == {healthy["id"], half["id"]}
    for handle in started:
        handle.wait(60)
    assert service.scheduler.seconds_until_next() > 0
    service.scheduler.stop()

    with ServerThread(instance, services=[]) as server, httpx.Client(base_url=server.url) as http:
        listed = http.get(BASE)
        assert listed.status_code == 200, listed.text
        by_id = {t["id"]: t for t in listed.json()["tasks"]}
        assert by_id[broken["id"]]["status"]["next_backup"] is None
        assert "never fires" in by_id[broken["id"]]["status"]["schedule_error"]
        status_answer = http.get(f"{BASE}/{broken['id']}/status")
        assert status_answer.status_code == 200 and status_answer.json()["next_backup"] is None
        assert http.get(f"{BASE}/{broken['id']}").status_code == 200
        metrics = http.get("/metrics")
        assert metrics.status_code == 200
        assert f'task_id="{broken["id"]}"' in metrics.text
        page = http.get("/studio/databases/shop/tasks")
        assert page.status_code == 200
        assert "Broken" in page.text and "Healthy" in page.text
        assert "never fires" in page.text
        assert (
            http.get(f"/studio/databases/shop/tasks/{broken['id']}/status.json").status_code == 200
        )
        edit = http.get(f"/studio/databases/shop/tasks/{broken['id']}/edit")
        assert edit.status_code == 200 and "never fires" in edit.text
    instance.close()

    data = str(instance.data_dir)
    for args in (("list", "shop"), ("show", "shop", broken["id"])):
        done = cli("--data-dir", data, "backup", "tasks", *args)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
    shown = cli("--data-dir", data, "backup", "tasks", "show", "shop", broken["id"])
    assert "schedule:" in shown.stdout and "never fires" in shown.stdout
    listed_json = cli("--data-dir", data, "backup", "tasks", "list", "shop", "--json")
    assert listed_json.returncode == 0, listed_json.stderr
    assert len(json.loads(listed_json.stdout)) == 3
