"""Incidents: one per thing going wrong, from the first failure to the recovery.

`step` is the whole state machine, pure (the time and the new id are given):

    (none) --failing--> open        notify "opened"
    open   --failing--> open        a new occurrence counts one more repeat;
                                    "reminder" once per reminder interval
    open | dismissed --healthy--> (closed, kept in the history)  notify "recovered"
    open   --dismiss--> dismissed   no more reminders; still closed by a recovery
    any    --unknown--> unchanged

So a task failing every minute for an hour sends one alert, plus at most one
reminder per interval, and one "recovered" when it works again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from rookdb.alerts.events import ALERT_KINDS, AlertKind, Observation
from rookdb.tasks.clock import format_time, parse_time
from rookdb.tasks.records import integer, one_of, text

IncidentState = Literal["open", "dismissed", "recovered"]
Phase = Literal["opened", "reminder", "recovered", "test"]
_STATES: tuple[IncidentState, ...] = ("open", "dismissed", "recovered")
_PHASES: tuple[Phase, ...] = ("opened", "reminder", "recovered", "test")


@dataclass(frozen=True, slots=True)
class Incident:
    """One incident (times are `2026-11-22T02:00:03Z` strings)."""

    id: str
    key: str
    kind: AlertKind
    database: str
    task_id: str
    task_name: str
    summary: str
    opened_at: str
    last_seen_at: str
    notified_at: str
    state: IncidentState = "open"
    subject: str | None = None
    reason: str | None = None
    occurrences: int = 1  # failures seen in this incident (the first one included)
    last_occurrence: str | None = None
    reminders: int = 0
    dismissed_at: str | None = None
    closed_at: str | None = None

    @property
    def repeats(self) -> int:
        """Failures after the one that opened it."""
        return self.occurrences - 1

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "kind": self.kind,
            "state": self.state,
            "database": self.database,
            "task_id": self.task_id,
            "task_name": self.task_name,
            "subject": self.subject,
            "summary": self.summary,
            "reason": self.reason,
            "opened_at": self.opened_at,
            "last_seen_at": self.last_seen_at,
            "occurrences": self.occurrences,
            "repeats": self.repeats,
            "last_occurrence": self.last_occurrence,
            "notified_at": self.notified_at,
            "reminders": self.reminders,
            "dismissed_at": self.dismissed_at,
            "closed_at": self.closed_at,
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Incident:
        kind = one_of(body.get("kind"), ALERT_KINDS)
        ident, key = text(body, "id"), text(body, "key")
        opened = text(body, "opened_at")
        if kind is None or ident is None or key is None or opened is None:
            raise ValueError("not an alert incident record")
        return cls(
            id=ident,
            key=key,
            kind=kind,
            database=text(body, "database") or "",
            task_id=text(body, "task_id") or "",
            task_name=text(body, "task_name") or "",
            summary=text(body, "summary") or "",
            opened_at=opened,
            last_seen_at=text(body, "last_seen_at") or opened,
            notified_at=text(body, "notified_at") or opened,
            state=one_of(body.get("state"), _STATES) or "open",
            subject=text(body, "subject"),
            reason=text(body, "reason"),
            occurrences=integer(body, "occurrences") or 1,
            last_occurrence=text(body, "last_occurrence"),
            reminders=integer(body, "reminders") or 0,
            dismissed_at=text(body, "dismissed_at"),
            closed_at=text(body, "closed_at"),
        )


@dataclass(frozen=True, slots=True)
class Notification:
    """What to tell the channels: an incident at one step of its life."""

    phase: Phase
    incident: Incident
    at: str

    @property
    def event(self) -> str:
        """The event name receivers see (`incident.opened`, `incident.recovered` ...)."""
        return "test" if self.phase == "test" else f"incident.{self.phase}"

    def to_json(self) -> dict[str, Any]:
        return {"phase": self.phase, "at": self.at, "incident": self.incident.to_json()}

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Notification:
        phase = one_of(body.get("phase"), _PHASES)
        incident = body.get("incident")
        if phase is None or not isinstance(incident, Mapping):
            raise ValueError("not an alert notification record")
        return cls(phase, Incident.from_json(incident), text(body, "at") or "")


@dataclass(frozen=True, slots=True)
class Step:
    """The outcome of one observation: the incident to keep (None: none open) and what to say.

    `closed` is the incident as it ends (for the history) when this step closed it.
    """

    current: Incident | None
    notify: Notification | None = None
    closed: Incident | None = None


def step(
    current: Incident | None,
    seen: Observation,
    now: datetime,
    *,
    reminder_every: timedelta | None,
    new_id: str,
) -> Step:
    """The next state of one subject's incident after an observation (see the module doc)."""
    at = format_time(now) or ""
    if seen.health == "unknown":
        return Step(current)
    if seen.health == "healthy":
        if current is None:
            return Step(None)
        closed = replace(current, state="recovered", closed_at=at, last_seen_at=at)
        return Step(None, Notification("recovered", closed, at), closed)
    if current is None:
        opened = Incident(
            id=new_id,
            key=seen.key,
            kind=seen.kind,
            database=seen.database,
            task_id=seen.task_id,
            task_name=seen.task_name,
            summary=seen.summary,
            reason=seen.reason,
            subject=seen.subject,
            opened_at=at,
            last_seen_at=at,
            notified_at=at,
            last_occurrence=seen.occurrence,
        )
        return Step(opened, Notification("opened", opened, at))
    repeated = seen.occurrence is not None and seen.occurrence != current.last_occurrence
    updated = replace(
        current,
        # Only a repeat moves it: an unchanged incident is not written again at every look.
        last_seen_at=at if repeated else current.last_seen_at,
        occurrences=current.occurrences + (1 if repeated else 0),
        last_occurrence=seen.occurrence if repeated else current.last_occurrence,
        reason=seen.reason if repeated and seen.reason else current.reason,
    )
    if updated.state == "open" and _reminder_due(updated, now, reminder_every):
        reminded = replace(updated, notified_at=at, reminders=updated.reminders + 1)
        return Step(reminded, Notification("reminder", reminded, at))
    return Step(updated)


def dismiss(current: Incident, now: datetime) -> Incident:
    """The incident acknowledged: hidden from the open list, no more reminders."""
    if current.state != "open":
        return current
    return replace(current, state="dismissed", dismissed_at=format_time(now))


def _reminder_due(incident: Incident, now: datetime, every: timedelta | None) -> bool:
    if every is None:
        return False
    return now - parse_time(incident.notified_at) >= every
