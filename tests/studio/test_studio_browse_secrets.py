"""Browse backups in a real browser where secrets are involved: an encrypted chain (the key is
posted, never in a URL, the page or the browser's storage) and a backup task whose destination
is S3 (its settings and keys stay on the server)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from explorer_chains import Chain, make_chain

from .harness import StudioServer, start_server, stop_server

KEY = "a long passphrase nobody should see again"
S3_SECRET = "s3-secret-never-shown"


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioServer]:
    """`rookdb serve` with its explorer cache in the test's own folder."""
    cache = tmp_path_factory.mktemp("explorer-cache") / "explorer"
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ROOKDB_EXPLORER_CACHE", str(cache))
        server = start_server(tmp_path_factory.mktemp("studio-data"))
    yield server
    stop_server(server)


def assert_never_shown(page: Page, secret: str) -> None:
    """Neither the address, the page, nor the browser's storage holds `secret`."""
    assert secret not in page.url
    assert secret not in page.content()
    stored = page.evaluate(
        "() => JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage),"
        " document.cookie])"
    )
    assert secret not in stored


def test_an_encrypted_chain_asks_for_its_key(
    page: Page, studio: StudioServer, tmp_path: Path
) -> None:
    chain = make_chain(tmp_path / "sealed", KEY, count=60)
    page.goto(studio.page_url("/studio/browse"))
    page.get_by_label("Backup location").fill(str(chain.folder))
    page.get_by_role("button", name="Show backups").click()
    page.get_by_role("link", name="Incremental").first.click()
    # No key yet: the page asks for it, naming the file.
    expect(page.get_by_test_id("key-message")).to_contain_text("encrypted")
    page.get_by_label("Encryption key").fill("not the key")
    page.get_by_role("button", name="Open with this key").click()
    expect(page.get_by_test_id("key-message")).to_contain_text("wrong encryption key")
    page.get_by_label("Encryption key").fill(KEY)
    page.get_by_role("button", name="Open with this key").click()
    expect(page.get_by_test_id("point")).to_contain_text(chain.files[1])
    assert_never_shown(page, KEY)
    page.get_by_label("Id prefix").fill("orders/104")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name="orders/1041", exact=True).click()
    expect(page.get_by_test_id("backup-json")).to_contain_text('"status": "paid"')
    assert_never_shown(page, KEY)

    # Given up front, with the location: straight to the points.
    page.goto(studio.page_url("/studio/browse"))
    page.get_by_label("Backup location").fill(str(chain.folder))
    page.get_by_text("Encryption key").first.click()  # opens the section
    page.get_by_label("Encryption key").fill(KEY)
    page.get_by_role("button", name="Show backups").click()
    page.get_by_role("link", name="Full backup").click()
    expect(page.get_by_role("link", name="orders/0", exact=True)).to_be_visible()
    assert_never_shown(page, KEY)


def test_browse_from_a_task_whose_destination_is_s3(
    page: Page,
    studio: StudioServer,
    tmp_path: Path,
    s3_endpoint_client: Any,
    s3_endpoint_options: dict[str, str],
) -> None:
    chain: Chain = make_chain(tmp_path / "plain", count=80)
    s3_endpoint_client.create_bucket(Bucket="backups")
    for name in chain.files:
        key = f"prod/{chain.folder.name}/{name}"
        s3_endpoint_client.upload_file(str(chain.folder / name), "backups", key)
    destination = {
        "kind": "s3",
        "bucket": "backups",
        "prefix": "prod",
        "region": s3_endpoint_options["region"],
        "endpoint_url": s3_endpoint_options["endpoint_url"],
        "access_key_id": "test",
        "secret_access_key": S3_SECRET,  # moto takes any secret
    }
    task = {"name": "To S3", "full_backup_cron": "0 2 * * *", "destinations": [destination]}
    with httpx.Client(base_url=studio.url, timeout=10) as http:
        if http.get("/databases/shop").status_code == 404:
            http.post("/databases", json={"name": "shop"}).raise_for_status()
        created = http.post("/databases/shop/tasks/backups", json=task)
        assert created.status_code == 201, created.text
    page.goto(studio.page_url("/studio/databases/shop/tasks"))
    card = page.locator(f"#task-{created.json()['id']}")
    card.get_by_role("link", name="Browse backups").click()
    expect(page.get_by_role("link", name="Full backup")).to_be_visible()
    assert_never_shown(page, S3_SECRET)
    page.get_by_role("link", name="Incremental").first.click()
    expect(page.get_by_test_id("point")).to_contain_text(chain.files[1])
    page.get_by_label("Id prefix").fill("orders/104")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name="orders/1041", exact=True).click()
    expect(page.get_by_test_id("backup-json")).to_contain_text('"status": "paid"')
    assert_never_shown(page, S3_SECRET)
    # A destination the task does not have is a clear page, not a traceback.
    page.goto(page.url.split("/studio/")[0] + f"/studio/databases/shop/tasks/"
              f"{created.json()['id']}/browse?destination=3")  # fmt: skip
    expect(page.get_by_text("has no destination 3")).to_be_visible()


def glacier_task(
    studio: StudioServer, tmp_path: Path, s3_endpoint: str, key: str
) -> tuple[str, Chain]:
    """A chain uploaded to a vault on moto's server (the same one as S3; its Expedited jobs
    end in seconds) and a task of `shop` backing up there: the task's id and the chain."""
    import boto3

    from rookdb.destinations import from_config

    glacier = boto3.client("glacier", endpoint_url=s3_endpoint, region_name="us-east-1",
                           aws_access_key_id="any", aws_secret_access_key="any")  # fmt: skip
    glacier.create_vault(vaultName="cold")
    glacier.close()
    chain: Chain = make_chain(tmp_path / "cold", count=40)
    destination = {
        "kind": "glacier",
        "vault": "cold",
        "prefix": "prod",
        "region": "us-east-1",
        "endpoint_url": s3_endpoint,
        "access_key_id": "any",
        "secret_access_key": S3_SECRET,
        "inventory_path": str(tmp_path / "inventory.json"),
        "retrieval_tier": "Expedited",
    }
    uploader = from_config(destination)
    for name in chain.files:
        uploader.put_file(chain.folder / name, f"{chain.folder.name}/{name}")
    uploader.close()
    task = {"name": "To Glacier", "full_backup_cron": "0 2 * * *", "destinations": [destination]}
    headers = {"authorization": f"Bearer {key}"} if key else {}
    with httpx.Client(base_url=studio.url, timeout=10, headers=headers) as http:
        if http.get("/databases/shop").status_code == 404:
            http.post("/databases", json={"name": "shop"}).raise_for_status()
        created = http.post("/databases/shop/tasks/backups", json=task)
        assert created.status_code == 201, created.text
    return str(created.json()["id"]), chain


def test_browse_a_glacier_task_after_requesting_its_retrieval(
    page: Page, studio: StudioServer, tmp_path: Path, s3_endpoint: str
) -> None:
    task_id, chain = glacier_task(studio, tmp_path, s3_endpoint, "")
    page.goto(studio.page_url("/studio/databases/shop/tasks"))
    page.locator(f"#task-{task_id}").get_by_role("link", name="Browse backups").click()
    page.get_by_role("link", name="Incremental").first.click()
    expect(page.get_by_test_id("retrieval-message")).to_contain_text("needs a retrieval first")
    expect(page.get_by_test_id("retrieval")).to_contain_text("not-requested")
    expect(page.get_by_test_id("retrieval-needs-operator")).to_have_count(0)
    page.get_by_role("button", name="Request retrieval").click()
    # Once every file is ready, the point opens (each file downloaded once, then read).
    point = page.get_by_test_id("point")
    ready = page.get_by_role("link", name="Browse the retrieved copy")
    deadline = time.monotonic() + 60
    while not point.is_visible():
        assert time.monotonic() < deadline, "the retrieval never became ready"
        assert_never_shown(page, S3_SECRET)
        if ready.is_visible():
            ready.click()
            continue
        expect(page.get_by_test_id("retrieval")).not_to_contain_text("not-requested")
        page.get_by_role("link", name="Check again").click()
        page.wait_for_load_state()
    expect(page.get_by_test_id("point")).to_contain_text(chain.files[1])
    page.get_by_role("link", name="orders/1041", exact=True).click()
    expect(page.get_by_test_id("backup-json")).to_contain_text('"status": "paid"')
    assert_never_shown(page, S3_SECRET)


def test_a_reader_follows_a_retrieval_but_is_not_offered_to_start_one(
    page: Page, tmp_path: Path, s3_endpoint: str
) -> None:
    from rookdb.security.keys import ApiKeys
    from rookdb.system import SqliteSystemStore

    with pytest.MonkeyPatch.context() as env:
        env.setenv("ROOKDB_EXPLORER_CACHE", str(tmp_path / "explorer"))
        secure = start_server(tmp_path / "secure-data", auth=True)
    try:
        assert secure.admin_key is not None
        task_id, _chain = glacier_task(secure, tmp_path, s3_endpoint, secure.admin_key)
        # The server holds the data dir open; SQLite lets this process add a key beside it.
        system = SqliteSystemStore(secure.data_dir / "system.sqlite")
        try:
            _key, token = ApiKeys(system).create("reader", name="viewer")
        finally:
            system.close()
        page.goto(secure.page_url("/studio/login"))
        page.get_by_label("API key").fill(token)
        page.get_by_role("button", name="Log in").click()
        page.goto(secure.page_url("/studio/databases/shop/tasks"))
        page.locator(f"#task-{task_id}").get_by_role("link", name="Browse backups").click()
        page.get_by_role("link", name="Incremental").first.click()
        expect(page.get_by_test_id("retrieval")).to_contain_text("not-requested")
        expect(page.get_by_test_id("retrieval-needs-operator")).to_be_visible()
        expect(page.get_by_role("button", name="Request retrieval")).to_have_count(0)
        expect(page.get_by_role("link", name="Check again")).to_be_visible()
        assert_never_shown(page, S3_SECRET)
    finally:
        stop_server(secure)
