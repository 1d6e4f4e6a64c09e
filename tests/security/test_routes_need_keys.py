"""Every route of the app, found from the app itself: 401 without a key, 403 with the wrong one."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from rookdb.security.roles import Action, required_action
from rookdb.server import ServerThread

from .conftest import Keys, client

# A value for each path parameter, so every template becomes a real URL.
_VALUES = {
    "db": "shop",
    "name": "shop",
    "doc_id": "users/1",
    "task_id": "t-0000",
    "job_id": "j-0000",
    "key_id": "00000000",
    "node": "B",
    "action": "enable",
    "path": "studio.css",
    "incident_id": "0000aaaa",
    "channel_id": "0000bbbb",
}


def _url(template: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: _VALUES[m.group(1)], template)


def every_route(server: ServerThread) -> list[tuple[str, str]]:
    """(method, path template) of every route the app serves, static files included."""
    found: list[tuple[str, str]] = []
    for route in server.app.routes:
        # FastAPI 0.165 keeps each included router as one entry; walk into them.
        contexts = getattr(route, "effective_route_contexts", None)
        leaves = [(c.original_route, c.path_format) for c in contexts()] if contexts else []
        for leaf, path in [(route, getattr(route, "path", "")), *leaves]:
            if isinstance(leaf, Mount):
                found.append(("GET", path.rstrip("/") + "/{path}"))
            elif isinstance(leaf, APIRoute | Route):
                found.extend((m, path) for m in sorted(leaf.methods or ()) if m != "HEAD")
    return sorted(set(found))


def test_the_route_list_is_complete(secure_server: ServerThread) -> None:
    # Guards the walk: a change in how routes are stored must not empty the checks below.
    routes = every_route(secure_server)
    assert len(routes) > 50
    for expected in [
        ("PUT", "/databases/{db}/docs/{doc_id}"),
        ("POST", "/databases/{db}/tasks/backups/{task_id}/backup-now"),
        ("POST", "/admin/keys"),
        ("POST", "/studio/databases/{name}/delete"),
        ("GET", "/openapi.json"),
    ]:
        assert expected in routes


def test_every_route_needs_a_key(secure_server: ServerThread) -> None:
    checked = 0
    with client(secure_server) as http:
        for method, template in every_route(secure_server):
            response = http.request(method, _url(template))
            where = f"{method} {template}"
            if required_action(method, _url(template)) is Action.PUBLIC:
                if method == "POST":  # the login form: no key needed, but its CSRF token is
                    assert response.status_code == 403, where
                    assert "form has expired" in response.text
                else:
                    assert response.status_code not in (401, 403), where
                continue
            checked += 1
            if template.startswith("/studio") or template == "/":
                assert response.status_code == 303, where
                assert response.headers["location"].startswith("/studio/login?next="), where
            else:
                assert response.status_code == 401, (where, response.text)
                assert response.json()["error"] == "unauthorized", where
                assert response.headers["www-authenticate"] == "Bearer"
    assert checked > 45


@pytest.mark.parametrize("role", ["reader", "operator"])
def test_admin_routes_refuse_other_roles(
    secure_server: ServerThread, keys: Keys, role: str
) -> None:
    checked = 0
    with client(secure_server, getattr(keys, role)) as http:
        for method, template in every_route(secure_server):
            if required_action(method, _url(template)) is not Action.ADMIN:
                continue
            checked += 1
            response = http.request(method, _url(template))
            assert response.status_code == 403, (method, template, response.text[:200])
            if not template.startswith("/studio"):
                assert response.json()["error"] == "forbidden"
                assert role in response.json()["message"]
    assert checked > 25


def test_read_routes_refuse_a_key_of_other_databases(
    secure_server: ServerThread, keys: Keys
) -> None:
    checked = 0
    with client(secure_server, keys.other_reader) as http:
        for method, template in every_route(secure_server):
            if "{db}" not in template and "/studio/databases/{name}" not in template:
                continue
            checked += 1
            response = http.request(method, _url(template))
            assert response.status_code == 403, (method, template)
    assert checked > 30


def test_invalid_and_malformed_keys_are_401(secure_server: ServerThread, keys: Keys) -> None:
    for header in [
        "Bearer rk_00000000_" + "x" * 43,  # well formed, unknown
        "Bearer " + keys.admin[:-1] + ("A" if keys.admin[-1] != "A" else "B"),  # one char off
        "Basic YWRtaW46YWRtaW4=",
        "Bearer  x y",
        keys.admin,  # no scheme
    ]:
        response = httpx.get(
            secure_server.url + "/databases", headers={"authorization": header}, timeout=30
        )
        assert response.status_code == 401, header
    # The health probe stays open for load balancers.
    assert httpx.get(secure_server.url + "/health", timeout=30).json() == {"status": "ok"}


def test_unknown_routes_say_nothing_without_a_key(secure_server: ServerThread, keys: Keys) -> None:
    # Which paths exist is not shown to strangers; a key holder gets the usual 404.
    assert httpx.get(secure_server.url + "/nope", timeout=30).status_code == 401
    with client(secure_server, keys.reader) as http:
        assert http.get("/nope").status_code == 404


def test_a_studio_session_reads_the_api_but_never_writes(
    secure_server: ServerThread, keys: Keys
) -> None:
    with client(secure_server) as browser:
        page = browser.get("/studio/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        form = {"csrf_token": token.group(1), "api_key": keys.admin, "next": "/studio/"}
        assert browser.post("/studio/login", data=form).status_code == 303
        assert browser.get("/studio/").status_code == 200
        assert browser.get("/databases").status_code == 200  # /docs and JSON links work
        assert browser.get("/openapi.json").status_code == 200
        # A write through the API with only the cookie, as a cross-site form would send it.
        assert browser.post("/databases", json={"name": "viacookie"}).status_code == 401
        assert browser.delete("/databases/shop").status_code == 401
        assert browser.get("/databases/viacookie").status_code == 404
        assert browser.get("/databases/shop").status_code == 200
        # A forged or expired cookie is no session.
        browser.cookies.clear()
        browser.cookies.set("rookdb_session", "e30.0000")
        assert browser.get("/databases").status_code == 401


def test_the_openapi_schema_declares_the_key(secure_server: ServerThread, keys: Keys) -> None:
    with client(secure_server, keys.reader) as http:
        schema = http.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert schema["paths"]["/health"]["get"]["security"] == []
    operations = [
        (method, path, op) for path, ops in schema["paths"].items() for method, op in ops.items()
    ]
    assert len(operations) > 30
    for method, path, op in operations:
        if path != "/health":
            assert op["security"] == [{"apiKey": []}], (method, path)
            assert {"401", "403"} <= set(op["responses"]), (method, path)
