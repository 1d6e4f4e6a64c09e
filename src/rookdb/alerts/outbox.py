"""Deliveries waiting to be sent, and the record of those that were (or could not be).

    alert-outbox      {delivery id}  one notification for one channel, with its attempts
    alert-deliveries  log            finished deliveries, newest first (the last LOG_LENGTH)
    alert-deliveries  counts         per channel: delivered, failed, retried (for /metrics)

A delivery is claimed (compare-and-set, with an expiry) before it is sent, so
two nodes never send the same one at once, and a node that died mid-send
leaves it to be sent again after CLAIM_SECONDS.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from rookdb.alerts.incidents import Notification
from rookdb.errors import ConcurrencyConflict
from rookdb.system import SystemStore
from rookdb.system.store import Entry, Write
from rookdb.tasks.clock import format_time, parse_time
from rookdb.tasks.records import integer, one_of, text

OUTBOX = "alert-outbox"
DELIVERIES = "alert-deliveries"
LOG_LENGTH = 200
CLAIM_SECONDS = 300
# Waits before attempts 2, 3 ...; after the last one the delivery is given up.
BACKOFF_SECONDS = (10, 60, 300, 900, 3600)
Outcome = Literal["delivered", "failed"]
_OUTCOMES: tuple[Outcome, ...] = ("delivered", "failed")


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification on its way to one channel."""

    id: str
    channel_id: str
    notification: Notification
    created_at: str
    next_at: str
    attempts: int = 0
    last_error: str | None = None
    claimed_until: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channel_id": self.channel_id,
            "notification": self.notification.to_json(),
            "created_at": self.created_at,
            "next_at": self.next_at,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "claimed_until": self.claimed_until,
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Delivery:
        notification = body.get("notification")
        ident, channel = text(body, "id"), text(body, "channel_id")
        if ident is None or channel is None or not isinstance(notification, Mapping):
            raise ValueError("not an alert delivery record")
        created = text(body, "created_at") or ""
        return cls(
            id=ident,
            channel_id=channel,
            notification=Notification.from_json(notification),
            created_at=created,
            next_at=text(body, "next_at") or created,
            attempts=integer(body, "attempts") or 0,
            last_error=text(body, "last_error"),
            claimed_until=text(body, "claimed_until"),
        )

    def due(self, now: datetime) -> bool:
        if self.claimed_until and parse_time(self.claimed_until) > now:
            return False
        return parse_time(self.next_at) <= now


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """A finished delivery, as the history shows it."""

    id: str
    channel_id: str
    channel_name: str
    event: str
    incident_id: str | None
    summary: str
    outcome: Outcome
    attempts: int
    at: str
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channel_id": self.channel_id,
            "channel_name": self.channel_name,
            "event": self.event,
            "incident_id": self.incident_id,
            "summary": self.summary,
            "outcome": self.outcome,
            "attempts": self.attempts,
            "at": self.at,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> DeliveryRecord | None:
        outcome = one_of(body.get("outcome"), _OUTCOMES)
        ident, channel = text(body, "id"), text(body, "channel_id")
        if outcome is None or ident is None or channel is None:
            return None
        return cls(
            id=ident,
            channel_id=channel,
            channel_name=text(body, "channel_name") or channel,
            event=text(body, "event") or "",
            incident_id=text(body, "incident_id"),
            summary=text(body, "summary") or "",
            outcome=outcome,
            attempts=integer(body, "attempts") or 0,
            at=text(body, "at") or "",
            error=text(body, "error"),
        )


def backoff(attempts: int) -> timedelta | None:
    """How long to wait after `attempts` failed tries; None: give up."""
    if attempts > len(BACKOFF_SECONDS):
        return None
    return timedelta(seconds=BACKOFF_SECONDS[attempts - 1])


class Outbox:
    """The queue of deliveries and the log of finished ones, in the system store."""

    def __init__(self, system: SystemStore) -> None:
        self.system = system

    def enqueue(self, delivery: Delivery) -> Write:
        """The write that queues a delivery (committed with the incident change causing it)."""
        return Write(OUTBOX, delivery.id, delivery.to_json(), expected_version=0)

    def pending(self) -> list[tuple[Delivery, Entry]]:
        """Every delivery waiting, oldest first."""
        found = []
        for entry in self.system.list(OUTBOX):
            try:
                found.append((Delivery.from_json(entry.value), entry))
            except ValueError:
                continue
        return sorted(found, key=lambda pair: pair[1].key)  # ids sort by creation

    def claim(self, entry: Entry, delivery: Delivery, now: datetime) -> Entry | None:
        """Take a delivery to send it; None when another sender took it first."""
        until = format_time(now + timedelta(seconds=CLAIM_SECONDS))
        claimed = replace(delivery, claimed_until=until)
        try:
            version = self.system.put(
                OUTBOX, entry.key, claimed.to_json(), expected_version=entry.version
            )
        except ConcurrencyConflict:
            return None
        return Entry(OUTBOX, entry.key, claimed.to_json(), version)

    def retry_later(self, entry: Entry, delivery: Delivery, error: str, at: datetime) -> None:
        """Put a delivery back, to be tried again at `at`."""
        later = replace(
            delivery,
            attempts=delivery.attempts + 1,
            last_error=error,
            next_at=format_time(at) or "",
            claimed_until=None,
        )
        # A conflict: removed meanwhile (its channel was deleted), nothing left to retry.
        with suppress(ConcurrencyConflict):
            self.system.put(OUTBOX, entry.key, later.to_json(), expected_version=entry.version)
        self._count(delivery.channel_id, "retried")

    def finish(self, entry: Entry | None, record: DeliveryRecord) -> None:
        """Take a delivery off the queue (if it was queued) and log how it ended."""
        for _ in range(20):
            log = self.system.get(DELIVERIES, "log")
            rows = log.value.get("deliveries", []) if log else []
            writes = [
                Write(
                    DELIVERIES,
                    "log",
                    {"deliveries": [record.to_json(), *rows][:LOG_LENGTH]},
                    expected_version=log.version if log else 0,
                )
            ]
            if entry is not None:
                writes.append(Write(OUTBOX, entry.key, None))
            try:
                self.system.commit(writes)
                break
            except ConcurrencyConflict:
                continue
        self._count(record.channel_id, record.outcome)

    def drop_channel(self, channel_id: str) -> int:
        """Forget the deliveries waiting for a removed channel; how many."""
        dropped = 0
        for delivery, entry in self.pending():
            if delivery.channel_id == channel_id:
                dropped += self.system.delete(OUTBOX, entry.key)
        return dropped

    def log(self) -> list[DeliveryRecord]:
        """Finished deliveries, newest first."""
        entry = self.system.get(DELIVERIES, "log")
        rows = entry.value.get("deliveries", []) if entry else []
        found = (DeliveryRecord.from_json(r) for r in rows if isinstance(r, Mapping))
        return [r for r in found if r is not None]

    def counts(self) -> dict[str, dict[str, int]]:
        """Per channel id: how many deliveries were delivered, failed, retried."""
        entry = self.system.get(DELIVERIES, "counts")
        body = entry.value if entry else {}
        return {
            k: {n: int(v.get(n, 0)) for n in ("delivered", "failed", "retried")}
            for k, v in body.items()
            if isinstance(v, dict)
        }

    def _count(self, channel_id: str, what: str) -> None:
        for _ in range(20):
            entry = self.system.get(DELIVERIES, "counts")
            body = dict(entry.value) if entry else {}
            mine = dict(body.get(channel_id) or {})
            mine[what] = int(mine.get(what, 0)) + 1
            body[channel_id] = mine
            try:
                self.system.put(
                    DELIVERIES, "counts", body, expected_version=entry.version if entry else 0
                )
                return
            except ConcurrencyConflict:
                continue
