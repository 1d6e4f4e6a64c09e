"""`Client.alerts`: the `/alerts/...` routes, with the names and types of `rookdb.alerts.Alerts`.

Readers may list; an operator may dismiss; channels, tests and settings need
an admin key (the server answers 403 `Forbidden` otherwise). Channel secrets
come back masked, as from the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import orjson

from rookdb.client import typed_answer
from rookdb.errors import InvalidInput, RookError

if TYPE_CHECKING:
    from rookdb.alerts.incidents import Incident
    from rookdb.alerts.outbox import Delivery, DeliveryRecord
    from rookdb.alerts.store import AlertSettings
    from rookdb.client import Client


class RemoteAlerts:
    """A server's alerts: incidents, deliveries, channels and settings."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return orjson.loads(self._client.request(method, "/alerts" + path, **kwargs).content)

    # -- incidents -------------------------------------------------------------------
    def incidents(self, *, include_closed: bool = False) -> list[Incident]:
        """Open and dismissed incidents, newest first; closed ones too with `include_closed`."""
        from rookdb.alerts.incidents import Incident

        params = {"all": "true"} if include_closed else None
        found = self._call("GET", "/incidents", params=params)["incidents"]
        return [typed_answer(Incident.from_json, item) for item in found]

    def dismiss(self, incident_id: str) -> Incident:
        """Acknowledge an incident (operator or admin): no more reminders."""
        from rookdb.alerts.incidents import Incident

        return typed_answer(Incident.from_json, self._call("POST", f"{_id(incident_id)}/dismiss"))

    # -- deliveries ------------------------------------------------------------------
    def deliveries(self) -> list[DeliveryRecord]:
        """Finished deliveries, newest first (failed ones with the reason)."""
        return self._delivery_lists()[0]

    def pending(self) -> list[Delivery]:
        """Deliveries still waiting to be sent (or retried)."""
        return self._delivery_lists()[1]

    def _delivery_lists(self) -> tuple[list[DeliveryRecord], list[Delivery]]:
        from rookdb.alerts.outbox import Delivery

        data = self._call("GET", "/deliveries")
        done = [r for r in map(_record, data["deliveries"]) if r is not None]
        return done, [typed_answer(Delivery.from_json, item) for item in data["pending"]]

    # -- channels (admin) --------------------------------------------------------------
    def channels(self) -> list[dict[str, Any]]:
        """Every channel, secrets masked."""
        found: list[dict[str, Any]] = self._call("GET", "/channels")["channels"]
        return found

    def channel(self, channel_id: str) -> dict[str, Any]:
        """One channel, secrets masked; NotFound when there is none with this id."""
        found: dict[str, Any] = self._call("GET", _channel(channel_id))
        return found

    def add_channel(self, body: dict[str, Any]) -> dict[str, Any]:
        """Add a webhook, Slack or email channel; InvalidInput names the field when wrong."""
        added: dict[str, Any] = self._call("POST", "/channels", json=body)
        return added

    def update_channel(self, channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Replace a channel; masked secrets sent back keep their stored value."""
        updated: dict[str, Any] = self._call("PUT", _channel(channel_id), json=body)
        return updated

    def set_enabled(self, channel_id: str, enabled: bool) -> dict[str, Any]:
        """Turn a channel on or off."""
        action = "enable" if enabled else "disable"
        changed: dict[str, Any] = self._call("POST", f"{_channel(channel_id)}/{action}")
        return changed

    def remove_channel(self, channel_id: str) -> None:
        """Remove a channel and what waited to be sent to it."""
        self._call("DELETE", _channel(channel_id))

    def send_test(self, channel_id: str) -> DeliveryRecord:
        """Send a test notification now; the error (502 `DestinationError` ...) when it fails."""
        record = _record(self._call("POST", f"{_channel(channel_id)}/test")["delivery"])
        if record is None:
            raise RookError("the server answered a test with no delivery record")
        return record

    # -- settings (admin to change) ------------------------------------------------------
    def settings(self) -> AlertSettings:
        """The server-wide alert settings."""
        return _settings(self._call("GET", "/settings"))

    def update_settings(self, body: dict[str, Any]) -> AlertSettings:
        """Change the settings, e.g. `{"reminder_minutes": 240}`."""
        return _settings(self._call("PUT", "/settings", json=body))


def _id(incident_id: str) -> str:
    # Quoted: an id holding "/" or ".." must not reach another route.
    if not incident_id:
        raise InvalidInput("give the id of the incident", field="incident_id")
    return f"/incidents/{quote(incident_id, safe='')}"


def _channel(channel_id: str) -> str:
    if not channel_id:
        raise InvalidInput("give the id of the channel", field="channel_id")
    return f"/channels/{quote(channel_id, safe='')}"


def _record(item: Any) -> DeliveryRecord | None:
    from rookdb.alerts.outbox import DeliveryRecord

    return typed_answer(DeliveryRecord.from_json, item)


def _settings(data: Any) -> AlertSettings:
    from rookdb.alerts.store import AlertSettings

    try:
        return AlertSettings(reminder_minutes=int(data["reminder_minutes"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise RookError(f"the server's settings answer is not what rookdb expects: {exc}") from exc
