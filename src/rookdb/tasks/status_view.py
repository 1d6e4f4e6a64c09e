"""`TaskStatus`: a task's status as the user sees it, typed; `to_json` is the JSON of DESIGN.md.

`render` builds it from the stored record and the task (state, next backup,
overdue are worked out here, at read time). The HTTP API sends `to_json()`;
the Studio reads its attributes; the CLI reads them too, from the service
over a data dir or from the server's JSON through `from_json` (so a `--json`
print is the same JSON either way).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from rookdb.tasks.clock import format_time, parse_time
from rookdb.tasks.model import BackupTask
from rookdb.tasks.records import (
    DestinationOutcome,
    DrillMarker,
    DrillOutcome,
    LastRun,
    RunMarker,
    VerifiedPoint,
    backup_kind,
    destination_outcomes,
    integer,
    number,
    obj,
    one_of,
    text,
)
from rookdb.tasks.schedule import NextBackup, next_backup, overdue
from rookdb.tasks.status import StatusRecord

TaskState = Literal["active", "disabled", "not-on-this-node"]
_STATES: tuple[TaskState, ...] = ("active", "disabled", "not-on-this-node")


@dataclass(frozen=True, slots=True)
class TaskStatus:
    """A task's status (times of runs as display strings, `2026-11-22T02:00:03Z`)."""

    task_id: str
    state: TaskState
    node: str
    last_full_backup: str | None
    last_incremental_backup: str | None
    last_etag: int | None
    next_backup: NextBackup | None
    overdue: bool
    schedule_error: str | None
    running: RunMarker | None  # without its lease
    last_run: LastRun | None
    destinations: tuple[DestinationOutcome, ...]
    run_folder: str | None
    runs: int
    failures: int
    last_verified_restorable: VerifiedPoint | None
    restore_time_seconds: float | None
    last_drill_error: str | None
    last_drill: DrillOutcome | None
    drilling: DrillMarker | None
    # Who runs it and why ("preferred node", "balanced", "previous node down" ...), and
    # which node ran it last.
    responsible_node: str | None = None
    responsible_reason: str | None = None
    last_executing_node: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The status JSON of DESIGN.md (`GET …/tasks/backups/{id}/status`)."""
        return {
            "task_id": self.task_id,
            "state": self.state,
            "node": self.node,
            "last_full_backup": self.last_full_backup,
            "last_incremental_backup": self.last_incremental_backup,
            "last_etag": self.last_etag,
            "next_backup": _next_json(self.next_backup),
            "overdue": self.overdue,
            "schedule_error": self.schedule_error,
            "running": self.running.public_json() if self.running else None,
            "last_run": self.last_run.to_json() if self.last_run else None,
            "destinations": [d.to_json() for d in self.destinations],
            "run_folder": self.run_folder,
            "runs": self.runs,
            "failures": self.failures,
            "last_verified_restorable": (
                self.last_verified_restorable.to_json() if self.last_verified_restorable else None
            ),
            "restore_time_seconds": self.restore_time_seconds,
            "last_drill_error": self.last_drill_error,
            "last_drill": self.last_drill.to_json() if self.last_drill else None,
            "drilling": self.drilling.to_json() if self.drilling else None,
            "responsible_node": self.responsible_node,
            "responsible_reason": self.responsible_reason,
            "last_executing_node": self.last_executing_node,
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> TaskStatus:
        """The status a server sent (`to_json` of this version gives it back unchanged)."""
        state = one_of(body.get("state"), _STATES) or "active"
        return cls(
            task_id=text(body, "task_id") or "",
            state=state,
            node=text(body, "node") or "",
            last_full_backup=text(body, "last_full_backup"),
            last_incremental_backup=text(body, "last_incremental_backup"),
            last_etag=integer(body, "last_etag"),
            next_backup=_next_from_json(body.get("next_backup")),
            overdue=body.get("overdue") is True,
            schedule_error=text(body, "schedule_error"),
            running=RunMarker.from_json(body.get("running")),
            last_run=LastRun.from_json(body.get("last_run")),
            destinations=destination_outcomes(body.get("destinations")),
            run_folder=text(body, "run_folder"),
            runs=integer(body, "runs") or 0,
            failures=integer(body, "failures") or 0,
            last_verified_restorable=VerifiedPoint.from_json(body.get("last_verified_restorable")),
            restore_time_seconds=number(body, "restore_time_seconds"),
            last_drill_error=text(body, "last_drill_error"),
            last_drill=DrillOutcome.from_json(body.get("last_drill")),
            drilling=DrillMarker.from_json(body.get("drilling")),
            responsible_node=text(body, "responsible_node"),
            responsible_reason=text(body, "responsible_reason"),
            last_executing_node=text(body, "last_executing_node"),
        )


@dataclass(frozen=True, slots=True)
class TaskOverview:
    """One row of a database's task list: the definition (secrets masked) and its status."""

    task: dict[str, Any]
    status: TaskStatus

    @property
    def id(self) -> str:
        return str(self.task.get("id"))

    def to_json(self) -> dict[str, Any]:
        """The task list entry: the definition's JSON with `status` added."""
        return {**self.task, "status": self.status.to_json()}

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> TaskOverview:
        task = {k: v for k, v in body.items() if k != "status"}
        return cls(task, TaskStatus.from_json(obj(body.get("status")) or {}))


def task_state(task: BackupTask, node: str, responsible: str) -> TaskState:
    """'active', 'disabled' or 'not-on-this-node'."""
    if task.disabled:
        return "disabled"
    return "active" if responsible == node else "not-on-this-node"


def render(
    task: BackupTask,
    record: StatusRecord,
    *,
    node: str,
    responsible: str,
    now: datetime,
    reason: str | None = None,
) -> TaskStatus:
    """The task's status from its stored record, as of `now`."""
    state = task_state(task, node, responsible)
    schedule = record.schedule_state()
    upcoming = next_backup(task, schedule) if state == "active" else None
    verified = record.last_verified_restorable
    return TaskStatus(
        task_id=record.task_id,
        state=state,
        node=responsible,
        last_full_backup=_display(record.last_full_backup),
        last_incremental_backup=_display(record.last_incremental_backup),
        last_etag=record.last_etag,
        next_backup=upcoming,
        overdue=state == "active" and overdue(task, schedule, now),
        schedule_error=task.schedule_error(),
        running=record.running.with_lease(None) if record.running else None,
        last_run=record.last_run,
        destinations=record.destinations,
        run_folder=record.run_folder,
        runs=record.runs,
        failures=record.failures,
        last_verified_restorable=(
            VerifiedPoint(_display(verified.at), verified.run_folder, verified.file)
            if verified
            else None
        ),
        restore_time_seconds=record.restore_time_seconds,
        last_drill_error=record.last_drill_error,
        last_drill=record.last_drill,
        drilling=record.drilling,
        responsible_node=responsible,
        responsible_reason=reason,
        last_executing_node=record.last_run.node if record.last_run else None,
    )


def _next_json(upcoming: NextBackup | None) -> dict[str, Any] | None:
    return {"at": format_time(upcoming.at), "kind": upcoming.kind} if upcoming else None


def _next_from_json(value: object) -> NextBackup | None:
    body = obj(value)
    at = text(body, "at") if body is not None else None
    if body is None or at is None:
        return None
    try:
        return NextBackup(parse_time(at), backup_kind(body))
    except ValueError:
        return None


def _display(value: str | None) -> str | None:
    return format_time(parse_time(value)) if value else None
