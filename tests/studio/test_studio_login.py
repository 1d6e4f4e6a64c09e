"""Studio login with API keys in a real browser: redirects, roles, CSRF, logout, revocation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

import rookdb
from rookdb.security.keys import ApiKeys

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


def _reader_key(studio: StudioServer) -> tuple[str, str]:
    # The server holds the data dir open; SQLite lets this process add a key beside it.
    with rookdb.open(studio.data_dir) as instance:
        key, token = ApiKeys(instance.system).create("reader", name="viewer")
    return key.id, token


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
    key_id, token = _reader_key(secure_studio)
    login(page, secure_studio, token)
    expect(page.locator(".who-key")).to_contain_text("viewer · reader")
    page.get_by_label("New database").fill("nope")
    page.get_by_role("button", name="Create database").click()
    expect(page.get_by_role("heading", name="That did not work")).to_be_visible()
    expect(page.locator(".lead")).to_contain_text("role 'reader'")
    page.goto(secure_studio.page_url("/studio/"))
    expect(page.locator("tr[data-database=nope]")).to_have_count(0)
    with rookdb.open(secure_studio.data_dir) as instance:
        ApiKeys(instance.system).revoke(key_id)
    page.reload()
    expect(page.get_by_role("heading", name="Log in to the Studio")).to_be_visible()
