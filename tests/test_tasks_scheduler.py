"""The scheduler with a manual clock: runs, chain position, Backup Now, failures, restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import rookdb
from rookdb import Instance
from rookdb.backup import verify_run_folder
from rookdb.errors import TaskBusy
from rookdb.tasks import BackupScheduler, BackupTasks, ManualClock
from rookdb.tasks.lease import Lease
from rookdb.tasks.records import RunMarker


def make(instance: Instance, clock: ManualClock) -> BackupTasks:
    return BackupTasks(instance, BackupScheduler(instance, clock=clock))


def run_due(service: BackupTasks) -> list[dict[str, Any]]:
    return [h.wait(30) for h in service.scheduler.tick()]


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock("2026-11-22T10:00:00Z")


@pytest.fixture
def service(instance: Instance, clock: ManualClock) -> Iterator[BackupTasks]:
    db = instance.create_database("shop")
    db.put("users/1", {"name": "Ann"})
    svc = make(instance, clock)
    yield svc
    svc.scheduler.stop()


def create(service: BackupTasks, target: Path, **fields: Any) -> str:
    task = service.create(
        "shop", {"destinations": [{"kind": "local", "path": str(target)}], **fields}
    )
    return str(task["id"])


def test_incremental_only_task_runs_a_full_then_incrementals(
    service: BackupTasks, clock: ManualClock, instance: Instance, tmp_path: Path
) -> None:
    target = tmp_path / "out"
    task_id = create(service, target, incremental_backup_cron="0 */6 * * *")
    assert service.status("shop", task_id)["next_backup"] == {
        "at": "2026-11-22T12:00:00Z",
        "kind": "full",
    }
    assert run_due(service) == []
    clock.set("2026-11-22T12:00:00Z")
    [first] = run_due(service)
    assert first["kind"] == "full" and first["error"] is None
    status = service.status("shop", task_id)
    assert status["last_full_backup"] == "2026-11-22T12:00:00Z"
    assert status["next_backup"] == {"at": "2026-11-22T18:00:00Z", "kind": "incremental"}
    instance.database("shop").put("users/2", {"name": "Bob"})
    clock.set("2026-11-22T18:00:30Z")
    [second] = run_due(service)
    assert second["kind"] == "incremental" and second["error"] is None
    status = service.status("shop", task_id)
    assert status["last_incremental_backup"] == "2026-11-22T18:00:30Z"
    assert status["last_etag"] == instance.database("shop").last_etag
    [folder] = [p.name for p in target.iterdir()]
    assert files(target) == [
        f"{folder}/2026-11-22-12-00-00.rookdb-full-backup",
        f"{folder}/2026-11-22-18-00-30.rookdb-incremental-backup",
    ]
    chain = verify_run_folder(target / folder)
    assert chain.problems == () and chain.last_etag == status["last_etag"]
    # Nothing staged is left behind once uploaded.
    assert files(instance.data_dir / "backup-staging") == []


def test_incremental_without_change_is_skipped_and_recorded(
    service: BackupTasks, clock: ManualClock, tmp_path: Path
) -> None:
    target = tmp_path / "out"
    task_id = create(service, target, incremental_backup_cron="0 * * * *")
    clock.set("2026-11-22T11:00:00Z")
    run_due(service)
    clock.set("2026-11-22T12:00:00Z")
    [run] = run_due(service)
    assert run["skipped"] is True and run["error"] is None and run["kind"] == "incremental"
    status = service.status("shop", task_id)
    assert status["last_incremental_backup"] is None
    assert [d["state"] for d in status["destinations"]] == ["skipped"]
    assert len(files(target)) == 1
    assert [r["skipped"] for r in service.history("shop", task_id)] == [True, False]


def test_backup_now_leaves_the_schedule_alone(
    service: BackupTasks, clock: ManualClock, tmp_path: Path
) -> None:
    task_id = create(service, tmp_path / "out", full_backup_cron="0 2 * * *")
    before = service.status("shop", task_id)["next_backup"]
    run = service.backup_now("shop", task_id, full=True, wait=True)
    assert run["kind"] == "full" and run["manual"] is True and run["error"] is None
    status = service.status("shop", task_id)
    assert status["next_backup"] == before == {"at": "2026-11-23T02:00:00Z", "kind": "full"}
    assert status["last_full_backup"] == "2026-11-22T10:00:00Z"
    clock.set("2026-11-23T02:00:00Z")
    [scheduled] = run_due(service)  # the scheduled run still happens
    assert scheduled["manual"] is False


def test_backup_now_incremental_without_chain_is_a_full(
    service: BackupTasks, tmp_path: Path
) -> None:
    task_id = create(service, tmp_path / "out", full_backup_cron="0 2 * * *")
    assert service.backup_now("shop", task_id, full=False, wait=True)["kind"] == "full"
    assert service.backup_now("shop", task_id, full=False, wait=True)["skipped"] is True


def test_concurrent_backup_now_calls_run_one_backup(
    service: BackupTasks, instance: Instance, tmp_path: Path
) -> None:
    db = instance.database("shop")
    db.bulk_insert((f"items/{i}", {"n": i, "pad": "x" * 200}) for i in range(20000))
    task_id = create(service, tmp_path / "out", full_backup_cron="0 2 * * *")
    barrier = threading.Barrier(6)
    handles: list[Any] = []

    def call() -> None:
        barrier.wait()
        handles.append(service.scheduler.backup_now("shop", task_id, full=True))

    threads = [threading.Thread(target=call) for _ in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len({id(h) for h in handles}) == 1
    handles[0].wait(60)
    assert len(service.history("shop", task_id)) == 1
    assert len(list((tmp_path / "out").rglob("*.rookdb-full-backup"))) == 1


def test_a_failing_destination_shows_in_status_and_the_next_run_recovers(
    service: BackupTasks, clock: ManualClock, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the backups folder should be")
    good = tmp_path / "good"
    task = service.create(
        "shop",
        {
            "full_backup_cron": "0 * * * *",
            "destinations": [
                {"kind": "local", "path": str(good)},
                {"kind": "local", "path": str(blocker)},
            ],
        },
    )
    clock.set("2026-11-22T11:00:00Z")
    [run] = run_due(service)
    assert run["error"] and "1 of 2 destinations failed" in run["error"]
    status = service.status("shop", task["id"])
    # The full that reached `good` is taken back: the task stays without a chain,
    # so no destination may hold one.
    assert [d["state"] for d in status["destinations"]] == ["failed", "failed"]
    assert "removed again" in status["destinations"][0]["error"]
    assert status["destinations"][1]["error"]
    assert status["last_full_backup"] is None
    assert not good.exists() or list(good.iterdir()) == []
    # Not retried in a hot loop: nothing is due until the next fire time.
    clock.set("2026-11-22T11:30:00Z")
    assert run_due(service) == []
    blocker.unlink()
    clock.set("2026-11-22T12:00:00Z")
    [again] = run_due(service)
    assert again["error"] is None
    status = service.status("shop", task["id"])
    assert [d["state"] for d in status["destinations"]] == ["done", "done"]
    assert status["last_full_backup"] == "2026-11-22T12:00:00Z"


def test_restart_keeps_status_and_runs_the_missed_backup_once(
    tmp_path: Path, clock: ManualClock
) -> None:
    data = tmp_path / "data"
    first = rookdb.open(data)
    first.create_database("shop").put("users/1", {"name": "Ann"})
    svc = make(first, clock)
    task_id = create(svc, tmp_path / "out", full_backup_cron="0 2 * * *")
    clock.set("2026-11-23T02:00:00Z")
    run_due(svc)
    svc.scheduler.stop()
    first.close()
    # Down for three nights; back at 09:00.
    clock.set("2026-11-26T09:00:00Z")
    second = rookdb.open(data)
    try:
        svc = make(second, clock)
        status = svc.status("shop", task_id)
        assert status["last_full_backup"] == "2026-11-23T02:00:00Z"
        assert status["overdue"] is True
        runs = run_due(svc)
        assert [r["kind"] for r in runs] == ["full"]
        assert run_due(svc) == []
        status = svc.status("shop", task_id)
        assert status["overdue"] is False
        assert status["next_backup"] == {"at": "2026-11-27T02:00:00Z", "kind": "full"}
        svc.scheduler.stop()
    finally:
        second.close()


def test_a_run_interrupted_by_a_stop_is_reported_at_start(
    tmp_path: Path, clock: ManualClock, instance: Instance
) -> None:
    instance.create_database("shop")
    svc = make(instance, clock)
    task_id = create(svc, tmp_path / "out", full_backup_cron="0 2 * * *")
    # As a process killed mid-run before leases left it: no lease.
    marker = RunMarker("full", "2026-11-22T09:00:00Z")
    svc.statuses.update("shop", task_id, lambda r: setattr(r, "running", marker))
    svc.scheduler.recover_interrupted()
    status = svc.status("shop", task_id)
    assert status["running"] is None
    assert "interrupted" in status["last_run"]["error"]
    svc.scheduler.stop()


def test_only_a_run_whose_lease_ran_out_counts_as_interrupted(
    tmp_path: Path, clock: ManualClock, instance: Instance
) -> None:
    instance.create_database("shop")
    svc = make(instance, clock)
    task_id = create(svc, tmp_path / "out", full_backup_cron="0 2 * * *")
    held = Lease(node="A", holder="another-process", until="2999-01-01T00:00:00Z")
    live = RunMarker("full", "2026-11-22T09:00:00Z", lease=held)
    svc.statuses.update("shop", task_id, lambda r: setattr(r, "running", live))
    svc.scheduler.recover_interrupted()
    assert svc.status("shop", task_id)["running"] is not None
    with pytest.raises(TaskBusy, match="already going on node A"):
        svc.backup_now("shop", task_id)
    expired = live.with_lease(replace(held, until="2020-01-01T00:00:00Z"))
    svc.statuses.update("shop", task_id, lambda r: setattr(r, "running", expired))
    svc.scheduler.tick()  # every tick looks for leases that ran out
    status = svc.status("shop", task_id)
    assert status["running"] is None and "interrupted" in status["last_run"]["error"]
    svc.scheduler.stop()


def test_disabled_task_does_not_run(
    service: BackupTasks, clock: ManualClock, tmp_path: Path
) -> None:
    task_id = create(service, tmp_path / "out", full_backup_cron="0 * * * *", disabled=True)
    clock.set("2026-11-22T15:00:00Z")
    assert run_due(service) == []
    assert service.status("shop", task_id)["state"] == "disabled"
    service.enable("shop", task_id)
    assert run_due(service) == []  # hours missed while disabled are not owed
    clock.set("2026-11-22T16:00:00Z")
    assert len(run_due(service)) == 1


def test_preferred_node_elsewhere_is_not_on_this_node(
    instance: Instance, clock: ManualClock, tmp_path: Path
) -> None:
    instance.create_database("shop")
    scheduler = BackupScheduler(instance, clock=clock, live_nodes={"A", "B"})
    svc = BackupTasks(instance, scheduler)
    task_id = create(svc, tmp_path / "out", full_backup_cron="0 * * * *", preferred_node="B")
    clock.set("2026-11-22T15:00:00Z")
    assert scheduler.tick() == []
    status = svc.status("shop", task_id)
    assert status["state"] == "not-on-this-node" and status["node"] == "B"
    scheduler.stop()


def test_background_thread_runs_a_due_task(
    service: BackupTasks, clock: ManualClock, tmp_path: Path
) -> None:
    task_id = create(service, tmp_path / "out", full_backup_cron="0 * * * *")
    clock.set("2026-11-22T11:00:00Z")
    service.scheduler.start()
    for _ in range(200):
        if service.status("shop", task_id)["last_full_backup"]:
            break
        threading.Event().wait(0.02)
    assert service.status("shop", task_id)["last_full_backup"] == "2026-11-22T11:00:00Z"


def test_runs_in_the_same_second_never_overwrite_each_other(
    service: BackupTasks, instance: Instance, tmp_path: Path
) -> None:
    target = tmp_path / "out"
    task_id = create(service, target, full_backup_cron="0 2 * * *")
    db = instance.database("shop")
    # The manual clock stands still: every run below happens "in the same second".
    for step in range(2):
        assert service.backup_now("shop", task_id, full=True, wait=True)["error"] is None
        for n in range(2):
            db.put(f"users/{step}-{n}", {"n": n})
            run = service.backup_now("shop", task_id, full=False, wait=True)
            assert run["error"] is None and run["kind"] == "incremental"
    folders = sorted(p for p in target.iterdir())
    assert len(folders) == 2
    for folder in folders:
        chain = verify_run_folder(folder)
        assert chain.problems == () and len(chain.files) == 3
    current = target / service.status("shop", task_id)["run_folder"]
    assert current.name.startswith("2026-11-22-10-00-00-01.")
    assert verify_run_folder(current).last_etag == db.last_etag


def test_progress_shows_in_status_while_running(
    service: BackupTasks, instance: Instance, tmp_path: Path
) -> None:
    instance.database("shop").bulk_insert(
        (f"items/{i}", {"n": i, "pad": "x" * 100}) for i in range(30000)
    )
    task_id = create(service, tmp_path / "out", full_backup_cron="0 2 * * *")
    handle = service.scheduler.backup_now("shop", task_id, full=True)
    seen = []
    while not handle.done():
        running = service.status("shop", task_id)["running"]
        if running and running["progress"]:
            seen.append(running)
        time.sleep(0.005)
    assert handle.wait(60)["error"] is None
    assert seen and seen[0]["kind"] == "full" and seen[0]["started_at"]
    assert 0 < seen[0]["progress"]["done"] <= seen[0]["progress"]["total"]
    assert service.status("shop", task_id)["running"] is None


def test_a_database_with_an_unreadable_task_does_not_stop_the_others(
    service: BackupTasks, clock: ManualClock, instance: Instance, tmp_path: Path
) -> None:
    task_id = create(service, tmp_path / "out", full_backup_cron="0 12 * * *")
    instance.create_database("attic")
    # A definition no version of rookdb could have written (say, edited by hand).
    instance.system.put("backup-tasks", "attic/t-bad0", {"destinations": "nowhere"})
    clock.set("2026-11-22T12:00:00Z")
    [run] = run_due(service)
    assert run["kind"] == "full" and run["error"] is None
    assert service.status("shop", task_id)["last_full_backup"] == "2026-11-22T12:00:00Z"
