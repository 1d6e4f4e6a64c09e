"""Evaluation: task statuses in, incident changes and queued deliveries out.

Reads statuses only (it never writes a task's status, never waits on a run),
so a slow store or a broken channel can delay an alert but never a backup.
Any node may evaluate: each incident change is a compare-and-set committed
with the deliveries it causes, so a change is announced once.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from rookdb.alerts.channels import Channel
from rookdb.alerts.events import EVERY_DESTINATION, Observation, observe
from rookdb.alerts.incidents import Incident, Notification, Step, step
from rookdb.alerts.outbox import Delivery, Outbox
from rookdb.alerts.store import AlertStore, new_id
from rookdb.system.store import Write
from rookdb.tasks.clock import format_time
from rookdb.tasks.model import BackupTask
from rookdb.tasks.status_view import TaskStatus

StatusSource = Callable[[], Iterable[tuple[str, BackupTask, TaskStatus]]]


@dataclass(frozen=True)
class Monitor:
    """Turns what the statuses say into incidents and deliveries."""

    store: AlertStore
    outbox: Outbox

    def evaluate(self, statuses: StatusSource, now: datetime) -> list[Notification]:
        """Look at every task once; the notifications this look caused."""
        settings = self.store.settings()
        channels = [c for c in self.store.channels() if c.enabled]
        # Incidents open when this look began (one read): an observation about every
        # destination of a task closes those among them it covers.
        existing = [i.key for i in self.store.incidents()]
        said: list[Notification] = []
        tasks: set[tuple[str, str]] = set()
        for database, task, status in statuses():
            tasks.add((database.lower(), task.id))
            for seen in observe(database, task, status):
                change = functools.partial(_step, seen=seen, now=now, every=settings.reminder_every)
                keys = [seen.key] if seen.subject != EVERY_DESTINATION else []
                keys += [key for key in existing if key not in keys and seen.covers(key)]
                for key in keys:
                    result = self.store.apply(
                        key, change, lambda note: self.deliveries(note, channels, now)
                    )
                    if result.notify is not None:
                        said.append(result.notify)
        self._forget_deleted_tasks(tasks, now)
        return said

    def deliveries(
        self, note: Notification, channels: Sequence[Channel], now: datetime
    ) -> list[Write]:
        """The queue writes that send `note` to every channel taking its task."""
        incident = note.incident
        at = format_time(now) or ""
        return [
            self.outbox.enqueue(
                Delivery(
                    id=delivery_id(at),
                    channel_id=channel.id,
                    notification=note,
                    created_at=at,
                    next_at=at,
                )
            )
            for channel in channels
            if channel.selects(incident.database, incident.task_id)
        ]

    def _forget_deleted_tasks(self, tasks: set[tuple[str, str]], now: datetime) -> None:
        # A deleted task cannot recover: its incidents close quietly into the history.
        at = format_time(now)
        for incident in self.store.incidents():
            if (incident.database.lower(), incident.task_id) in tasks:
                continue
            closed = replace(
                incident, state="recovered", closed_at=at, reason="the task was deleted"
            )

            def close(current: Incident | None, closed: Incident = closed) -> Step:
                return Step(None, closed=closed) if current is not None else Step(None)

            self.store.apply(incident.key, close, lambda note: [])


def delivery_id(at: str) -> str:
    """A new delivery's id; ids sort in the order deliveries were made (the queue's order)."""
    # The clock's time first (tests move it), then the wall clock's nanoseconds: two
    # notifications of the same second still go out in the order they were made.
    return f"{at}-{time.time_ns():020d}-{new_id()}"


def _step(
    current: Incident | None, seen: Observation, now: datetime, every: timedelta | None
) -> Step:
    return step(current, seen, now, reminder_every=every, new_id=new_id())
