"""What a task's status says about each thing that can go wrong with it.

`observe` reads one task's `TaskStatus` and returns one `Observation` per
alert subject: failing, healthy, or unknown. Unknown is not healthy: a run
that failed for another reason says nothing about whether a destination that
failed before works again, so an incident is only closed by evidence that
the thing recovered. Pure: no store, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rookdb.tasks.model import BackupTask
from rookdb.tasks.records import DestinationOutcome
from rookdb.tasks.status_view import TaskStatus

AlertKind = Literal["backup-failed", "destination-failing", "overdue", "drill-failed", "task-moved"]
ALERT_KINDS: tuple[AlertKind, ...] = (
    "backup-failed",
    "destination-failing",
    "overdue",
    "drill-failed",
    "task-moved",
)
Health = Literal["failing", "healthy", "unknown"]

# The runner marks destinations that had the file but gave it back because another
# destination failed with these prefixes: they worked, they are not the culprit.
_TAKEN_BACK = ("removed again:", "could not remove again:")
# The subject of an observation about every destination of a task (a successful run).
EVERY_DESTINATION = "*"
# The reasons the cluster's observer gives when a task without a preferred node moves.
_FAILED_OVER = ("previous node down", "previous node left the group")


@dataclass(frozen=True, slots=True)
class Observation:
    """One alert subject of one task, as the latest status shows it.

    `occurrence` tells repeats apart (the failed run's start, the failed drill's
    time): a new value while an incident is open counts one more repeat.
    """

    database: str
    task_id: str
    task_name: str
    kind: AlertKind
    health: Health
    subject: str | None = None  # the destination's name for destination-failing
    occurrence: str | None = None
    summary: str = ""
    reason: str | None = None

    @property
    def key(self) -> str:
        """Where this subject's incident is kept: one incident per key at a time."""
        return f"{self.kind_key}/{self.subject}" if self.subject else self.kind_key

    @property
    def kind_key(self) -> str:
        """The key all of this task's incidents of this kind start with."""
        return f"{self.database.lower()}/{self.task_id}/{self.kind}"

    def covers(self, key: str) -> bool:
        """Whether this observation speaks about the incident stored under `key`."""
        if self.subject == EVERY_DESTINATION:
            return key.startswith(self.kind_key + "/")
        return key == self.key


def observe(database: str, task: BackupTask, status: TaskStatus) -> list[Observation]:
    """Every alert subject of a task; none for a task this node does not run."""
    if status.state == "not-on-this-node":
        # The responsible node observes it; two nodes judging the same task from
        # different vantage points would open and close incidents in turn.
        return []
    seen = _Seen(database, task)
    if status.state == "disabled":
        # Turned off on purpose: nothing is due, nothing moves. A failure recorded before
        # stays as it is (unknown): neither recovered nor worth a reminder.
        return [seen("overdue", "healthy"), seen("task-moved", "healthy")]
    found = [*_backup(seen, status), _overdue(seen, status), _drill(seen, status)]
    found.append(_moved(seen, task, status))
    return found


@dataclass(frozen=True, slots=True)
class _Seen:
    database: str
    task: BackupTask

    def __call__(
        self,
        kind: AlertKind,
        health: Health,
        *,
        subject: str | None = None,
        occurrence: str | None = None,
        summary: str = "",
        reason: str | None = None,
    ) -> Observation:
        return Observation(
            self.database,
            self.task.id,
            self.task.name,
            kind,
            health,
            subject=subject,
            occurrence=occurrence,
            summary=summary,
            reason=reason,
        )


def _culprits(destinations: tuple[DestinationOutcome, ...]) -> list[DestinationOutcome]:
    return [
        d
        for d in destinations
        if d.state == "failed" and not (d.error or "").startswith(_TAKEN_BACK)
    ]


def _backup(seen: _Seen, status: TaskStatus) -> list[Observation]:
    run = status.last_run
    if run is None:
        return [seen("backup-failed", "unknown")]
    if run.error is None:
        # A successful (or skipped, unchanged) run: every destination the task has works,
        # and one taken out of the task since it failed is no longer a worry either.
        every = seen("destination-failing", "healthy", subject=EVERY_DESTINATION)
        return [seen("backup-failed", "healthy"), every]
    culprits = _culprits(status.destinations)
    others_worked = len(culprits) < len(status.destinations) and bool(culprits)
    title = f"Backup of {seen.task.name} ({seen.database}) failed"
    if not others_worked:
        return [
            seen(
                "backup-failed",
                "failing",
                occurrence=run.started_at,
                summary=title,
                reason=run.error,
            )
        ]
    # Only some destinations failed: say which, one incident per destination. The
    # task-level incident stays as it is (unknown): opening it too would alert twice.
    found = [seen("backup-failed", "unknown")]
    for outcome in status.destinations:
        name = outcome.name or outcome.kind or "destination"
        if outcome in culprits:
            found.append(
                seen(
                    "destination-failing",
                    "failing",
                    subject=name,
                    occurrence=run.started_at,
                    summary=f"Destination {name} of {seen.task.name} ({seen.database}) is "
                    "failing while the others work",
                    reason=outcome.error,
                )
            )
        else:
            found.append(seen("destination-failing", "healthy", subject=name))
    return found


def _overdue(seen: _Seen, status: TaskStatus) -> Observation:
    if not status.overdue:
        return seen("overdue", "healthy")
    last = status.last_incremental_backup or status.last_full_backup
    since = f"the last successful backup was at {last}" if last else "it never succeeded"
    return seen(
        "overdue",
        "failing",
        summary=f"Backup task {seen.task.name} ({seen.database}) is overdue: "
        "its recovery-point objective is broken",
        reason=f"a scheduled backup did not succeed in time; {since}",
    )


def _drill(seen: _Seen, status: TaskStatus) -> Observation:
    drill = status.last_drill
    if drill is None or drill.passed is None:
        return seen("drill-failed", "unknown")
    if drill.passed:
        return seen("drill-failed", "healthy")
    return seen(
        "drill-failed",
        "failing",
        occurrence=drill.at,
        summary=f"Restore drill of {seen.task.name} ({seen.database}) failed: "
        "the newest backup chain could not be restored",
        reason=drill.error or status.last_drill_error,
    )


def _moved(seen: _Seen, task: BackupTask, status: TaskStatus) -> Observation:
    preferred, node = task.preferred_node, status.responsible_node
    if not node:
        return seen("task-moved", "healthy")
    why = f" ({status.responsible_reason})" if status.responsible_reason else ""
    if preferred and node != preferred:
        return seen(
            "task-moved",
            "failing",
            occurrence=node,
            summary=f"Backup task {task.name} ({seen.database}) moved from node {preferred} "
            f"to node {node}",
            reason=f"its preferred node {preferred} does not run it now{why}",
        )
    if preferred or status.responsible_reason not in _FAILED_OVER:
        return seen("task-moved", "healthy")
    # No preferred node to go back to: the move is over once the new node has backed up.
    run = status.last_run
    if run is not None and run.node == node and run.error is None:
        return seen("task-moved", "healthy")
    return seen(
        "task-moved",
        "failing",
        occurrence=node,
        summary=f"Backup task {task.name} ({seen.database}) moved to node {node}",
        reason=f"the node that ran it is gone{why}; recovered once node {node} has backed it up",
    )
