"""Browse backup in a real browser: pick a point, find a document, compare, put documents back."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from explorer_chains import Chain, make_chain

from .harness import StudioServer, screenshot


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    return make_chain(tmp_path_factory.mktemp("browse"), count=120)


def test_browse_a_point_compare_and_restore_selected(
    page: Page, studio: StudioServer, chain: Chain, tmp_path: Path
) -> None:
    with httpx.Client(base_url=studio.url, timeout=10) as http:
        http.post("/databases", json={"name": "shop"}).raise_for_status()
        http.put("/databases/shop/docs/orders/7", json={"total": 7, "note": "live edit"})
        http.put("/databases/shop/docs/orders/104", json={"total": 104, "note": "live edit"})

    page.goto(studio.page_url("/studio/"))
    page.get_by_role("link", name="Browse backups").click()
    page.get_by_label("Backup location").fill(str(chain.folder))
    page.get_by_role("button", name="Show backups").click()
    # The point after the first incremental: orders/1041 was paid then, deleted later.
    page.get_by_role("link", name="Incremental").first.click()
    expect(page.get_by_test_id("point")).to_contain_text(chain.files[1])
    page.get_by_label("Id prefix").fill("orders/104")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name="orders/1041", exact=True).click()
    expect(page.get_by_test_id("backup-json")).to_contain_text('"status": "paid"')
    expect(page.get_by_test_id("no-live")).to_be_visible()
    # With 120 orders, orders/1041 first appears in that incremental.
    expect(page.get_by_test_id("history")).to_contain_text(f"{chain.files[1]}")
    expect(page.get_by_test_id("history")).to_contain_text("created")

    # orders/7 differs from the live one: the diff shows both sides.
    page.goto(page.url.replace("id=orders/1041", "id=orders/7"))
    expect(page.get_by_test_id("diff")).to_contain_text('"note": "live edit"')
    screenshot(page, "browse-backup-document")

    page.get_by_role("link", name="Documents at this point").click()
    page.get_by_label("Id prefix").fill("orders/104")
    page.get_by_role("button", name="Filter").click()
    page.get_by_label("Select orders/1041").check()
    page.get_by_label("Select orders/104", exact=True).check()
    page.get_by_label("When the live database has the document").select_option("skip")
    page.get_by_role("button", name="Restore selected…").click()
    dry_run = page.get_by_test_id("dry-run")
    expect(dry_run.get_by_role("row", name="orders/1041")).to_contain_text("create")
    expect(dry_run.get_by_role("row", name="orders/104 skip")).to_be_visible()
    expect(page.get_by_test_id("summary")).to_contain_text("would put back 1 document(s)")
    screenshot(page, "browse-backup-confirm")
    page.get_by_role("button", name="Confirm and restore").click()
    expect(page.get_by_role("status")).to_contain_text("put back 1 document(s) into shop")

    with httpx.Client(base_url=studio.url, timeout=10) as http:
        back = http.get("/databases/shop/docs/orders/1041")
        assert back.status_code == 200 and back.json()["status"] == "paid"
        live = http.get("/databases/shop/docs/orders/104").json()
        assert live["note"] == "live edit"  # kept: the conflict choice was to skip


def test_browse_from_a_backup_task(page: Page, studio: StudioServer, chain: Chain) -> None:
    task = {
        "name": "Nightly",
        "type": "backup",
        "full_backup_cron": "0 2 * * *",
        "destinations": [{"kind": "local", "path": str(chain.folder.parent)}],
    }
    with httpx.Client(base_url=studio.url, timeout=10) as http:
        if http.get("/databases/shop").status_code == 404:
            http.post("/databases", json={"name": "shop"}).raise_for_status()
        http.post("/databases/shop/tasks/backups", json=task).raise_for_status()
    page.goto(studio.page_url("/studio/databases/shop/tasks"))
    page.get_by_role("link", name="Browse backups").last.click()
    page.get_by_role("link", name="Full backup").click()
    expect(page.get_by_test_id("point")).to_contain_text(chain.files[0])
    expect(page.get_by_role("link", name="orders/0", exact=True)).to_be_visible()
