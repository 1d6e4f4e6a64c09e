"""`Alerts`: the core API the HTTP routes, the CLI and the Studio call.

Data flows one way: task statuses → `Monitor` (incidents, queued deliveries)
→ `Courier` (channels). `start()` runs both in one background thread every
`interval` seconds; `tick()` does one round (tests drive it with a
`ManualClock`). Nothing here runs inside a backup or can fail one.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rookdb.alerts.channels import (
    Channel,
    parse_channel,
    public_json,
    with_stored_secrets,
)
from rookdb.alerts.delivery import Courier, record_of
from rookdb.alerts.incidents import Incident, Notification, dismiss
from rookdb.alerts.monitor import Monitor, StatusSource
from rookdb.alerts.outbox import Delivery, DeliveryRecord, Outbox
from rookdb.alerts.store import CAS_ATTEMPTS, AlertSettings, AlertStore, new_id
from rookdb.errors import AlertDeliveryFailed, ConcurrencyConflict, InvalidInput, RookError
from rookdb.security.secrets import MasterKeys
from rookdb.system import SystemStore
from rookdb.tasks.clock import Clock, SystemClock, format_time
from rookdb.tasks.model import BackupTask
from rookdb.tasks.service import BackupTasks
from rookdb.tasks.status_view import TaskStatus

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 10.0
# Test hook, like ROOKDB_CLOCK_OFFSET_SECONDS: end-to-end tests look every fraction of a second.
INTERVAL_ENV = "ROOKDB_ALERTS_INTERVAL_SECONDS"
MAX_REMINDER_MINUTES = 7 * 24 * 60


@dataclass(frozen=True, slots=True)
class AlertCounts:
    """What /metrics shows: incidents open by kind, deliveries by channel and outcome."""

    open_by_kind: dict[str, int]
    dismissed: int
    queued: int
    # (channel id, channel name) -> delivered/failed/retried
    deliveries: dict[tuple[str, str], dict[str, int]]


class Alerts:
    """Incidents, channels and deliveries of one server (cluster-wide in a cluster)."""

    def __init__(
        self,
        system: SystemStore,
        secrets: MasterKeys | None,
        *,
        clock: Clock | None = None,
        node: str = "A",
        statuses: StatusSource | None = None,
        interval: float | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.store = AlertStore(system, secrets)
        self.outbox = Outbox(system)
        self.monitor = Monitor(self.store, self.outbox)
        self.courier = Courier(self.store, self.outbox, node)
        self._statuses = statuses
        self.interval = interval or float(os.environ.get(INTERVAL_ENV) or DEFAULT_INTERVAL_SECONDS)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- incidents ----------------------------------------------------------------------
    def incidents(self, *, include_closed: bool = False) -> list[Incident]:
        """Open and dismissed incidents, newest first (then the closed ones, newest first)."""
        current = sorted(self.store.incidents(), key=lambda i: i.opened_at, reverse=True)
        return current + (self.history() if include_closed else [])

    def history(self) -> list[Incident]:
        """Closed incidents, newest first."""
        return self.store.history()

    def open_incidents(self) -> list[Incident]:
        """The incidents open and not dismissed (what the Studio's badge counts)."""
        return [i for i in self.incidents() if i.state == "open"]

    def dismiss(self, incident_id: str) -> Incident:
        """Acknowledge an incident: off the open list, no reminders; a recovery still closes it."""
        now = self.clock.now()
        for _ in range(CAS_ATTEMPTS):
            incident, entry = self.store.incident(incident_id)
            dismissed = dismiss(incident, now)
            if dismissed == incident:
                return incident
            try:
                self.store.replace(entry, dismissed)
            except ConcurrencyConflict:
                continue  # the monitor counted a repeat meanwhile: dismiss the newer record
            return dismissed
        raise ConcurrencyConflict(f"incident {incident_id} kept changing; try again")

    def deliveries(self) -> list[DeliveryRecord]:
        """Finished deliveries, newest first (failed ones with their reason)."""
        return self.outbox.log()

    def pending(self) -> list[Delivery]:
        """Deliveries waiting to be sent or retried."""
        return [delivery for delivery, _ in self.outbox.pending()]

    # -- channels -----------------------------------------------------------------------
    def channels(self) -> list[dict[str, Any]]:
        """Every channel as the API shows it (secrets masked)."""
        return [public_json(c) for c in self.store.channels()]

    def channel(self, channel_id: str) -> dict[str, Any]:
        return public_json(self.store.channel(channel_id))

    def add_channel(self, body: dict[str, Any]) -> dict[str, Any]:
        """Validate and store a new channel; its secrets are sealed, never shown again."""
        channel = self._fresh(with_stored_secrets(None, _input(body)), new_id())
        self.store.put_channel(channel, new=True)
        return public_json(channel)

    def update_channel(self, channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Replace a channel; masked secrets sent back keep their stored value."""
        stored = self.store.channel(channel_id)
        channel = self._fresh(with_stored_secrets(stored, _input(body)), channel_id)
        self.store.put_channel(channel)
        return public_json(channel)

    def set_enabled(self, channel_id: str, enabled: bool) -> dict[str, Any]:
        """Turn a channel on (clearing why it was turned off) or off."""
        stored = self.store.channel(channel_id)
        channel = stored.model_copy(update={"enabled": enabled, "disabled_reason": None})
        self.store.put_channel(channel)
        return public_json(channel)

    def remove_channel(self, channel_id: str) -> None:
        """Delete a channel and what waited to be sent to it."""
        self.store.remove_channel(channel_id)
        self.outbox.drop_channel(channel_id)

    def send_test(self, channel_id: str) -> DeliveryRecord:
        """Send a test notification now, once; AlertDeliveryFailed says why it did not arrive."""
        channel = self.store.channel(channel_id)
        now = self.clock.now()
        note = test_notification(format_time(now) or "")
        delivery = Delivery(f"test-{new_id()}", channel.id, note, note.at, note.at)
        try:
            self.courier.send(channel, note, delivery.id, self.courier.node)
        except AlertDeliveryFailed as exc:
            self.outbox.finish(None, record_of(delivery, channel, 1, now, exc.message))
            raise
        record = record_of(delivery, channel, 1, now, None)
        self.outbox.finish(None, record)
        return record

    def _fresh(self, body: dict[str, Any], channel_id: str) -> Channel:
        # The server's fields are not the caller's to set.
        cleaned = {k: v for k, v in body.items() if k not in ("id", "disabled_reason", "target")}
        return parse_channel({**cleaned, "id": channel_id})

    # -- settings -----------------------------------------------------------------------
    def settings(self) -> AlertSettings:
        return self.store.settings()

    def update_settings(self, body: dict[str, Any]) -> AlertSettings:
        """Change the reminder interval (minutes; 0: never remind)."""
        unknown = sorted(set(_input(body)) - {"reminder_minutes"})
        if unknown:
            raise InvalidInput(
                f"unknown field '{unknown[0]}' (allowed: reminder_minutes)", field=unknown[0]
            )
        minutes = body.get("reminder_minutes")
        if (
            not isinstance(minutes, int)
            or isinstance(minutes, bool)
            or not 0 <= minutes <= MAX_REMINDER_MINUTES
        ):
            raise InvalidInput(
                f"field 'reminder_minutes' must be a whole number of minutes from 0 (never) "
                f"to {MAX_REMINDER_MINUTES} (a week)",
                field="reminder_minutes",
            )
        settings = AlertSettings(minutes)
        self.store.put_settings(settings)
        return settings

    # -- running ------------------------------------------------------------------------
    def evaluate(self, now: datetime | None = None) -> list[Notification]:
        """Look at every task's status once; the notifications it caused (queued to send)."""
        if self._statuses is None:
            return []
        return self.monitor.evaluate(self._statuses, now or self.clock.now())

    def deliver_due(self, now: datetime | None = None) -> list[DeliveryRecord]:
        """Send what is due; the deliveries that ended (delivered, or given up)."""
        return self.courier.deliver_due(now or self.clock.now())

    def tick(self) -> None:
        """One round: evaluate, then deliver."""
        self.evaluate()
        self.deliver_due()

    def counts(self) -> AlertCounts:
        by_kind: dict[str, int] = {}
        current = self.store.incidents()
        for incident in current:
            if incident.state == "open":
                by_kind[incident.kind] = by_kind.get(incident.kind, 0) + 1
        names = {c.id: c.name for c in self.store.channels()}
        deliveries = {(k, names.get(k, k)): v for k, v in self.outbox.counts().items()}
        dismissed = sum(1 for i in current if i.state == "dismissed")
        return AlertCounts(by_kind, dismissed, len(self.outbox.pending()), deliveries)

    def start(self) -> None:
        """Evaluate and deliver in a background thread every `interval` seconds."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="alerts", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick()
            except RookError as exc:
                # E.g. the cluster store without quorum: said in one line, tried again later.
                log.warning("alerts: %s; trying again in %g s", exc.message, self.interval)
            except Exception:
                # Alerts are best effort next to backups: log, and look again later.
                log.exception("alert evaluation failed")
            self._stopping.wait(self.interval)


def statuses_of(tasks: BackupTasks) -> StatusSource:
    """What the monitor reads: every task of every database with its status."""

    def read() -> list[tuple[str, BackupTask, TaskStatus]]:
        return [(database, task, status) for database, task, status, _ in tasks.all_statuses()]

    return read


def test_notification(at: str) -> Notification:
    """The notification `Send test` sends (event "test")."""
    incident = Incident(
        id="test",
        key="test",
        kind="backup-failed",
        database="",
        task_id="",
        task_name="",
        summary="A test notification from rookdb: this channel is set up correctly.",
        opened_at=at,
        last_seen_at=at,
        notified_at=at,
    )
    return Notification("test", incident, at)


def _input(body: object) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput("send a JSON object", field="body")
    return body
