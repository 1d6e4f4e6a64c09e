"""Sending what the outbox holds: due deliveries, retried with backoff, the outcome logged.

Runs in the alerts thread, never in a backup's: a receiver that hangs costs
its channel's timeout, nothing more. A receiver answering 410 Gone turns its
channel off with a note saying so (an operator enables it again once fixed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rookdb.alerts import senders
from rookdb.alerts.channels import Channel
from rookdb.alerts.incidents import Notification
from rookdb.alerts.outbox import Delivery, DeliveryRecord, Outbox, backoff
from rookdb.alerts.store import AlertStore
from rookdb.errors import AlertChannelGone, AlertDeliveryFailed, NotFound
from rookdb.system.store import Entry
from rookdb.tasks.clock import format_time

log = logging.getLogger(__name__)

Send = Callable[[Channel, Notification, str, str], None]


@dataclass(frozen=True)
class Courier:
    """Delivers due notifications (one sender at a time per delivery, cluster-wide)."""

    store: AlertStore
    outbox: Outbox
    node: str
    send: Send = senders.send

    def deliver_due(self, now: datetime) -> list[DeliveryRecord]:
        """Try every delivery that is due; those that ended (delivered or given up).

        Per channel, oldest first, and a channel waits behind its oldest delivery: a
        receiver gets "recovered" after "opened", never before, and one that hangs
        costs one timeout per round, not one per waiting notification.
        """
        ended = []
        waiting: set[str] = set()  # channels whose older delivery is not through yet
        for delivery, entry in self.outbox.pending():
            if delivery.channel_id in waiting:
                continue
            if not delivery.due(now):
                waiting.add(delivery.channel_id)
                continue
            claimed = self.outbox.claim(entry, delivery, now)
            if claimed is None:
                waiting.add(delivery.channel_id)  # another node is sending it
                continue
            record = self._attempt(delivery, claimed, now)
            if record is None:
                waiting.add(delivery.channel_id)  # to be retried: the rest waits behind it
            else:
                ended.append(record)
        return ended

    def _attempt(self, delivery: Delivery, entry: Entry, now: datetime) -> DeliveryRecord | None:
        attempts = delivery.attempts + 1
        try:
            channel = self.store.channel(delivery.channel_id)
        except NotFound:
            return self._end(entry, delivery, None, attempts, now, "the channel was removed")
        if not channel.enabled:
            why = channel.disabled_reason or "it was turned off"
            return self._end(entry, delivery, channel, attempts - 1, now, f"not sent: {why}")
        try:
            self.send(channel, delivery.notification, delivery.id, self.node)
        except AlertChannelGone as exc:
            self._turn_off(channel, exc.message, now)
            return self._end(entry, delivery, channel, attempts, now, exc.message)
        except AlertDeliveryFailed as exc:
            wait = backoff(attempts) if exc.retryable else None
            if wait is not None:
                self.outbox.retry_later(entry, delivery, exc.message, now + wait)
                return None
            given_up = (
                f"{exc.message} (gave up after {attempts} attempts)"
                if exc.retryable
                else exc.message
            )
            return self._end(entry, delivery, channel, attempts, now, given_up)
        except Exception as exc:  # a bug in a sender must not stop the others' deliveries
            log.exception("alert delivery %s failed unexpectedly", delivery.id)
            # The type only: the text of an unforeseen error may quote a secret URL.
            why = f"unexpected {type(exc).__name__} (a bug in rookdb: see the server log)"
            return self._end(entry, delivery, channel, attempts, now, why)
        return self._end(entry, delivery, channel, attempts, now, None)

    def _end(
        self,
        entry: Entry | None,
        delivery: Delivery,
        channel: Channel | None,
        attempts: int,
        now: datetime,
        error: str | None,
    ) -> DeliveryRecord:
        record = record_of(delivery, channel, attempts, now, error)
        self.outbox.finish(entry, record)
        return record

    def _turn_off(self, channel: Channel, reason: str, now: datetime) -> None:
        note = (
            f"turned off at {format_time(now)}: {reason} (the receiver says it is gone); "
            "fix the receiver, then enable the channel again"
        )
        self.store.put_channel(
            channel.model_copy(update={"enabled": False, "disabled_reason": note})
        )


def record_of(
    delivery: Delivery, channel: Channel | None, attempts: int, now: datetime, error: str | None
) -> DeliveryRecord:
    """How a delivery ended, for the log."""
    note = delivery.notification
    return DeliveryRecord(
        id=delivery.id,
        channel_id=delivery.channel_id,
        channel_name=channel.name if channel else delivery.channel_id,
        event=note.event,
        incident_id=None if note.phase == "test" else note.incident.id,
        summary=note.incident.summary,
        outcome="delivered" if error is None else "failed",
        attempts=attempts,
        at=format_time(now) or "",
        error=error,
    )
