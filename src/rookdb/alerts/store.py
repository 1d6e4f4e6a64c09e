"""Alert state in the system store (etcd in a cluster, so every node sees the same).

    alert-incidents   {incident key}   the incident open (or dismissed) for a subject
    alert-history     incidents        closed incidents, newest first (the last HISTORY_LENGTH)
    alert-channels    {channel id}     channel configs, secrets sealed
    alert-settings    server           the reminder interval

Every change is a compare-and-set; an incident's change and the deliveries it
causes are one commit, so two nodes looking at the same status cannot both
announce the same incident.
"""

from __future__ import annotations

import secrets as random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from rookdb.alerts.channels import (
    SECRET_FIELDS,
    Channel,
    parse_channel,
    plain_json,
)
from rookdb.alerts.incidents import Incident, Notification, Step
from rookdb.errors import ConcurrencyConflict, MasterKeyError, NotFound
from rookdb.security.secrets import MasterKeys, is_sealed, key_id
from rookdb.system import SystemStore
from rookdb.system.store import Entry, Write

INCIDENTS = "alert-incidents"
HISTORY = "alert-history"
CHANNELS = "alert-channels"
SETTINGS = "alert-settings"
HISTORY_LENGTH = 200
CAS_ATTEMPTS = 20
DEFAULT_REMINDER_MINUTES = 240


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """Server-wide alert settings: how often an incident still open is recalled (0: never)."""

    reminder_minutes: int = DEFAULT_REMINDER_MINUTES

    @property
    def reminder_every(self) -> timedelta | None:
        return timedelta(minutes=self.reminder_minutes) if self.reminder_minutes > 0 else None

    def to_json(self) -> dict[str, Any]:
        return {"reminder_minutes": self.reminder_minutes}


def new_id() -> str:
    """A short random id for an incident or a channel."""
    return random.token_hex(4)


class AlertStore:
    """Reads and compare-and-set writes of incidents, history, channels and settings."""

    def __init__(self, system: SystemStore, secrets: MasterKeys | None) -> None:
        self.system = system
        self._secrets = secrets

    # -- incidents ----------------------------------------------------------------------
    def incidents(self) -> list[Incident]:
        """The incidents open or dismissed, oldest first."""
        found = [_incident(e) for e in self.system.list(INCIDENTS)]
        return sorted((i for i in found if i is not None), key=lambda i: i.opened_at)

    def incident(self, incident_id: str) -> tuple[Incident, Entry]:
        """An incident open or dismissed, by id; NotFound says where to look otherwise."""
        for entry in self.system.list(INCIDENTS):
            found = _incident(entry)
            if found is not None and found.id == incident_id:
                return found, entry
        raise NotFound(
            f"no open incident {incident_id!r} (closed ones are in the alert history: "
            "`rookdb alerts list --all`)"
        )

    def history(self) -> list[Incident]:
        """Closed incidents, newest first."""
        entry = self.system.get(HISTORY, "incidents")
        rows = entry.value.get("incidents", []) if entry else []
        return [i for i in (_incident_json(r) for r in rows) if i is not None]

    def apply(
        self,
        key: str,
        change: Callable[[Incident | None], Step],
        deliveries: Callable[[Notification], Sequence[Write]],
    ) -> Step:
        """Apply one step to a subject's incident; its notification's deliveries in the same commit.

        `change` may run more than once (after a conflict): it must only compute.
        """
        for _ in range(CAS_ATTEMPTS):
            entry = self.system.get(INCIDENTS, key)
            current = _incident(entry) if entry else None
            result = change(current)
            if result.current == current and result.notify is None:
                return result
            version = entry.version if entry else 0
            value = result.current.to_json() if result.current else None
            writes = [Write(INCIDENTS, key, value, expected_version=version)]
            if result.closed is not None:
                writes.append(self._history_write(result.closed))
            if result.notify is not None:
                writes.extend(deliveries(result.notify))
            try:
                self.system.commit(writes)
            except ConcurrencyConflict:
                continue
            return result
        raise ConcurrencyConflict(f"alert incident {key} kept changing; {CAS_ATTEMPTS} attempts")

    def replace(self, entry: Entry, incident: Incident) -> None:
        """Store a changed incident (a dismissal) if nobody changed it meanwhile."""
        self.system.put(INCIDENTS, entry.key, incident.to_json(), expected_version=entry.version)

    def _history_write(self, closed: Incident) -> Write:
        entry = self.system.get(HISTORY, "incidents")
        rows = entry.value.get("incidents", []) if entry else []
        value = {"incidents": [closed.to_json(), *rows][:HISTORY_LENGTH]}
        return Write(HISTORY, "incidents", value, expected_version=entry.version if entry else 0)

    # -- settings -----------------------------------------------------------------------
    def settings(self) -> AlertSettings:
        entry = self.system.get(SETTINGS, "server")
        minutes = entry.value.get("reminder_minutes") if entry else None
        if isinstance(minutes, int) and not isinstance(minutes, bool) and minutes >= 0:
            return AlertSettings(minutes)
        return AlertSettings()

    def put_settings(self, settings: AlertSettings) -> None:
        self.system.put(SETTINGS, "server", settings.to_json())

    # -- channels -----------------------------------------------------------------------
    def channels(self) -> list[Channel]:
        """Every channel, by name."""
        found = [self._channel(e) for e in self.system.list(CHANNELS)]
        return sorted(found, key=lambda c: c.name.lower())

    def channel(self, channel_id: str) -> Channel:
        entry = self.system.get(CHANNELS, channel_id)
        if entry is None:
            raise NotFound(
                f"alert channel {channel_id!r} does not exist (see `rookdb alerts channels list`)"
            )
        return self._channel(entry)

    def put_channel(self, channel: Channel, *, new: bool = False) -> None:
        body = self._seal(channel.id, plain_json(channel))
        self.system.put(CHANNELS, channel.id, body, expected_version=0 if new else None)

    def remove_channel(self, channel_id: str) -> None:
        if not self.system.delete(CHANNELS, channel_id):
            raise NotFound(f"alert channel {channel_id!r} does not exist")

    def reseal_all(self, new_key: bytes) -> int:
        """Seal every channel's secrets with `new_key` (master key rotation); how many were."""
        wanted = key_id(new_key)
        count = 0
        for entry in self.system.list(CHANNELS):
            for _ in range(CAS_ATTEMPTS):
                current = self.system.get(CHANNELS, entry.key)
                if current is None:
                    break
                stale = [
                    v
                    for v in current.value.values()
                    if is_sealed(v) and isinstance(v, dict) and v.get("key") != wanted
                ]
                if not stale:
                    break
                body = self._seal(entry.key, self._open(entry.key, current.value), new_key)
                try:
                    self.system.put(CHANNELS, entry.key, body, expected_version=current.version)
                except ConcurrencyConflict:
                    continue
                count += len(stale)
                break
        return count

    def _channel(self, entry: Entry) -> Channel:
        return parse_channel(self._open(entry.key, entry.value))

    def _seal(
        self, channel_id: str, body: dict[str, Any], key: bytes | None = None
    ) -> dict[str, Any]:
        if self._secrets is None:
            return body
        out = dict(body)
        for name in SECRET_FIELDS[str(body["kind"])]:
            value = body.get(name)
            if isinstance(value, str) and value:
                out[name] = self._secrets.seal(value, f"{CHANNELS}/{channel_id}/{name}", key=key)
        return out

    def _open(self, channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
        out = dict(body)
        for name, value in body.items():
            if not is_sealed(value):
                continue
            if self._secrets is None:
                raise MasterKeyError(f"alert channel {channel_id} has sealed secrets and no key")
            out[name] = self._secrets.open(value, f"{CHANNELS}/{channel_id}/{name}")
        return out


def _incident(entry: Entry | None) -> Incident | None:
    return _incident_json(entry.value) if entry else None


def _incident_json(body: object) -> Incident | None:
    # A record this version cannot read is left out of lists, never fatal.
    if not isinstance(body, dict):
        return None
    try:
        return Incident.from_json(body)
    except ValueError:
        return None
