"""The notification center in a real browser: a real failure in `rookdb serve`, the header's
badge, the incident with its reason, Send test reaching a real receiver, Dismiss."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from alerts_receivers import WebhookReceiver, wait_for
from rookdb.alerts.service import INTERVAL_ENV

from .harness import StudioServer, screenshot, start_server, stop_server

SECRET = "studio-hook-key"


@pytest.fixture
def alerting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StudioServer]:
    """`rookdb serve` whose alert thread looks every 0.2 s (instead of every 10 s)."""
    monkeypatch.setenv(INTERVAL_ENV, "0.2")
    server = start_server(tmp_path / "data")
    yield server
    stop_server(server)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(secret=SECRET).start()
    yield server
    server.stop()


def test_the_notification_center_shows_badges_incidents_send_test_and_dismiss(
    page: Page, alerting: StudioServer, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the backup folder's parent should be")
    with httpx.Client(base_url=alerting.url, timeout=30) as http:
        http.post("/databases", json={"name": "shop"}).raise_for_status()
        http.put("/databases/shop/docs/users/1", json={"name": "Ann"}).raise_for_status()
        http.post(
            "/alerts/channels",
            json={"kind": "webhook", "name": "ops hook", "url": receiver.url, "secret": SECRET},
        ).raise_for_status()
        task = http.post(
            "/databases/shop/tasks/backups",
            json={"name": "Nightly", "full_backup_cron": "0 2 * * *",
                  "destinations": [{"kind": "local", "path": str(blocker / "backups")}]},
        ).json()  # fmt: skip

        page.goto(alerting.page_url("/studio/"))
        alerts_link = page.locator("a[data-alerts]")
        expect(alerts_link).to_have_text("Alerts")  # nothing open: no badge

        http.post(f"/databases/shop/tasks/backups/{task['id']}/backup-now").raise_for_status()
        wait_for(lambda: http.get("/alerts/incidents").json()["incidents"], "the incident")

    page.reload()
    expect(alerts_link.locator(".alert-count")).to_have_text("1")
    alerts_link.click()
    expect(page).to_have_url(alerting.page_url("/studio/alerts"))
    incident = page.get_by_role("list", name="Open incidents").get_by_role("listitem")
    expect(incident).to_have_count(1)
    expect(incident).to_contain_text("Backup failed")
    expect(incident).to_contain_text("Nightly")
    expect(incident).to_contain_text("not a writable folder")
    screenshot(page, "alerts")

    # The webhook got the opening alert, signed.
    first = wait_for(lambda: receiver.received, "the webhook delivery")[0]
    assert first.json()["event"] == "incident.opened" and first.signature_ok is True
    expect(page.get_by_role("table", name="Alert channels")).to_contain_text("ops hook")

    page.get_by_role("button", name="Send test").click()
    expect(page.get_by_role("status")).to_contain_text("Test notification delivered to ops hook")
    assert receiver.received[-1].json()["event"] == "test"
    assert receiver.received[-1].signature_ok is True

    receiver.answers = [500]
    page.get_by_role("button", name="Send test").click()
    expect(page.get_by_role("alert")).to_contain_text("Send test failed")
    expect(page.get_by_role("alert")).to_contain_text("answered 500")
    expect(page.get_by_role("table", name="Deliveries")).to_contain_text("Not delivered")

    page.goto(alerting.page_url("/studio/alerts"))
    page.get_by_role("button", name="Dismiss").click()
    expect(page.get_by_role("status")).to_contain_text("Dismissed: Backup of Nightly (shop) failed")
    expect(page.get_by_text("All quiet")).to_be_visible()
    expect(page.get_by_role("list", name="Dismissed incidents")).to_contain_text("Nightly")
    expect(page.locator("a[data-alerts] .alert-count")).to_have_count(0)


def test_channels_are_added_tested_turned_off_and_removed_in_the_studio(
    page: Page, alerting: StudioServer, receiver: WebhookReceiver
) -> None:
    page.goto(alerting.page_url("/studio/alerts"))
    page.get_by_text("Add a channel").click()
    form = page.get_by_role("form", name="Add a channel")
    form.get_by_label("Name", exact=True).fill("ops hook")
    form.get_by_label("URL", exact=True).fill("ftp://example.com/hook")
    form.get_by_label("Signing secret").fill(SECRET)
    form.get_by_role("button", name="Add channel").click()
    expect(page.locator("#channel-form-error")).to_contain_text(
        "field 'url': must be an http:// or https:// URL"
    )
    # What was typed stays, the secret excepted.
    form = page.get_by_role("form", name="Add a channel")
    expect(form.get_by_label("Name", exact=True)).to_have_value("ops hook")
    expect(form.get_by_label("Signing secret")).to_have_value("")

    form.get_by_label("URL", exact=True).fill(receiver.url)
    form.get_by_label("Signing secret").fill(SECRET)
    form.get_by_role("button", name="Add channel").click()
    expect(page.get_by_role("status")).to_contain_text("Added the webhook channel ops hook")
    channels = page.get_by_role("table", name="Alert channels")
    expect(channels).to_contain_text(receiver.url)
    assert SECRET not in page.content()

    page.get_by_role("button", name="Send test").click()
    expect(page.get_by_role("status")).to_contain_text("Test notification delivered to ops hook")
    assert receiver.received[-1].signature_ok is True  # signed with the secret typed above

    page.get_by_role("button", name="Disable").click()
    expect(page.get_by_role("status")).to_contain_text("Disabled the channel ops hook")
    expect(channels).to_contain_text("Off")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_role("status")).to_contain_text("Removed the channel ops hook")
    expect(page.get_by_role("table", name="Alert channels")).to_have_count(0)
