"""Sending one notification to one channel; third-party errors become AlertDeliveryFailed here.

Retryable (AlertReceiverUnavailable): no connection, a timeout, 408, 429, 5xx,
SMTP 4xx. Permanent (AlertDeliveryFailed): any other 4xx, a refused login, a
certificate that does not verify. AlertChannelGone: the receiver answered 410.
"""

from __future__ import annotations

import http.client
import smtplib
import ssl
import urllib.error
import urllib.request
from typing import Any

from rookdb.alerts import messages
from rookdb.alerts.channels import Channel, EmailChannel, SlackChannel, WebhookChannel
from rookdb.alerts.incidents import Notification
from rookdb.errors import AlertChannelGone, AlertDeliveryFailed, AlertReceiverUnavailable

_RETRY_STATUSES = (408, 425, 429)
_MAX_ANSWER = 64 * 1024  # what is read of a receiver's answer (nothing of it is used)


def send(channel: Channel, notification: Notification, delivery_id: str, node: str) -> None:
    """Deliver a notification to a channel, or raise why not."""
    if isinstance(channel, WebhookChannel):
        body = messages.webhook_body(notification, delivery_id, node)
        headers = {
            "content-type": "application/json",
            "user-agent": "rookdb-alerts",
            messages.EVENT_HEADER: notification.event,
            messages.DELIVERY_HEADER: delivery_id,
        }
        if channel.secret is not None:
            headers[messages.SIGNATURE_HEADER] = messages.sign(
                channel.secret.get_secret_value(), body
            )
        _post(channel.url, channel.target(), body, headers, channel.timeout_seconds)
    elif isinstance(channel, SlackChannel):
        headers = {"content-type": "application/json", "user-agent": "rookdb-alerts"}
        body = messages.slack_body(notification)
        _post(
            channel.url.get_secret_value(), channel.target(), body, headers, channel.timeout_seconds
        )
    elif isinstance(channel, EmailChannel):
        message = messages.email_message(notification, channel.sender, channel.recipients)
        _send_mail(channel, message)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx is the receiver's answer, not an invitation to send the alert elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


# The stdlib client, not httpx: httpx logs every request's URL, and a Slack URL is a secret.
_OPENER = urllib.request.build_opener(_NoRedirects())


def _post(url: str, shown: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
    # `shown` names the receiver in errors: a Slack URL is a secret and is never echoed.
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(_MAX_ANSWER)
            return
    except urllib.error.HTTPError as exc:
        status, reason = exc.code, exc.reason
        exc.close()
    except TimeoutError as exc:
        raise _timed_out(shown, timeout) from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise _timed_out(shown, timeout) from exc
        why = getattr(exc.reason, "strerror", None) or str(exc.reason)
        raise AlertReceiverUnavailable(f"cannot reach the receiver {shown}: {why}") from exc
    except (OSError, http.client.HTTPException) as exc:
        why = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise AlertReceiverUnavailable(f"cannot reach the receiver {shown}: {why}") from exc
    except ValueError:
        # urllib's text would quote the URL, and a Slack URL is a secret.
        raise AlertDeliveryFailed(f"the URL of the receiver {shown} cannot be used") from None
    answered = f"the receiver {shown} answered {status} {reason}".rstrip()
    if status == 410:
        raise AlertChannelGone(answered)
    if status >= 500 or status in _RETRY_STATUSES:
        raise AlertReceiverUnavailable(answered)
    raise AlertDeliveryFailed(answered)


def _timed_out(shown: str, timeout: float) -> AlertReceiverUnavailable:
    return AlertReceiverUnavailable(f"the receiver {shown} did not answer within {timeout:g} s")


def _send_mail(channel: EmailChannel, message: object) -> None:
    where = f"the SMTP server {channel.host}:{channel.port}"
    try:
        context = ssl.create_default_context(cafile=channel.ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise AlertDeliveryFailed(f"cannot use the CA file {channel.ca_file}: {exc}") from exc
    timeout = channel.timeout_seconds
    try:
        client: smtplib.SMTP
        if channel.security == "tls":
            client = smtplib.SMTP_SSL(channel.host, channel.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(channel.host, channel.port, timeout=timeout)
        with client:
            if channel.security == "starttls":
                client.starttls(context=context)
            if channel.username and channel.password is not None:
                client.login(channel.username, channel.password.get_secret_value())
            client.send_message(message)  # type: ignore[arg-type]
    except smtplib.SMTPAuthenticationError as exc:
        raise AlertDeliveryFailed(
            f"{where} refused the login of {channel.username!r}: {_reply(exc)}; "
            "check the username and password"
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        if channel.security == "starttls" and not client.has_extn("starttls"):
            missing = "STARTTLS: choose security 'tls' (port 465) or 'none' to match it"
        else:
            missing = "a login (AUTH): leave username and password out"
        raise AlertDeliveryFailed(f"{where} does not offer {missing}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(sorted(exc.recipients))
        raise AlertDeliveryFailed(f"{where} refused the recipients {refused}") from exc
    except smtplib.SMTPResponseException as exc:
        text = f"{where} answered {_reply(exc)}"
        if 400 <= exc.smtp_code < 500:
            raise AlertReceiverUnavailable(text) from exc
        raise AlertDeliveryFailed(text) from exc
    except ssl.SSLCertVerificationError as exc:
        raise AlertDeliveryFailed(
            f"{where}: its TLS certificate does not verify ({exc.verify_message}); "
            "give the CA that signed it as ca_file"
        ) from exc
    except TimeoutError as exc:
        raise AlertReceiverUnavailable(f"{where} did not answer within {timeout:g} s") from exc
    except smtplib.SMTPServerDisconnected as exc:
        # smtplib words a read timeout as a disconnection: say what happened.
        if "timed out" in str(exc):
            raise AlertReceiverUnavailable(
                f"{where} did not answer within {timeout:g} s (is it TLS from the first byte? "
                "then choose security 'tls')"
            ) from exc
        raise AlertReceiverUnavailable(f"cannot reach {where}: {exc}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise AlertReceiverUnavailable(f"cannot reach {where}: {reason}") from exc


def _reply(exc: smtplib.SMTPResponseException) -> str:
    raw = exc.smtp_error
    message = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    return f"{exc.smtp_code} {' '.join(message.split())}"
