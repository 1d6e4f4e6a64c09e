"""Alerts from real task runs: a destination that refuses, overdue by the clock, a failed drill.

Tasks run for real (local destinations, one of them a path that cannot be a
folder); the clock is a `ManualClock`, so overdue and reminders come at exact
times. Notifications go to a real webhook receiver on loopback that checks
the signature.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alerts_receivers import WebhookReceiver
from rookdb import Instance
from rookdb.alerts import Alerts
from rookdb.alerts.service import statuses_of
from rookdb.tasks import BackupScheduler, BackupTasks, ManualClock

SECRET = "s3cr3t-signing-key"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock("2026-11-22T10:00:00Z")


@pytest.fixture
def tasks(instance: Instance, clock: ManualClock) -> Iterator[BackupTasks]:
    instance.create_database("shop").put("users/1", {"name": "Ann"})
    service = BackupTasks(instance, BackupScheduler(instance, clock=clock))
    yield service
    service.scheduler.stop()


@pytest.fixture
def alerts(instance: Instance, tasks: BackupTasks, clock: ManualClock) -> Alerts:
    return Alerts(instance.system, instance.secrets, clock=clock, statuses=statuses_of(tasks))


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(secret=SECRET).start()
    yield server
    server.stop()


def refusing(tmp_path: Path) -> Path:
    """A destination path that cannot be made: its parent is a file (even root cannot)."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the backup folder's parent should be")
    return blocker / "backups"


def local(path: Path) -> dict[str, Any]:
    return {"kind": "local", "path": str(path)}


def test_a_failing_backup_opens_one_incident_counts_repeats_and_recovers(
    tasks: BackupTasks,
    alerts: Alerts,
    clock: ManualClock,
    receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:
    alerts.add_channel({"kind": "webhook", "name": "ops", "url": receiver.url, "secret": SECRET})
    target = refusing(tmp_path)
    task = tasks.create("shop", {"name": "Nightly", "destinations": [local(target)],
                                 "full_backup_cron": "0 2 * * *"})  # fmt: skip
    assert tasks.backup_now("shop", task["id"], wait=True)["error"]
    [opened] = alerts.evaluate()
    assert opened.phase == "opened" and opened.incident.kind == "backup-failed"
    assert "not a writable folder" in (opened.incident.reason or "")

    for _ in range(3):
        clock.advance(minutes=1)
        assert tasks.backup_now("shop", task["id"], wait=True)["error"]
        assert alerts.evaluate() == []  # repeats are counted, not announced
    [incident] = alerts.open_incidents()
    assert incident.occurrences == 4 and incident.repeats == 3

    delivered = alerts.deliver_due()
    assert [d.outcome for d in delivered] == ["delivered"]
    [post] = receiver.received
    assert post.signature_ok is True
    body = post.json()
    assert body["event"] == "incident.opened"
    assert body["incident"]["task_name"] == "Nightly"
    assert post.headers["X-Rookdb-Event"] == "incident.opened"

    (tmp_path / "not-a-folder").unlink()  # the destination works again
    clock.advance(minutes=1)
    assert tasks.backup_now("shop", task["id"], wait=True)["error"] is None
    [recovered] = alerts.evaluate()
    assert recovered.phase == "recovered"
    assert alerts.open_incidents() == []
    alerts.deliver_due()
    assert [r.json()["event"] for r in receiver.received] == [
        "incident.opened",
        "incident.recovered",
    ]
    [closed] = alerts.incidents(include_closed=True)
    assert closed.state == "recovered" and closed.occurrences == 4


def test_one_destination_failing_while_the_other_works_names_that_destination(
    tasks: BackupTasks, alerts: Alerts, tmp_path: Path
) -> None:
    good, bad = tmp_path / "good", refusing(tmp_path)
    task = tasks.create(
        "shop", {"destinations": [local(good), local(bad)], "full_backup_cron": "0 2 * * *"}
    )
    assert tasks.backup_now("shop", task["id"], wait=True)["error"]
    [note] = alerts.evaluate()
    assert note.incident.kind == "destination-failing"
    assert note.incident.subject is not None and "backups" in note.incident.subject
    assert "good" not in note.incident.subject
    # The task-level "backup failed" is not announced on top of it.
    assert [i.kind for i in alerts.open_incidents()] == ["destination-failing"]


def test_overdue_by_the_clock_opens_and_a_successful_run_recovers(
    tasks: BackupTasks, alerts: Alerts, clock: ManualClock, tmp_path: Path
) -> None:
    task = tasks.create(
        "shop", {"destinations": [local(tmp_path / "out")], "full_backup_cron": "0 * * * *"}
    )
    assert alerts.evaluate() == []
    # The 11:00 backup never happens (nobody ticks the scheduler): past the grace, overdue.
    clock.set("2026-11-22T12:30:00Z")
    assert tasks.status("shop", task["id"])["overdue"] is True
    [note] = alerts.evaluate()
    assert note.phase == "opened" and note.incident.kind == "overdue"
    assert alerts.evaluate() == []
    [run] = [h.wait(30) for h in tasks.scheduler.tick()]
    assert run["error"] is None
    [note] = alerts.evaluate()
    assert note.phase == "recovered" and note.incident.kind == "overdue"


def test_reminders_follow_the_configured_interval(
    tasks: BackupTasks, alerts: Alerts, clock: ManualClock, tmp_path: Path
) -> None:
    alerts.update_settings({"reminder_minutes": 30})
    task = tasks.create("shop", {"destinations": [local(refusing(tmp_path))],
                                 "full_backup_cron": "0 2 * * *"})  # fmt: skip
    phases = []
    for _ in range(60):  # a run failing every minute for an hour
        tasks.backup_now("shop", task["id"], wait=True)
        phases += [n.phase for n in alerts.evaluate()]
        clock.advance(minutes=1)
    assert phases == ["opened", "reminder"]
    [incident] = alerts.open_incidents()
    assert incident.occurrences == 60 and incident.reminders == 1


def test_a_failed_restore_drill_opens_an_incident(
    tasks: BackupTasks, alerts: Alerts, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    task = tasks.create("shop", {"destinations": [local(out)], "full_backup_cron": "0 2 * * *"})
    run = tasks.backup_now("shop", task["id"], wait=True)
    backup = out / run["file"]
    data = bytearray(backup.read_bytes())
    data[len(data) // 2] ^= 0xFF
    backup.write_bytes(bytes(data))
    assert tasks.drill_now("shop", task["id"], wait=True)["passed"] is False
    kinds = [n.incident.kind for n in alerts.evaluate()]
    assert "drill-failed" in kinds
    [drill] = [i for i in alerts.open_incidents() if i.kind == "drill-failed"]
    assert drill.reason


def test_a_dismissed_incident_leaves_the_open_list_and_a_deleted_task_closes_it(
    tasks: BackupTasks, alerts: Alerts, tmp_path: Path
) -> None:
    task = tasks.create("shop", {"destinations": [local(refusing(tmp_path))],
                                 "full_backup_cron": "0 2 * * *"})  # fmt: skip
    tasks.backup_now("shop", task["id"], wait=True)
    alerts.evaluate()
    [incident] = alerts.open_incidents()
    assert alerts.dismiss(incident.id).state == "dismissed"
    assert alerts.open_incidents() == []
    assert [i.state for i in alerts.incidents()] == ["dismissed"]
    tasks.delete("shop", task["id"])
    assert alerts.evaluate() == []
    assert alerts.incidents() == []
    [closed] = alerts.incidents(include_closed=True)
    assert closed.reason == "the task was deleted"


def test_a_task_moved_off_its_preferred_node_opens_and_moving_back_recovers(
    instance: Instance, clock: ManualClock, tmp_path: Path
) -> None:
    """Two nodes' views of one system store, as in a cluster: B is down, then back."""
    instance.create_database("shop")

    def node(tag: str, up: set[str]) -> tuple[BackupTasks, Alerts]:
        scheduler = BackupScheduler(instance, clock=clock, node_tag=tag, live_nodes=up)
        tasks = BackupTasks(instance, scheduler)
        return tasks, Alerts(instance.system, instance.secrets, clock=clock, node=tag,
                             statuses=statuses_of(tasks))  # fmt: skip

    a_tasks, a_alerts = node("A", {"A"})
    a_tasks.create("shop", {"name": "Pinned", "preferred_node": "B",
                            "destinations": [local(tmp_path / "out")],
                            "full_backup_cron": "0 2 * * *"})  # fmt: skip
    [moved] = a_alerts.evaluate()
    assert moved.phase == "opened" and moved.incident.kind == "task-moved"
    assert "from node B to node A" in moved.incident.summary
    assert "preferred node down" in (moved.incident.reason or "")

    # B is back: A no longer runs the task (and says nothing about it); B closes it.
    _, a_alerts = node("A", {"A", "B"})
    assert a_alerts.evaluate() == []
    _, b_alerts = node("B", {"A", "B"})
    [back] = b_alerts.evaluate()
    assert back.phase == "recovered" and back.incident.kind == "task-moved"


def test_a_disabled_task_sends_no_reminders(
    tasks: BackupTasks, alerts: Alerts, clock: ManualClock, tmp_path: Path
) -> None:
    alerts.update_settings({"reminder_minutes": 10})
    task = tasks.create("shop", {"destinations": [local(refusing(tmp_path))],
                                 "full_backup_cron": "0 * * * *"})  # fmt: skip
    tasks.backup_now("shop", task["id"], wait=True)
    assert [n.phase for n in alerts.evaluate()] == ["opened"]
    tasks.disable("shop", task["id"])
    clock.advance(hours=5)
    assert alerts.evaluate() == []  # no reminder, no overdue while it is off
    [incident] = alerts.open_incidents()
    assert incident.kind == "backup-failed"
    tasks.enable("shop", task["id"])
    clock.advance(minutes=1)
    [reminder] = alerts.evaluate()
    assert reminder.phase == "reminder"


def test_a_destination_incident_outlives_a_total_failure_and_closes_with_success(
    tasks: BackupTasks, alerts: Alerts, tmp_path: Path
) -> None:
    good, bad = tmp_path / "good", refusing(tmp_path)
    task = tasks.create(
        "shop", {"destinations": [local(good), local(bad)], "full_backup_cron": "0 2 * * *"}
    )
    tasks.backup_now("shop", task["id"], wait=True)
    assert [n.incident.kind for n in alerts.evaluate()] == ["destination-failing"]
    # Now the good one fails too: the whole backup failed; the bad destination did
    # not recover, so its incident stays open.
    shutil.rmtree(good)
    good.write_text("blocked as well")
    tasks.backup_now("shop", task["id"], wait=True)
    assert [(n.phase, n.incident.kind) for n in alerts.evaluate()] == [("opened", "backup-failed")]
    assert sorted(i.kind for i in alerts.open_incidents()) == [
        "backup-failed",
        "destination-failing",
    ]
    good.unlink()
    (tmp_path / "not-a-folder").unlink()
    assert tasks.backup_now("shop", task["id"], wait=True)["error"] is None
    recovered = sorted((n.phase, n.incident.kind) for n in alerts.evaluate())
    assert recovered == [("recovered", "backup-failed"), ("recovered", "destination-failing")]
    assert alerts.open_incidents() == []


def test_a_failing_destination_taken_out_of_the_task_closes_with_the_next_success(
    tasks: BackupTasks, alerts: Alerts, tmp_path: Path
) -> None:
    good, bad = local(tmp_path / "good"), local(refusing(tmp_path))
    task = tasks.create("shop", {"destinations": [good, bad], "full_backup_cron": "0 2 * * *"})
    tasks.backup_now("shop", task["id"], wait=True)
    assert [n.incident.kind for n in alerts.evaluate()] == ["destination-failing"]
    tasks.update("shop", task["id"], {**tasks.get("shop", task["id"]), "destinations": [good]})
    assert tasks.backup_now("shop", task["id"], wait=True)["error"] is None
    [note] = alerts.evaluate()
    assert (note.phase, note.incident.kind) == ("recovered", "destination-failing")
    assert alerts.open_incidents() == []


def test_two_nodes_sending_the_same_queue_deliver_each_notification_once(
    instance: Instance, tasks: BackupTasks, clock: ManualClock, receiver: WebhookReceiver,
    tmp_path: Path,
) -> None:  # fmt: skip
    nodes = [
        Alerts(instance.system, instance.secrets, clock=clock, node=tag,
               statuses=statuses_of(tasks))
        for tag in ("A", "B")
    ]  # fmt: skip
    nodes[0].add_channel({"kind": "webhook", "name": "ops", "url": receiver.url, "secret": SECRET})
    task = tasks.create("shop", {"destinations": [local(refusing(tmp_path))],
                                 "full_backup_cron": "0 2 * * *"})  # fmt: skip
    tasks.backup_now("shop", task["id"], wait=True)
    # Both evaluate the same status: the incident opens once, one delivery is queued.
    said = [n for node in nodes for n in node.evaluate()]
    assert [n.phase for n in said] == ["opened"]
    barrier = threading.Barrier(2)

    def deliver(node: Alerts) -> None:
        barrier.wait()
        node.deliver_due()

    threads = [threading.Thread(target=deliver, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(receiver.received) == 1
    assert [d.outcome for d in nodes[1].deliveries()] == ["delivered"]
