"""Channels against real receivers: a signed webhook, Slack's format, SMTP (STARTTLS or not).

Faults as a user meets them: a receiver that answers 500 (retried with
backoff), 410 (the channel is turned off with a note), hangs (a timeout), an
SMTP server that refuses the login (a clear error on Send test). Secrets are
sealed in the store and never shown.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import rookdb
from alerts_receivers import SmtpServer, WebhookReceiver, free_port, self_signed
from rookdb import Instance
from rookdb.alerts import Alerts
from rookdb.alerts.channels import MASK
from rookdb.alerts.incidents import Incident, Notification, Phase
from rookdb.alerts.monitor import delivery_id
from rookdb.alerts.outbox import Delivery
from rookdb.alerts.store import CHANNELS
from rookdb.cli.main import run
from rookdb.errors import AlertDeliveryFailed, InvalidInput, MasterKeyError
from rookdb.tasks import ManualClock
from rookdb.tasks.clock import format_time

SECRET = "hook-signing-key-42"
PASSWORD = "smtp-pa55word"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock("2026-11-22T10:00:00Z")


@pytest.fixture
def alerts(instance: Instance, clock: ManualClock) -> Alerts:
    return Alerts(instance.system, instance.secrets, clock=clock, node="A")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(secret=SECRET).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


def queue(alerts: Alerts, channel_id: str, clock: ManualClock, phase: Phase = "opened") -> None:
    """Put one notification on the outbox for a channel, as the monitor would."""
    at = format_time(clock.now()) or ""
    incident = Incident(
        id="i-1", key="shop/t-1/backup-failed", kind="backup-failed", database="shop",
        task_id="t-1", task_name="Nightly", summary="Backup of Nightly (shop) failed",
        opened_at=at, last_seen_at=at, notified_at=at, reason="disk on fire",
    )  # fmt: skip
    note = Notification(phase, incident, at)
    delivery = Delivery(delivery_id(at), channel_id, note, at, at)
    alerts.store.system.commit([alerts.outbox.enqueue(delivery)])


def webhook(alerts: Alerts, url: str, **extra: Any) -> str:
    body = {"kind": "webhook", "name": "ops hook", "url": url, "secret": SECRET, **extra}
    return str(alerts.add_channel(body)["id"])


# -- webhook ------------------------------------------------------------------------------
def test_send_test_reaches_the_receiver_signed(alerts: Alerts, receiver: WebhookReceiver) -> None:
    channel = webhook(alerts, receiver.url)
    record = alerts.send_test(channel)
    assert record.outcome == "delivered" and record.event == "test"
    [post] = receiver.received
    assert post.signature_ok is True
    assert post.headers["X-Rookdb-Signature"].startswith("sha256=")
    assert post.json()["event"] == "test"
    assert alerts.deliveries()[0].event == "test"


def test_a_wrong_secret_does_not_verify(alerts: Alerts) -> None:
    other = WebhookReceiver(secret="not-the-key").start()
    try:
        alerts.send_test(webhook(alerts, other.url))
        assert [r.signature_ok for r in other.received] == [False]
    finally:
        other.stop()


def test_a_500_is_retried_with_backoff_until_it_is_delivered(
    alerts: Alerts, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    channel = webhook(alerts, receiver.url)
    receiver.answers = [500, 503]
    queue(alerts, channel, clock)
    assert alerts.deliver_due() == []  # failed once: waits 10 s
    [waiting] = alerts.pending()
    assert waiting.attempts == 1 and "500" in (waiting.last_error or "")
    assert alerts.deliver_due() == []  # not due yet: nothing sent
    assert len(receiver.received) == 1
    clock.advance(seconds=10)
    assert alerts.deliver_due() == []  # 503: now waits 60 s
    clock.advance(seconds=59)
    assert alerts.deliver_due() == [] and len(receiver.received) == 2
    clock.advance(seconds=1)
    [done] = alerts.deliver_due()
    assert done.outcome == "delivered" and done.attempts == 3
    assert alerts.pending() == []
    assert all(r.signature_ok for r in receiver.received)
    assert alerts.counts().deliveries == {
        (channel, "ops hook"): {"delivered": 1, "failed": 0, "retried": 2}
    }


def test_a_channel_gets_its_notifications_in_order_even_across_a_retry(
    alerts: Alerts, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    channel = webhook(alerts, receiver.url)
    queue(alerts, channel, clock, "opened")
    queue(alerts, channel, clock, "recovered")  # the same second: order still kept
    receiver.answers = [500]
    assert alerts.deliver_due() == []
    assert len(receiver.received) == 1  # "recovered" waits behind the "opened" to retry
    clock.advance(seconds=10)
    assert [d.event for d in alerts.deliver_due()] == ["incident.opened", "incident.recovered"]
    assert [r.json()["event"] for r in receiver.received] == [
        "incident.opened",
        "incident.opened",
        "incident.recovered",
    ]


def test_a_hanging_receiver_costs_one_timeout_per_round_and_other_channels_go_on(
    alerts: Alerts, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    other = WebhookReceiver(secret=SECRET).start()
    try:
        hanging = webhook(alerts, receiver.url, timeout_seconds=0.3)
        working = webhook(alerts, other.url)
        receiver.answers = ["hang"] * 3
        for _ in range(3):
            queue(alerts, hanging, clock)
            queue(alerts, working, clock)
        started = time.monotonic()
        delivered = alerts.deliver_due()
        assert time.monotonic() - started < 2.5  # one 0.3 s timeout, not three
        assert len(receiver.received) == 1
        assert [d.channel_id for d in delivered] == [working] * 3
        assert len(other.received) == 3
    finally:
        other.stop()


def test_a_receiver_failing_for_good_is_given_up_with_the_reason_in_the_history(
    alerts: Alerts, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    channel = webhook(alerts, receiver.url)
    receiver.answers = [500] * 10
    queue(alerts, channel, clock)
    ended = []
    for _ in range(10):
        ended += alerts.deliver_due()
        clock.advance(hours=2)
    [record] = ended
    assert record.outcome == "failed" and record.attempts == 6
    assert "answered 500" in (record.error or "") and "gave up after 6 attempts" in (
        record.error or ""
    )
    assert alerts.deliveries() == [record]


def test_a_410_turns_the_channel_off_with_a_note(
    alerts: Alerts, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    channel = webhook(alerts, receiver.url)
    receiver.answers = [410]
    queue(alerts, channel, clock)
    [record] = alerts.deliver_due()
    assert record.outcome == "failed" and "410" in (record.error or "")
    shown = alerts.channel(channel)
    assert shown["enabled"] is False
    assert (
        "410" in shown["disabled_reason"] and "enable the channel again" in shown["disabled_reason"]
    )
    # Nothing more is sent to it until someone enables it again.
    queue(alerts, channel, clock)
    [skipped] = alerts.deliver_due()
    assert skipped.outcome == "failed" and "not sent" in (skipped.error or "")
    assert len(receiver.received) == 1
    assert alerts.set_enabled(channel, True)["disabled_reason"] is None


def test_a_receiver_that_hangs_times_out_and_is_retried(
    alerts: Alerts, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    channel = webhook(alerts, receiver.url, timeout_seconds=0.5)
    receiver.answers = ["hang"]
    with pytest.raises(AlertDeliveryFailed, match=r"did not answer within 0\.5 s") as caught:
        alerts.send_test(channel)
    assert caught.value.retryable
    queue(alerts, channel, clock)
    receiver.answers = ["hang"]
    assert alerts.deliver_due() == []
    [waiting] = alerts.pending()
    assert "did not answer within 0.5 s" in (waiting.last_error or "")


def test_a_refused_connection_is_a_clear_error(alerts: Alerts) -> None:
    channel = webhook(alerts, f"http://127.0.0.1:{free_port()}/hook")
    with pytest.raises(AlertDeliveryFailed, match="cannot reach the receiver"):
        alerts.send_test(channel)
    [record] = alerts.deliveries()
    assert record.outcome == "failed" and "cannot reach" in (record.error or "")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "webhook", "name": "x", "url": "ftp://example.com/hook"}, "url"),
        ({"kind": "webhook", "name": "x", "url": "file:///etc/passwd"}, "url"),
        ({"kind": "webhook", "name": "x", "url": "http://"}, "url"),
        ({"kind": "webhook", "name": "x"}, "url"),
        ({"kind": "webhook", "name": "x", "url": "http://h/", "colour": "red"}, "colour"),
        ({"kind": "pager", "name": "x"}, "kind"),
        ({"kind": "slack", "name": "x", "url": "javascript:alert(1)"}, "url"),
        ({"kind": "webhook", "name": "", "url": "http://h/"}, "name"),
        ({"kind": "webhook", "name": "a\nb", "url": "http://h/"}, "name"),
        ({"kind": "webhook", "name": "x", "url": "http://h/", "tasks": ["nope"]}, "tasks"),
        ({"kind": "webhook", "name": "x", "url": "http://h/", "timeout_seconds": 0},
         "timeout_seconds"),
        ({"kind": "email", "name": "x", "host": "h", "sender": "a@b", "recipients": []},
         "recipients"),
        ({"kind": "email", "name": "x", "host": "h", "sender": "a@b\nBcc: x@y",
          "recipients": ["c@d"]}, "sender"),
        ({"kind": "email", "name": "x", "host": "h", "sender": "a@b", "recipients": ["c@d"],
          "security": "none", "username": "u", "password": "p"}, None),
    ],
)  # fmt: skip
def test_bad_channels_are_refused_naming_the_field(
    alerts: Alerts, body: dict[str, Any], field: str | None
) -> None:
    with pytest.raises(InvalidInput) as caught:
        alerts.add_channel(body)
    assert caught.value.field == field
    assert "javascript" not in caught.value.message
    assert alerts.channels() == []


# -- Slack ----------------------------------------------------------------------------------
def test_slack_gets_its_text_format_and_its_url_is_a_secret(
    alerts: Alerts, receiver: WebhookReceiver, clock: ManualClock
) -> None:
    shown = alerts.add_channel({"kind": "slack", "name": "chat", "url": receiver.url})
    assert shown["url"] == MASK and receiver.url not in str(shown)
    queue(alerts, shown["id"], clock)
    [record] = alerts.deliver_due()
    assert record.outcome == "delivered"
    [post] = receiver.received
    assert set(post.json()) == {"text"}
    assert post.json()["text"].startswith("Backup failed — Nightly (shop)")
    assert "disk on fire" in post.json()["text"]
    assert post.signature_ok is None


def test_the_slack_url_never_reaches_a_log_record(
    alerts: Alerts, receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = receiver.url + "/T000/B000/secret-part"
    shown = alerts.add_channel({"kind": "slack", "name": "chat", "url": url})
    alerts.send_test(shown["id"])
    receiver.answers = [500]
    with pytest.raises(AlertDeliveryFailed) as caught:
        alerts.send_test(shown["id"])
    assert "secret-part" not in caught.value.message
    records = [f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records]
    assert not [r for r in records if "secret-part" in r]
    assert "secret-part" not in str(alerts.deliveries()[0].to_json())


def test_a_redirect_is_not_followed(alerts: Alerts, receiver: WebhookReceiver) -> None:
    channel = webhook(alerts, receiver.url)
    receiver.answers = [307]
    with pytest.raises(AlertDeliveryFailed, match="answered 307") as caught:
        alerts.send_test(channel)
    assert not caught.value.retryable
    assert len(receiver.received) == 1


# -- secrets --------------------------------------------------------------------------------
def test_secrets_are_sealed_in_the_store_and_masks_keep_them(
    alerts: Alerts, instance: Instance, receiver: WebhookReceiver
) -> None:
    shown = alerts.add_channel(
        {"kind": "webhook", "name": "ops", "url": receiver.url, "secret": SECRET}
    )
    assert shown["secret"] == MASK
    stored = instance.system.get(CHANNELS, shown["id"])
    assert stored is not None and SECRET not in str(stored.value)
    # Sent back masked: the stored secret is kept, and still signs.
    alerts.update_channel(shown["id"], {**shown, "name": "renamed"})
    alerts.send_test(shown["id"])
    assert receiver.received[-1].signature_ok is True
    # A mask cannot follow the channel to another URL.
    with pytest.raises(InvalidInput, match="url changed; enter the secret again"):
        alerts.update_channel(shown["id"], {**shown, "url": "http://127.0.0.1:9/elsewhere"})


def test_rotating_the_master_key_reseals_channel_secrets(
    tmp_path: Path, receiver: WebhookReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    with rookdb.open(data) as instance:
        channel = webhook(Alerts(instance.system, instance.secrets), receiver.url)
    old_key = (data / "master.key").read_text()
    assert run(["--data-dir", str(data), "keys", "rotate-master"]) == 0
    assert "1 stored secrets sealed again" in capsys.readouterr().out
    with rookdb.open(data) as instance:
        Alerts(instance.system, instance.secrets).send_test(channel)
    assert receiver.received[-1].signature_ok is True
    (data / "master.key").write_text(old_key)  # the old key opens nothing any more
    with rookdb.open(data) as instance, pytest.raises(MasterKeyError):
        Alerts(instance.system, instance.secrets).send_test(channel)


# -- email ------------------------------------------------------------------------------------
def email(alerts: Alerts, port: int, **extra: Any) -> str:
    body = {
        "kind": "email", "name": "mail", "host": "127.0.0.1", "port": port,
        "sender": "rookdb@example.com", "recipients": ["ops@example.com", "dba@example.com"],
        **extra,
    }  # fmt: skip
    return str(alerts.add_channel(body)["id"])


def test_email_without_starttls_to_a_local_relay(alerts: Alerts, clock: ManualClock) -> None:
    server = SmtpServer.start()
    try:
        channel = email(alerts, server.port, security="none")
        queue(alerts, channel, clock)
        [record] = alerts.deliver_due()
        assert record.outcome == "delivered", record.error
        [message] = server.inbox.messages
        assert message["Subject"] == "[rookdb] Backup failed — Nightly (shop)"
        assert message["To"] == "ops@example.com, dba@example.com"
        assert "Reason: disk on fire" in message.get_content()
        assert server.inbox.envelopes == [
            ("rookdb@example.com", ["ops@example.com", "dba@example.com"])
        ]
    finally:
        server.stop()


def test_email_with_starttls_and_login(
    alerts: Alerts, instance: Instance, cert: tuple[Path, Path]
) -> None:
    server = SmtpServer.start(cert=cert, login=("alerts", PASSWORD))
    try:
        channel = email(
            alerts, server.port, username="alerts", password=PASSWORD, ca_file=str(cert[0])
        )
        assert alerts.channel(channel)["password"] == MASK
        stored = instance.system.get(CHANNELS, channel)
        assert stored is not None and PASSWORD not in str(stored.value)
        assert alerts.send_test(channel).outcome == "delivered"
        [message] = server.inbox.messages
        assert "test" in message["Subject"].lower()
    finally:
        server.stop()


def test_email_over_tls_from_the_first_byte(alerts: Alerts, cert: tuple[Path, Path]) -> None:
    server = SmtpServer.start(cert=cert, login=("alerts", PASSWORD), implicit_tls=True)
    try:
        channel = email(alerts, server.port, security="tls", username="alerts",
                        password=PASSWORD, ca_file=str(cert[0]))  # fmt: skip
        assert alerts.send_test(channel).outcome == "delivered"
        assert len(server.inbox.messages) == 1
        # The same server spoken to in clear (STARTTLS expected) is a clear failure.
        plain = email(alerts, server.port, username="alerts", password=PASSWORD,
                      ca_file=str(cert[0]), timeout_seconds=0.5)  # fmt: skip
        with pytest.raises(AlertDeliveryFailed, match=r"did not answer within 0\.5 s.*'tls'"):
            alerts.send_test(plain)
    finally:
        server.stop()


def test_a_refused_login_is_a_clear_error_on_send_test(
    alerts: Alerts, cert: tuple[Path, Path]
) -> None:
    server = SmtpServer.start(cert=cert, login=("alerts", PASSWORD))
    try:
        channel = email(
            alerts, server.port, username="alerts", password="wrong", ca_file=str(cert[0])
        )
        with pytest.raises(AlertDeliveryFailed) as caught:
            alerts.send_test(channel)
        message = caught.value.message
        assert "refused the login of 'alerts'" in message and "535" in message
        assert "wrong" not in message and not caught.value.retryable
        assert server.inbox.messages == []
    finally:
        server.stop()


def test_starttls_with_an_untrusted_certificate_is_refused(
    alerts: Alerts, cert: tuple[Path, Path]
) -> None:
    server = SmtpServer.start(cert=cert)
    try:
        channel = email(alerts, server.port)  # no ca_file: the self-signed cert is not trusted
        with pytest.raises(AlertDeliveryFailed, match="does not verify"):
            alerts.send_test(channel)
        assert server.inbox.messages == []
    finally:
        server.stop()


def test_a_server_without_starttls_is_named(alerts: Alerts) -> None:
    server = SmtpServer.start()
    try:
        with pytest.raises(AlertDeliveryFailed, match="does not offer STARTTLS"):
            alerts.send_test(email(alerts, server.port))
    finally:
        server.stop()
