"""Studio pages beyond the main flow: confirmations, errors, editing tasks, S3, narrow windows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from playwright.sync_api import Page, expect

from .harness import StudioServer, screenshot

KEYS = {"access_key_id": "studio-test-key", "secret_access_key": "studio-test-secret"}


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    """A moto S3 server on loopback with the bucket 'studio'; yields its endpoint URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEYS["access_key_id"],
        aws_secret_access_key=KEYS["secret_access_key"],
    ).create_bucket(Bucket="studio")
    yield endpoint
    server.stop()


def create_database(page: Page, studio: StudioServer, name: str, documents: int = 0) -> None:
    page.goto(studio.url)
    page.get_by_label("New database").fill(name)
    page.get_by_role("button", name="Create database").click()
    expect(page.get_by_role("status")).to_contain_text(f"Database {name} created")
    with httpx.Client(base_url=studio.url, timeout=10) as http:
        for n in range(1, documents + 1):
            body = {"n": n, "@metadata": {"@collection": "Items"}}
            http.put(f"/databases/{name}/docs/items/{n}", json=body).raise_for_status()


def test_delete_a_database_only_after_typing_its_name(page: Page, studio: StudioServer) -> None:
    create_database(page, studio, "scratch", documents=2)
    page.goto(studio.url)
    page.locator("tr[data-database=scratch]").get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", name="Delete database scratch?")).to_be_visible()
    expect(page.get_by_text("2 documents")).to_be_visible()

    page.get_by_label("Type scratch to confirm").fill("scratc")
    page.get_by_role("button", name="Delete database").click()
    expect(page.locator("#confirm-error")).to_have_text("Type scratch to confirm.")

    page.get_by_label("Type scratch to confirm").fill("scratch")
    page.get_by_role("button", name="Delete database").click()
    expect(page.get_by_role("status")).to_contain_text("Database scratch deleted")
    expect(page.locator("tr[data-database=scratch]")).to_have_count(0)


def test_errors_are_plain_words_not_tracebacks(page: Page, studio: StudioServer) -> None:
    response = page.goto(studio.page_url("/studio/databases/atlantis"))
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_text("database 'atlantis' does not exist")).to_be_visible()

    page.goto(studio.url)
    page.get_by_label("New database").fill("no spaces please")
    page.get_by_role("button", name="Create database").click()
    expect(page.locator("#name-error")).to_contain_text("is not allowed")
    expect(page.get_by_label("New database")).to_have_value("no spaces please")


def test_keyboard_reaches_the_main_actions(page: Page, studio: StudioServer) -> None:
    page.goto(studio.url)
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    # From the main content, the first field is one Tab away and Enter submits it.
    for _ in range(3):
        page.keyboard.press("Tab")
        if page.get_by_label("New database").evaluate("el => el === document.activeElement"):
            break
    expect(page.get_by_label("New database")).to_be_focused()
    shadow = page.get_by_label("New database").evaluate("el => getComputedStyle(el).boxShadow")
    assert shadow != "none", "a focused field must show a focus ring"
    page.keyboard.type("keyboard")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Database keyboard created")


def test_s3_task_secrets_edit_disable_and_restore_from_url(
    page: Page, studio: StudioServer, s3: str
) -> None:
    create_database(page, studio, "inventory", documents=5)
    page.goto(studio.page_url("/studio/databases/inventory/tasks/new"))
    page.get_by_label("Full backup", exact=True).fill("0 3 * * *")
    page.get_by_label("Incremental backup").fill("")
    page.get_by_role("button", name="Remove").click()

    page.get_by_label("Add a destination").select_option("s3")
    page.get_by_role("button", name="Add destination").click()
    box = page.get_by_role("group", name="Amazon S3")
    box.get_by_label("Bucket").fill("studio")
    box.get_by_label("Prefix").fill("nightly")
    box.get_by_label("Access key id").fill(KEYS["access_key_id"])
    box.get_by_label("Secret access key").fill("wrong-secret")
    box.get_by_label("Region").fill("us-east-1")
    # Test connection says which step failed, in words.
    box.get_by_label("Endpoint URL").fill("http://127.0.0.1:9")
    box.get_by_role("button", name="Test connection").click()
    expect(box.locator(".test-result")).to_contain_text("✗")
    box.get_by_label("Endpoint URL").fill(s3)
    box.get_by_label("Secret access key").fill(KEYS["secret_access_key"])
    box.get_by_role("button", name="Test connection").click()
    expect(box.locator(".test-result")).to_contain_text("✓ S3 (studio/nightly)")
    expect(page.locator("#name")).to_have_attribute("placeholder", "Backup to S3 (studio)")
    screenshot(page, "task-form")
    page.get_by_role("button", name="Create task").click()
    expect(page.get_by_role("status").first).to_contain_text("Created Backup to S3 (studio)")
    card = page.locator("article.card", has_text="Backup to S3 (studio)")
    task_id = card.get_attribute("data-task-id")

    # Editing: secrets are never sent back to the browser, and blank keeps them.
    card.get_by_role("link", name="Edit").click()
    box = page.get_by_role("group", name="Amazon S3")
    expect(box.get_by_label("Bucket")).to_have_value("studio")
    expect(box.get_by_label("Secret access key")).to_have_value("")
    assert KEYS["secret_access_key"] not in page.content()
    page.locator("#name").fill("Inventory to S3")
    page.get_by_label("Keep the last N chains").fill("3")
    page.get_by_role("button", name="Save changes").click()
    expect(page.get_by_role("status").first).to_contain_text("Saved Inventory to S3")
    card = page.locator("article.card", has_text="Inventory to S3")
    expect(card.get_by_text("Overdue")).to_be_hidden()

    # Disabled: the card says so and Backup now waits for Enable.
    card.get_by_role("button", name="Disable").click()
    card = page.locator("article.card", has_text="Inventory to S3")
    expect(card.locator("[data-field=state]")).to_have_text("Disabled")
    expect(card.get_by_role("button", name="Backup now")).to_be_disabled()
    card.get_by_role("button", name="Enable").click()
    card = page.locator("article.card", has_text="Inventory to S3")
    expect(card.locator("[data-field=state]")).to_have_text("Active")

    # The kept secret still works: a full backup goes to S3.
    card.get_by_role("button", name="Backup now").click()
    card = page.locator("article.card", has_text="Inventory to S3")
    expect(card.locator("[data-field=last_full_backup] time")).to_be_visible(timeout=30_000)
    expect(card.locator("[data-field=last_error]")).to_be_hidden()
    with httpx.Client(base_url=studio.url, timeout=10) as http:
        task = http.get(f"/databases/inventory/tasks/backups/{task_id}").json()
    assert task["retention"]["keep_full_chains"] == 3
    assert task["destinations"][0]["secret_access_key"] != KEYS["secret_access_key"]

    # A kept secret never follows a moved endpoint: test connection and save both refuse.
    page.goto(studio.page_url(f"/studio/databases/inventory/tasks/{task_id}/edit"))
    box = page.get_by_role("group", name="Amazon S3")
    box.get_by_label("Endpoint URL").fill("http://127.0.0.1:9")
    box.get_by_role("button", name="Test connection").click()
    expect(box.locator(".test-result")).to_contain_text("enter the secret again")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator("body")).to_contain_text("enter the secret again")
    with httpx.Client(base_url=studio.url, timeout=10) as http:
        kept = http.get(f"/databases/inventory/tasks/backups/{task_id}").json()
    assert kept["destinations"][0]["endpoint_url"] == s3

    # Restore from the bucket by URL; the credentials are typed once and stay on the server.
    page.get_by_role("link", name="Restore").click()
    page.get_by_label("Backup location").fill("s3://studio/nightly")
    page.get_by_text("Credentials for a URL").click()
    page.get_by_label("Access key id / account name / user").fill(KEYS["access_key_id"])
    page.get_by_label("Secret access key / account key / password").fill(KEYS["secret_access_key"])
    page.get_by_label("Endpoint URL").fill(s3)
    page.get_by_label("Region").fill("us-east-1")
    page.get_by_role("button", name="Show backups").click()
    timeline = page.get_by_role("list", name="Backups, oldest first")
    expect(timeline.get_by_role("radio")).to_have_count(1)
    assert KEYS["secret_access_key"] not in page.content()
    page.get_by_label("Name", exact=True).fill("inventory-from-s3")
    page.get_by_role("button", name="Restore").click()
    expect(page).to_have_url(re.compile(r"/studio/databases/inventory-from-s3"), timeout=30_000)
    expect(page.get_by_role("link", name="Items 5")).to_be_visible()

    # Delete asks first.
    page.goto(studio.page_url("/studio/databases/inventory/tasks"))
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("status")).to_contain_text("Deleted Inventory to S3")
    expect(page.get_by_text("No backup tasks yet")).to_be_visible()


@pytest.mark.parametrize("path", ["/studio/", "/studio/databases/inventory/tasks/new"])
def test_pages_fit_a_narrow_window(page: Page, studio: StudioServer, path: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(studio.page_url(path))
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 390px"
    if path == "/studio/":
        screenshot(page, "narrow-databases")


def test_local_destination_test_connection_reports_a_folder_it_cannot_use(
    page: Page, studio: StudioServer, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    page.goto(studio.page_url("/studio/databases/keyboard/tasks/new"))
    page.get_by_label("Folder", exact=True).fill(str(blocker / "backups"))
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator(".test-result")).to_contain_text("✗")
