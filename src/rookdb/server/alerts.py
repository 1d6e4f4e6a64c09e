"""`/alerts/...`: incidents (list, dismiss), channels (configure, Send test), deliveries, settings.

Thin: parse, call one `rookdb.alerts.Alerts` method, render. Readers list;
an operator may dismiss an incident; configuring channels and sending a test
need an admin key (see `rookdb.security.roles`). Channel secrets are masked
in every answer.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response

from rookdb.alerts import Alerts
from rookdb.app_state import alerts_of
from rookdb.server.json_body import StrictJsonRoute
from rookdb.server.render import json_response

router = APIRouter(prefix="/alerts", tags=["alerts"], route_class=StrictJsonRoute)

JsonObject = Annotated[dict[str, Any], Body()]


async def _alerts(request: Request) -> Alerts:
    return alerts_of(request)


AlertsDep = Annotated[Alerts, Depends(_alerts)]


@router.get("/incidents")
def list_incidents(
    alerts: AlertsDep,
    all: Annotated[bool, Query(description="Closed incidents too (the history).")] = False,  # noqa: A002
) -> Response:
    """Open and dismissed incidents, newest first; with `all=true` the closed ones after them."""
    incidents = alerts.incidents(include_closed=all)
    return json_response({"incidents": [i.to_json() for i in incidents]})


@router.post("/incidents/{incident_id}/dismiss")
def dismiss_incident(incident_id: str, alerts: AlertsDep) -> Response:
    """Acknowledge an incident: no more reminders; its recovery is still announced."""
    return json_response(alerts.dismiss(incident_id).to_json())


@router.get("/deliveries")
def list_deliveries(alerts: AlertsDep) -> Response:
    """Finished deliveries, newest first (failed ones with the reason), and those waiting."""
    return json_response(
        {
            "deliveries": [d.to_json() for d in alerts.deliveries()],
            "pending": [d.to_json() for d in alerts.pending()],
        }
    )


@router.get("/channels")
def list_channels(alerts: AlertsDep) -> Response:
    """Every alert channel (secrets masked)."""
    return json_response({"channels": alerts.channels()})


@router.post("/channels", status_code=201)
def add_channel(body: JsonObject, alerts: AlertsDep) -> Response:
    """Add a webhook, Slack or email channel; 400 names the field when it is invalid."""
    return json_response(alerts.add_channel(body), 201)


@router.get("/channels/{channel_id}")
def get_channel(channel_id: str, alerts: AlertsDep) -> Response:
    """One channel (secrets masked)."""
    return json_response(alerts.channel(channel_id))


@router.put("/channels/{channel_id}")
def update_channel(channel_id: str, body: JsonObject, alerts: AlertsDep) -> Response:
    """Replace a channel; masked secrets sent back keep their stored value."""
    return json_response(alerts.update_channel(channel_id, body))


@router.delete("/channels/{channel_id}")
def remove_channel(channel_id: str, alerts: AlertsDep) -> Response:
    """Remove a channel and what waited to be sent to it."""
    alerts.remove_channel(channel_id)
    return json_response({"deleted": True, "id": channel_id})


@router.post("/channels/{channel_id}/enable")
def enable_channel(channel_id: str, alerts: AlertsDep) -> Response:
    """Turn a channel on again (after a 410, once the receiver is fixed)."""
    return json_response(alerts.set_enabled(channel_id, True))


@router.post("/channels/{channel_id}/disable")
def disable_channel(channel_id: str, alerts: AlertsDep) -> Response:
    """Stop sending to a channel."""
    return json_response(alerts.set_enabled(channel_id, False))


@router.post("/channels/{channel_id}/test")
def test_channel(channel_id: str, alerts: AlertsDep) -> Response:
    """Send a test notification now; 502 with the reason when it did not arrive."""
    return json_response({"ok": True, "delivery": alerts.send_test(channel_id).to_json()})


@router.get("/settings")
def get_settings(alerts: AlertsDep) -> Response:
    """The reminder interval (minutes; 0: never)."""
    return json_response(alerts.settings().to_json())


@router.put("/settings")
def put_settings(body: JsonObject, alerts: AlertsDep) -> Response:
    """Change the reminder interval: `{"reminder_minutes": 240}`."""
    return json_response(alerts.update_settings(body).to_json())
