"""Drills of backup tasks: after a full backup, on their cron, Drill Now; status and overdue."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rookdb import Instance
from rookdb.errors import InvalidInput
from rookdb.tasks import BackupScheduler, BackupTasks, ManualClock

from .chains import fill, flip_byte


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock("2026-11-22T10:00:00Z")


@pytest.fixture
def service(instance: Instance, clock: ManualClock) -> Iterator[BackupTasks]:
    fill(instance.create_database("shop"))
    svc = BackupTasks(instance, BackupScheduler(instance, clock=clock))
    yield svc
    svc.scheduler.stop()


def create(service: BackupTasks, target: Path, **fields: Any) -> str:
    task = service.create(
        "shop", {"destinations": [{"kind": "local", "path": str(target)}], **fields}
    )
    return str(task["id"])


def settled(service: BackupTasks, task_id: str, drills: int) -> dict[str, Any]:
    """The status once `drills` drills have been recorded and none is queued."""
    deadline = time.monotonic() + 60
    while True:
        status = service.status("shop", task_id)
        record = service.statuses.get("shop", task_id)
        assert record is not None
        if record.drills >= drills and status["drilling"] is None:
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.02)


@pytest.mark.parametrize(
    ("drill", "field"),
    [
        ({"cron": "every sunday"}, "drill.cron"),
        ({"destination": 1}, "drill.destination"),
        ({"destination": -1}, "drill.destination"),
        ({"after": True}, "drill.after"),
    ],
)
def test_bad_drill_definitions_name_the_field(
    service: BackupTasks, tmp_path: Path, drill: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        create(service, tmp_path / "out", full_backup_cron="0 2 * * *", drill=drill)
    assert caught.value.field == field
    assert service.list("shop") == []


def test_drill_after_full_backup_proves_the_chain(service: BackupTasks, tmp_path: Path) -> None:
    task_id = create(service, tmp_path / "out", full_backup_cron="0 2 * * *", drill={})
    assert service.get("shop", task_id)["drill"] == {
        "after_full": True,
        "cron": None,
        "destination": 0,
    }
    run = service.backup_now("shop", task_id, full=True, wait=True)
    status = settled(service, task_id, drills=1)

    drill = status["last_drill"]
    assert drill["passed"] is True and drill["trigger"] == "after_full"
    assert drill["run_folder"] + "/" + drill["file"] == run["file"]
    assert drill["documents"] == 125 and drill["cpu_seconds"] > 0 and drill["bytes_read"] > 0
    assert status["last_verified_restorable"] == {
        "at": "2026-11-22T10:00:00Z",
        "run_folder": drill["run_folder"],
        "file": drill["file"],
    }
    assert status["restore_time_seconds"] == drill["restore_seconds"] > 0
    assert status["last_drill_error"] is None
    scratch = service.instance.data_dir / ".drill-scratch"
    assert not scratch.exists() or list(scratch.iterdir()) == []


def test_incremental_backup_does_not_drill(service: BackupTasks, tmp_path: Path) -> None:
    task_id = create(service, tmp_path / "out", full_backup_cron="0 2 * * *", drill={})
    service.backup_now("shop", task_id, full=True, wait=True)
    settled(service, task_id, drills=1)
    service.instance.database("shop").put("users/more", {"age": 5})
    service.backup_now("shop", task_id, full=False, wait=True)
    # A drill is queued before the run's outcome is handed back: none may be.
    record = service.statuses.get("shop", task_id)
    assert record is not None and record.drills == 1 and record.drilling is None


def test_failed_drill_names_the_file_and_makes_the_task_overdue(
    service: BackupTasks, clock: ManualClock, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    task_id = create(service, out, incremental_backup_cron="0 */6 * * *", drill={})
    clock.set("2026-11-22T12:05:00Z")
    [run] = [h.wait(30) for h in service.scheduler.tick()]
    assert run["kind"] == "full"
    settled(service, task_id, drills=1)
    service.instance.database("shop").put("users/more", {"age": 5})
    clock.set("2026-11-22T18:00:00Z")
    [inc] = [h.wait(30) for h in service.scheduler.tick()]
    assert inc["kind"] == "incremental"
    clock.set("2026-11-22T18:30:00Z")
    assert service.status("shop", task_id)["overdue"] is False

    flip_byte(out / inc["file"])
    drill = service.drill_now("shop", task_id, wait=True)
    assert drill["passed"] is False and drill["trigger"] == "manual"
    assert drill["file_failed"] == inc["file"].split("/")[1]
    status = service.status("shop", task_id)
    assert status["last_drill_error"] and drill["file_failed"] in status["last_drill_error"]
    # The chain did not restore: it counts as no backup, and a new chain comes next.
    assert status["overdue"] is True
    assert status["next_backup"]["kind"] == "full"
    assert status["last_verified_restorable"]["file"] == run["file"].split("/")[1]

    again = service.backup_now("shop", task_id, full=False, wait=True)
    assert again["kind"] == "full" and again["error"] is None
    status = settled(service, task_id, drills=3)
    assert status["last_drill"]["passed"] is True
    assert status["overdue"] is False and status["last_drill_error"] is None
    assert status["last_verified_restorable"]["run_folder"] == again["file"].split("/")[0]


def test_drill_cron_runs_when_due(service: BackupTasks, clock: ManualClock, tmp_path: Path) -> None:
    task_id = create(
        service,
        tmp_path / "out",
        full_backup_cron="0 2 * * *",
        drill={"after_full": False, "cron": "0 4 * * *"},
    )
    service.backup_now("shop", task_id, full=True, wait=True)
    clock.set("2026-11-23T03:59:00Z")
    assert service.scheduler.drills.tick(clock.now()) == []
    assert service.scheduler.seconds_until_next() <= 60.01
    clock.set("2026-11-23T04:00:00Z")
    [handle] = service.scheduler.drills.tick(clock.now())
    entry = handle.wait(60)
    assert entry["passed"] is True and entry["trigger"] == "cron"
    assert service.scheduler.drills.tick(clock.now()) == []  # consumed, not run twice
    status = settled(service, task_id, drills=1)
    assert status["last_verified_restorable"]["at"] == "2026-11-23T04:00:00Z"


def test_drill_without_a_backup_is_skipped(service: BackupTasks, tmp_path: Path) -> None:
    task_id = create(service, tmp_path / "out", full_backup_cron="0 2 * * *")
    entry = service.drill_now("shop", task_id, wait=True)
    assert entry["skipped"] is True and entry["error"] == "no backup to drill yet"
    status = service.status("shop", task_id)
    assert status["last_drill_error"] is None and status["overdue"] is False
