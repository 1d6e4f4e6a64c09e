"""The Studio end to end in a real browser: documents, backup task, Backup Now, restore."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from .harness import StudioServer, screenshot


def test_create_database_and_documents_through_the_ui(page: Page, studio: StudioServer) -> None:
    page.goto(studio.url)
    expect(page.get_by_text("No databases yet")).to_be_visible()

    page.get_by_label("New database").fill("shop")
    page.get_by_role("button", name="Create database").click()
    expect(page.get_by_role("status")).to_contain_text("Database shop created")

    for number, name in enumerate(["Ann", "Bob", "Cid"], start=1):
        page.get_by_role("link", name="Documents", exact=True).click()
        page.get_by_role("link", name="New document").click()
        page.get_by_label("Id").fill(f"users/{number}")
        body = {"name": name, "age": 30 + number, "@metadata": {"@collection": "Users"}}
        page.get_by_label("JSON").fill(json.dumps(body))
        page.get_by_role("button", name="Save document").click()
        expect(page.get_by_role("status")).to_contain_text(f"Saved users/{number}")
        expect(page.locator("pre.json")).to_contain_text(f'"name": "{name}"')

    # Bad JSON is refused next to the field, and the text typed is kept.
    page.goto(studio.page_url("/studio/databases/shop/documents/new"))
    page.get_by_label("Id").fill("orders/1")
    page.get_by_label("JSON").fill('{"total": 12,')
    page.get_by_role("button", name="Save document").click()
    expect(page.locator("#body-error")).to_contain_text("not valid JSON")
    expect(page.get_by_label("JSON")).to_have_value('{"total": 12,')
    page.get_by_label("JSON").fill('{"total": 12.5, "lines": [{"sku": "rook", "qty": 2}]}')
    page.get_by_role("button", name="Save document").click()
    expect(page.get_by_role("status")).to_contain_text("Saved orders/1")

    # An attachment added through the HTTP API shows on the document page as a download.
    with httpx.Client(base_url=studio.url, timeout=10) as http:
        http.put(
            "/databases/shop/attachments",
            params={"id": "users/1", "name": "photo.txt"},
            content=b"a small photo",
            headers={"Content-Type": "text/plain"},
        ).raise_for_status()
    page.goto(studio.page_url("/studio/databases/shop"))
    expect(page.get_by_role("link", name="Users 3")).to_be_visible()
    expect(page.get_by_role("link", name="Orders 1")).to_be_visible()
    screenshot(page, "documents")
    page.get_by_role("link", name="users/1", exact=True).click()
    link = page.get_by_role("link", name="photo.txt")
    with page.expect_download() as download:
        link.click()
    assert Path(download.value.path()).read_bytes() == b"a small photo"
    screenshot(page, "document")

    page.goto(studio.url)
    row = page.locator("tr[data-database=shop]")
    expect(row).to_contain_text("4")
    expect(row).to_contain_text("no backup yet")


@pytest.fixture(scope="module")
def backups(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The local destination folder of the task these tests create."""
    return tmp_path_factory.mktemp("destination") / "backups"


def test_backup_task_form_validation_and_backup_now(
    page: Page, studio: StudioServer, backups: Path
) -> None:
    page.goto(studio.page_url("/studio/databases/shop/tasks"))
    expect(page.get_by_text("No backup tasks yet")).to_be_visible()
    page.get_by_role("link", name="New backup task").first.click()

    # The cron fields read themselves aloud and list the next three runs.
    full = page.get_by_label("Full backup", exact=True)
    full.fill("30 1 * * 1-5")
    expect(page.locator("#full-preview")).to_contain_text("on Monday to Friday at 01:30")
    expect(page.locator("#full-preview li")).to_have_count(3)

    # A bad cron is refused by the server and the message sits next to that field.
    full.fill("0 25 * * *")
    page.get_by_label("Folder", exact=True).fill(str(backups))
    expect(page.locator("#name")).to_have_attribute("placeholder", f"Backup to Local ({backups})")
    page.get_by_role("button", name="Create task").click()
    expect(page.locator("#full_backup_cron-error")).to_contain_text("not a valid cron")
    expect(page.get_by_label("Full backup", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Folder", exact=True)).to_have_value(str(backups))
    screenshot(page, "task-form-error")

    page.get_by_label("Full backup", exact=True).fill("0 2 * * *")
    page.locator("#name").fill("Nightly to disk")
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator(".test-result")).to_contain_text("written, read back, deleted")
    page.get_by_role("button", name="Create task").click()
    expect(page.get_by_role("status").first).to_contain_text("Created Nightly to disk")

    card = page.locator("article.card", has_text="Nightly to disk")
    expect(card.locator("[data-field=state]")).to_have_text("Active")
    expect(card.locator("[data-field=last_full_backup]")).to_have_text("never")
    expect(card.locator("[data-field=next_backup]")).to_contain_text("full")
    expect(card.locator(".dest-list")).to_contain_text(f"Local ({backups})")

    card.get_by_label("Kind of backup").select_option("full")
    card.get_by_role("button", name="Backup now").click()
    card = page.locator("article.card", has_text="Nightly to disk")
    # The card polls the status while the run goes on; it ends with the time filled in.
    expect(card.locator("[data-field=last_full_backup] time")).to_be_visible(timeout=30_000)
    card.get_by_role("link", name="Refresh").click()
    expect(card.locator("[data-field=last_error]")).to_be_hidden()
    expect(card.locator("[data-field=overdue]")).to_be_hidden()
    assert list(backups.glob("*.rookdb-shop-*-backup/*.rookdb-full-backup"))

    # Times are shown in the browser's zone, with UTC on hover.
    shown = card.locator("[data-field=last_full_backup] time")
    assert "UTC" in (shown.get_attribute("title") or "")
    assert "UTC" not in shown.inner_text()
    screenshot(page, "tasks")

    card.get_by_role("link", name="History").click()
    run = page.locator("tbody tr").first
    expect(run).to_contain_text("full")
    expect(run).to_contain_text("Done")
    expect(run).to_contain_text("manual")
    expect(run).to_contain_text(f"done Local ({backups})")
    screenshot(page, "history")

    page.goto(studio.url)
    expect(page.locator("tr[data-database=shop]")).to_contain_text("full")
    screenshot(page, "databases")


def test_restore_a_point_in_time_into_a_new_database(
    page: Page, studio: StudioServer, backups: Path
) -> None:
    # A change after the full backup, carried by an incremental one.
    page.goto(studio.page_url("/studio/databases/shop/documents/new"))
    page.get_by_label("Id").fill("users/4")
    page.get_by_label("JSON").fill('{"name": "Dee", "@metadata": {"@collection": "Users"}}')
    page.get_by_role("button", name="Save document").click()
    page.goto(studio.page_url("/studio/databases/shop/tasks"))
    card = page.locator("article.card", has_text="Nightly to disk")
    card.get_by_label("Kind of backup").select_option("incremental")
    card.get_by_role("button", name="Backup now").click()
    card = page.locator("article.card", has_text="Nightly to disk")
    expect(card.locator("[data-field=last_incremental_backup] time")).to_be_visible(timeout=30_000)

    # Wrong places are explained next to the field.
    page.get_by_role("link", name="Restore").click()
    page.get_by_label("Backup location").fill(str(backups / "nothing-here"))
    page.get_by_role("button", name="Show backups").click()
    expect(page.locator("#source-error")).to_contain_text("does not exist")

    page.get_by_label("Backup location").fill(str(backups))
    page.get_by_role("button", name="Show backups").click()
    timeline = page.get_by_role("list", name="Backups, oldest first")
    points = timeline.get_by_role("radio")
    expect(points).to_have_count(2)
    expect(points.nth(1)).to_be_checked()  # the newest point is the default
    expect(timeline).to_contain_text("Full backup")
    expect(timeline).to_contain_text("Incremental")
    expect(page.get_by_label("Name", exact=True)).to_have_value("shop-restored")
    screenshot(page, "restore")

    # Restore the full backup only: users/4 came later and must not be there.
    points.nth(0).check()
    page.get_by_label("Name", exact=True).fill("shop-monday")
    page.get_by_role("button", name="Restore").click()
    expect(page).to_have_url(re.compile(r"/studio/databases/shop-monday"), timeout=30_000)
    expect(page.get_by_role("status")).to_contain_text("Restored into shop-monday")
    expect(page.get_by_role("link", name="Users 3")).to_be_visible()
    expect(page.get_by_role("link", name="users/4", exact=True)).to_have_count(0)

    page.get_by_role("link", name="users/1", exact=True).click()
    expect(page.locator("pre.json")).to_contain_text('"name": "Ann"')
    expect(page.get_by_role("link", name="photo.txt")).to_be_visible()

    # The newest point brings users/4 along.
    page.get_by_role("link", name="Restore").click()
    page.get_by_label("Backup location").fill(str(backups))
    page.get_by_role("button", name="Show backups").click()
    page.get_by_label("Name", exact=True).fill("shop-latest")
    page.get_by_role("button", name="Restore").click()
    expect(page).to_have_url(re.compile(r"/studio/databases/shop-latest"), timeout=30_000)
    expect(page.get_by_role("link", name="Users 4")).to_be_visible()
