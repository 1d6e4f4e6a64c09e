"""The Studio's notification center: incidents (dismiss), history, channels (add, Send test,
enable, disable, remove) and deliveries.

Thin: each handler calls one `rookdb.alerts.Alerts` method (the one the HTTP
API uses) and renders. The header's badge counts open incidents (`web.render`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from rookdb.app_state import alerts_of
from rookdb.errors import AlertDeliveryFailed, NotFound, RookError
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


@router.post("/alerts/channels", response_class=HTMLResponse)
async def add_channel(request: Request) -> Response:
    """Add a channel from the form; an invalid one comes back with the field named."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        added = alerts_of(request).add_channel(channel_from_form(fields))
    except RookError as exc:
        return _page(request, form_error=exc, form=fields, status_code=exc.http_status)
    return redirect(
        "/alerts#channels", notice=f"Added the {added['kind']} channel {added['name']}."
    )


@router.post("/alerts/channels/{channel_id}/{action}", response_class=HTMLResponse)
def change_channel(request: Request, channel_id: str, action: str) -> Response:
    """Enable, disable or remove a channel."""
    alerts = alerts_of(request)
    try:
        name = alerts.channel(channel_id)["name"]
        if action == "remove":
            alerts.remove_channel(channel_id)
        elif action in ("enable", "disable"):
            alerts.set_enabled(channel_id, action == "enable")
        else:
            raise NotFound(f"no channel action {action!r} (enable, disable, remove)")
    except RookError as exc:
        return error_page(request, exc)
    done = {"remove": "Removed", "enable": "Enabled", "disable": "Disabled"}[action]
    return redirect("/alerts#channels", notice=f"{done} the channel {name}.")


def channel_from_form(form: dict[str, str]) -> dict[str, Any]:
    """The channel JSON of the form: the fields of its kind that were filled in."""
    kind = form.get("kind", "")
    wanted = {"webhook": ("url", "secret"), "slack": ("url",)}.get(kind, _EMAIL_FIELDS)
    body: dict[str, Any] = {"kind": kind, "name": form.get("name", "").strip()}
    for field in wanted:
        value = form.get(f"{kind}_{field}" if field == "url" else field, "").strip()
        if value:
            body[field] = value
    if kind == "email":
        if "port" in body:
            body["port"] = _whole(body["port"])
        if "recipients" in body:
            body["recipients"] = _words(body["recipients"])
    tasks = _words(form.get("tasks", ""))
    if tasks:
        body["tasks"] = tasks
    return body


def _words(text: str) -> list[str]:
    return [w for w in text.replace(",", " ").split() if w]


def _whole(text: str) -> int | str:
    # Left as text when it is not a number: the model then names the field.
    return int(text) if text.isascii() and text.isdigit() and len(text) < 7 else text


_EMAIL_FIELDS = ("host", "port", "security", "username", "password", "sender", "recipients",
                 "ca_file")  # fmt: skip


def _page(
    request: Request,
    *,
    test_error: str | None = None,
    form_error: RookError | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    alerts = alerts_of(request)
    try:
        current = alerts.incidents()
        history = alerts.history()[:HISTORY_SHOWN]
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
        "form_error": form_error,
        "form": {k: v for k, v in (form or {}).items() if k not in ("secret", "password")},
    }
    return render(request, "alerts.html", context, status_code=status_code)
