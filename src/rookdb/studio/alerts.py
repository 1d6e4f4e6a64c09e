"""The Studio's notification center: open incidents, dismiss, history, deliveries, Send test.

Thin: each handler calls one `rookdb.alerts.Alerts` method (the one the HTTP
API uses) and renders. The header's badge counts open incidents (`web.render`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from rookdb.app_state import alerts_of
from rookdb.errors import AlertDeliveryFailed, RookError
from rookdb.studio.web import error_page, redirect, render

router = APIRouter()

HISTORY_SHOWN = 50


@router.get("/alerts", response_class=HTMLResponse)
def notification_center(request: Request) -> Response:
    """Open and dismissed incidents, the recent history, channels and deliveries."""
    return _page(request)


@router.post("/alerts/incidents/{incident_id}/dismiss", response_class=HTMLResponse)
def dismiss(request: Request, incident_id: str) -> Response:
    """Acknowledge an incident (no more reminders); back to the notification center."""
    try:
        incident = alerts_of(request).dismiss(incident_id)
    except RookError as exc:
        return error_page(request, exc)
    return redirect("/alerts", notice=f"Dismissed: {incident.summary}")


@router.post("/alerts/channels/{channel_id}/test", response_class=HTMLResponse)
def send_test(request: Request, channel_id: str) -> Response:
    """Send a test notification; the page says whether it arrived and, if not, why."""
    try:
        record = alerts_of(request).send_test(channel_id)
    except AlertDeliveryFailed as exc:
        return _page(request, test_error=exc.message, status_code=exc.http_status)
    except RookError as exc:
        return error_page(request, exc)
    return redirect(
        "/alerts#channels", notice=f"Test notification delivered to {record.channel_name}."
    )


def _page(request: Request, *, test_error: str | None = None, status_code: int = 200) -> Response:
    alerts = alerts_of(request)
    try:
        current = alerts.incidents()
        history = alerts.incidents(include_closed=True)[len(current) :][:HISTORY_SHOWN]
        channels = alerts.channels()
        deliveries = alerts.deliveries()[:HISTORY_SHOWN]
        pending = alerts.pending()
    except RookError as exc:
        return error_page(request, exc)
    context = {
        "nav": "alerts",
        "open": [i for i in current if i.state == "open"],
        "dismissed": [i for i in current if i.state == "dismissed"],
        "history": history,
        "channels": channels,
        "deliveries": deliveries,
        "pending": len(pending),
        "reminder_minutes": alerts.settings().reminder_minutes,
        "test_error": test_error,
    }
    return render(request, "alerts.html", context, status_code=status_code)
