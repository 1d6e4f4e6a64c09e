"""What a notification says, in each channel's format.

Webhook: a JSON body, signed like GitHub's webhooks: `X-Rookdb-Signature:
sha256=<hex HMAC-SHA256 of the raw body with the channel's secret>`; the
receiver computes the same over the bytes it received and compares in
constant time. Slack: `{"text": ...}`, which Slack-compatible incoming
webhooks all take. Email: a plain-text message.
"""

from __future__ import annotations

import hashlib
import hmac
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

import orjson

from rookdb.alerts.incidents import Incident, Notification
from rookdb.tasks.clock import parse_time

SIGNATURE_HEADER = "X-Rookdb-Signature"
EVENT_HEADER = "X-Rookdb-Event"
DELIVERY_HEADER = "X-Rookdb-Delivery"

_TITLES = {
    "backup-failed": "Backup failed",
    "destination-failing": "Destination failing",
    "overdue": "Backup overdue",
    "drill-failed": "Restore drill failed",
    "task-moved": "Task moved to another node",
}


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for `body`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def title(incident: Incident) -> str:
    """The kind of incident in a few words ("Backup failed")."""
    return _TITLES.get(incident.kind, incident.kind)


def headline(notification: Notification) -> str:
    """One line: what happened to what."""
    incident = notification.incident
    where = f"{incident.task_name} ({incident.database})"
    if incident.subject:
        where = f"{incident.subject} of {where}"
    if notification.phase == "test":
        return "Test notification from rookdb: this channel works"
    if notification.phase == "recovered":
        return f"Recovered: {title(incident)} — {where}"
    if notification.phase == "reminder":
        return f"Still open: {title(incident)} — {where} ({_count(incident)})"
    return f"{title(incident)} — {where}"


def text_of(notification: Notification) -> str:
    """The message for a person: the headline, then the details."""
    incident = notification.incident
    lines = [headline(notification)]
    if notification.phase != "test":
        lines.append(incident.summary)
        if incident.reason and notification.phase != "recovered":
            lines.append(f"Reason: {incident.reason}")
        lines.append(f"Open since {incident.opened_at}; {_count(incident)}.")
        if notification.phase == "recovered":
            lines.append(f"Recovered at {incident.closed_at or notification.at}.")
    return "\n".join(line for line in lines if line)


def webhook_body(notification: Notification, delivery_id: str, node: str) -> bytes:
    """The JSON body of a webhook delivery."""
    body: dict[str, Any] = {
        "event": notification.event,
        "delivery_id": delivery_id,
        "at": notification.at,
        "node": node,
        "text": text_of(notification),
        "incident": notification.incident.to_json(),
    }
    return orjson.dumps(body)


def slack_body(notification: Notification) -> bytes:
    """A Slack incoming-webhook body."""
    return orjson.dumps({"text": text_of(notification)})


def email_message(notification: Notification, sender: str, recipients: list[str]) -> EmailMessage:
    """A plain-text email of the notification."""
    message = EmailMessage()
    # One line whatever a task name holds: a header cannot carry a line break.
    message["Subject"] = " ".join(f"[rookdb] {headline(notification)}".split())
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    if notification.at:
        message["Date"] = format_datetime(parse_time(notification.at))
    message["Message-ID"] = make_msgid(domain="rookdb")
    message.set_content(text_of(notification) + "\n")
    return message


def _count(incident: Incident) -> str:
    if incident.occurrences <= 1:
        return "seen once"
    return f"seen {incident.occurrences} times"
