"""What a status says, subject by subject (`rookdb.alerts.events.observe`, pure).

Statuses as a cluster node would render them, read from the status JSON.
"""

from __future__ import annotations

from typing import Any

from rookdb.alerts.events import Observation, observe
from rookdb.tasks.model import parse_task
from rookdb.tasks.status_view import TaskStatus

TASK: dict[str, Any] = {
    "name": "Nightly", "full_backup_cron": "0 2 * * *",
    "destinations": [{"kind": "local", "path": "/b"}],
}  # fmt: skip


def seen(status: dict[str, Any], **task: Any) -> dict[str, Observation]:
    body = {"task_id": "t-1", "state": "active", "node": "B", **status}
    definition = parse_task({**TASK, **task}).model_copy(update={"id": "t-1"})
    found = observe("shop", definition, TaskStatus.from_json(body))
    return {o.key.split("/", 2)[2]: o for o in found}


def test_a_task_that_failed_over_without_a_preferred_node_is_moved_until_it_ran_there() -> None:
    moved = {"responsible_node": "B", "responsible_reason": "previous node down"}
    ran_on_a = {"last_run": {"kind": "full", "started_at": "2026-11-22T02:00:00Z", "node": "A"}}
    found = seen({**moved, **ran_on_a})["task-moved"]
    assert found.health == "failing" and "moved to node B" in found.summary
    ran_on_b = {"last_run": {"kind": "full", "started_at": "2026-11-22T03:00:00Z", "node": "B"}}
    assert seen({**moved, **ran_on_b})["task-moved"].health == "healthy"
    balanced = {"responsible_node": "B", "responsible_reason": "balanced"}
    assert seen(balanced)["task-moved"].health == "healthy"


def test_a_task_off_its_preferred_node_is_moved_whatever_it_ran() -> None:
    status = {"responsible_node": "A", "responsible_reason": "preferred node down"}
    found = seen(status, preferred_node="B")["task-moved"]
    assert found.health == "failing" and "from node B to node A" in found.summary
    back = {"responsible_node": "B", "responsible_reason": "preferred node"}
    assert seen(back, preferred_node="B")["task-moved"].health == "healthy"


def test_another_nodes_task_is_not_judged_here() -> None:
    assert (
        observe("shop", parse_task(TASK), TaskStatus.from_json({"state": "not-on-this-node"})) == []
    )


def test_a_skipped_run_is_a_success_and_a_drill_with_no_verdict_says_nothing() -> None:
    status = {
        "last_run": {"kind": "incremental", "started_at": "x", "skipped": True},
        "destinations": [{"kind": "local", "name": "Local (/b)", "state": "skipped"}],
        "last_drill": {"at": "x", "trigger": "cron", "skipped": True},
    }
    found = seen(status)
    assert found["backup-failed"].health == "healthy"
    # About every destination of the task, the ones it no longer has included.
    every = found["destination-failing/*"]
    assert every.health == "healthy"
    assert every.covers("shop/t-1/destination-failing/Local (/gone)")
    assert not every.covers("shop/t-1/backup-failed")
    assert not every.covers("shop/t-2/destination-failing/Local (/b)")
    assert found["drill-failed"].health == "unknown"
