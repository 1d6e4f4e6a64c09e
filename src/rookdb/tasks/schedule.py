"""When a task runs: pure functions of (task, schedule state, now).

Each cron has an *anchor*: the time up to which its fire times have been
consumed. A fire time after the anchor and not after `now` is due. Claiming a
run moves the anchor to the decision time, whatever the outcome, so a failing
run waits for the next fire time instead of retrying in a hot loop, a fire
time missed while the server was down runs once, and a fire time that passes
during a run is still ahead of the anchor when the run ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rookdb.tasks.model import BackupKind, BackupTask, cron_next, cron_prev

# How long after a fire time a backup may take to succeed before the task counts as overdue.
OVERDUE_GRACE = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class ScheduleState:
    """What the schedule needs to know about the past of a task."""

    full_anchor: datetime
    incremental_anchor: datetime
    has_chain: bool  # a full backup succeeded and the chain position is known
    since: datetime  # when the schedule started (created, enabled, changed)
    last_success: datetime | None = None  # latest successful (or skipped-unchanged) run


@dataclass(frozen=True, slots=True)
class NextBackup:
    """The next estimated backup: when and which kind."""

    at: datetime
    kind: BackupKind


def next_drill(task: BackupTask, anchor: datetime) -> datetime | None:
    """The next fire time of the task's drill cron after `anchor`, or None without one."""
    if task.drill is None or task.drill.cron is None:
        return None
    return cron_next(task.drill.cron, task.zone, anchor)


def next_fires(task: BackupTask, state: ScheduleState) -> dict[BackupKind, datetime]:
    """The next fire time of each configured cron after its anchor (none if it never fires)."""
    crons: list[tuple[BackupKind, str | None, datetime]] = [
        ("full", task.full_backup_cron, state.full_anchor),
        ("incremental", task.incremental_backup_cron, state.incremental_anchor),
    ]
    fires: dict[BackupKind, datetime] = {}
    for kind, cron, anchor in crons:
        at = cron_next(cron, task.zone, anchor) if cron else None
        if at is not None:
            fires[kind] = at
    return fires


def due(task: BackupTask, state: ScheduleState, now: datetime) -> BackupKind | None:
    """The kind of backup due at `now`, or None; a full wins when both are due."""
    fires = {kind: at for kind, at in next_fires(task, state).items() if at <= now}
    if not fires:
        return None
    if "full" in fires or not state.has_chain:
        return "full"
    return "incremental"


def next_backup(task: BackupTask, state: ScheduleState) -> NextBackup | None:
    """The next estimated backup (possibly already due), or None without a schedule."""
    fires = next_fires(task, state)
    if not fires:
        return None
    at = min(fires.values())
    kind: BackupKind = "incremental"
    if fires.get("full") == at or not state.has_chain:
        kind = "full"
    return NextBackup(at, kind)


def claim(task: BackupTask, state: ScheduleState, now: datetime) -> ScheduleState:
    """The state after deciding to run what is due at `now`: every due fire time is consumed."""
    fires = next_fires(task, state)
    full_anchor, incremental_anchor = state.full_anchor, state.incremental_anchor
    if "full" in fires and fires["full"] <= now:
        full_anchor = now
    # A full run covers an incremental due at the same time: one run, not two.
    if "incremental" in fires and fires["incremental"] <= now:
        incremental_anchor = now
    return ScheduleState(
        full_anchor, incremental_anchor, state.has_chain, state.since, state.last_success
    )


def overdue(
    task: BackupTask, state: ScheduleState, now: datetime, grace: timedelta = OVERDUE_GRACE
) -> bool:
    """True when a fire time older than `grace` has passed without a successful backup since."""
    deadline = now - grace
    expected: datetime | None = None
    for cron in (task.full_backup_cron, task.incremental_backup_cron):
        fired = cron_prev(cron, task.zone, deadline) if cron else None
        if fired is not None:
            expected = fired if expected is None else max(expected, fired)
    if expected is None or expected <= state.since:
        return False
    return state.last_success is None or state.last_success < expected
