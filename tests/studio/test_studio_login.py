"""Studio login with API keys in a real browser: redirects, roles, CSRF, logout, revocation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

import rookdb
from rookdb.security.keys import ApiKeys
from rookdb.system import SqliteSystemStore

from .harness import StudioServer, start_server, stop_server


@pytest.fixture(scope="module")
def secure_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioServer]:
    """`rookdb serve` with API keys required (the default)."""
    server = start_server(tmp_path_factory.mktemp("secure-studio"), auth=True)
    assert server.admin_key is not None
    yield server
    stop_server(server)


def login(page: Page, studio: StudioServer, key: str) -> None:
    page.goto(studio.page_url("/studio/"))
    expect(page).to_have_url(studio.page_url("/studio/login?next=%2Fstudio%2F"))
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Log in").click()


def _new_key(studio: StudioServer, role: str, name: str) -> tuple[str, str]:
    # The server holds the data dir open; SQLite lets this process add a key beside it.
    system = SqliteSystemStore(studio.data_dir / "system.sqlite")
    try:
        key, token = ApiKeys(system).create(role, name=name)
    finally:
        system.close()
    return key.id, token


def _revoke(studio: StudioServer, key_id: str) -> None:
    system = SqliteSystemStore(studio.data_dir / "system.sqlite")
    try:
        ApiKeys(system).revoke(key_id)
    finally:
        system.close()


def test_login_logout_and_a_wrong_key(page: Page, secure_studio: StudioServer) -> None:
    login(page, secure_studio, "rk_00000000_not-a-real-key-at-all-000000")
    expect(page.get_by_role("alert")).to_contain_text("not valid or was revoked")
    assert secure_studio.admin_key is not None
    page.get_by_label("API key").fill(secure_studio.admin_key)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Databases")).to_be_visible()
    expect(page.locator(".who-key")).to_contain_text("first admin key · admin")
    # Forms work: they carry the CSRF token.
    page.get_by_label("New database").fill("crm")
    page.get_by_role("button", name="Create database").click()
    expect(page.locator(".notice")).to_contain_text("Database crm created.")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to the Studio")).to_be_visible()
    page.goto(secure_studio.page_url("/studio/databases/crm"))
    expect(page).to_have_url(
        secure_studio.page_url("/studio/login?next=%2Fstudio%2Fdatabases%2Fcrm")
    )


def test_an_operator_gets_backup_now_but_not_the_task_form(
    page: Page, secure_studio: StudioServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    target = tmp_path_factory.mktemp("operator-backups")
    with rookdb.Client(secure_studio.url, api_key=secure_studio.admin_key) as admin:
        admin.create_database("ops")
        task = admin.request(
            "POST",
            "/databases/ops/tasks/backups",
            json={
                "full_backup_cron": "0 2 * * *",
                "destinations": [{"kind": "local", "path": str(target)}],
            },
        ).json()
    _key_id, token = _new_key(secure_studio, "operator", "night shift")
    login(page, secure_studio, token)
    page.goto(secure_studio.page_url("/studio/databases/ops/tasks"))
    card = page.locator(f"#task-{task['id']}")
    expect(card.get_by_role("link", name="History")).to_be_visible()
    expect(card.get_by_role("link", name="Edit")).to_have_count(0)
    expect(card.get_by_role("button", name="Disable")).to_have_count(0)
    expect(page.get_by_role("link", name="New backup task")).to_have_count(0)
    card.get_by_role("button", name="Backup now").click()
    expect(page.locator(".notice")).to_contain_text("Started a full backup.")
    expect(card.locator("[data-field=last_full_backup] time")).to_be_visible(timeout=30_000)


def test_a_form_posted_from_another_site_changes_nothing(
    page: Page, secure_studio: StudioServer
) -> None:
    assert secure_studio.admin_key is not None
    login(page, secure_studio, secure_studio.admin_key)
    page.get_by_label("New database").fill("keep")
    page.get_by_role("button", name="Create database").click()
    expect(page.locator(".notice")).to_contain_text("Database keep created.")
    # The logged-in browser opens a hostile page that posts the delete form to the Studio.
    action = secure_studio.page_url("/studio/databases/keep/delete")
    page.set_content(
        f'<form id="f" method="post" action="{action}"><input name="confirm" value="keep"></form>'
    )
    with page.expect_navigation():
        page.evaluate("document.getElementById('f').submit()")
    expect(page.locator("body")).not_to_contain_text("deleted")
    page.goto(secure_studio.page_url("/studio/"))
    expect(page.locator("tr[data-database=keep]")).to_be_visible()


def test_a_reader_sees_but_cannot_change_and_revocation_ends_the_session(
    page: Page, secure_studio: StudioServer
) -> None:
    with rookdb.Client(secure_studio.url, api_key=secure_studio.admin_key) as admin:
        admin.create_database("readonly").put("users/1", {"name": "Ann"})
    key_id, token = _new_key(secure_studio, "reader", "viewer")
    login(page, secure_studio, token)
    expect(page.locator(".who-key")).to_contain_text("viewer · reader")
    # What a reader may not do is not offered...
    expect(page.locator("tr[data-database=readonly]")).to_be_visible()
    expect(page.get_by_label("New database")).to_have_count(0)
    expect(page.get_by_role("link", name="Delete")).to_have_count(0)
    expect(page.get_by_role("link", name="Restore")).to_have_count(0)
    page.goto(secure_studio.page_url("/studio/databases/readonly/doc?id=users/1"))
    expect(page.locator("pre, code").first).to_contain_text("Ann")
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    # ...and refused when tried anyway (the confirmation page is reachable by its URL).
    page.goto(secure_studio.page_url("/studio/databases/readonly/delete"))
    page.get_by_label("Type").fill("readonly")
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="That did not work")).to_be_visible()
    expect(page.locator(".lead")).to_contain_text("role 'reader'")
    with rookdb.Client(secure_studio.url, api_key=secure_studio.admin_key) as admin:
        assert admin.has_database("readonly")
    _revoke(secure_studio, key_id)
    page.reload()
    expect(page.get_by_role("heading", name="Log in to the Studio")).to_be_visible()
