"""Hostile requests get a clear 4xx and change nothing: traversal, CR/LF, size, depth, crons."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from rookdb import Instance
from rookdb.server import ServerThread

from .conftest import Keys, client

TRAVERSAL_NAMES = ["..", "../evil", "a/b", "..\\evil", ".hidden", "shop\r\nX-Injected: 1",
                   "nul\x00byte", "%2e%2e", "a" * 65, ""]  # fmt: skip


@pytest.fixture
def admin(secure_server: ServerThread, keys: Keys) -> httpx.Client:
    with client(secure_server, keys.admin) as http:
        yield http  # type: ignore[misc]


def _files(instance: Instance) -> set[str]:
    return {str(p.relative_to(instance.data_dir)) for p in instance.data_dir.rglob("*")}


def test_database_names_that_try_to_escape(admin: httpx.Client, instance: Instance) -> None:
    before = _files(instance)
    for name in TRAVERSAL_NAMES:
        response = admin.post("/databases", json={"name": name})
        assert response.status_code == 400, name
        assert response.json()["field"] == "name"
        assert "x-injected" not in response.headers
    for path in ["/databases/..%2Fsystem", "/databases/%2E%2E", "/databases/sh%0D%0Aop"]:
        assert admin.get(path).status_code in (400, 404), path
        assert admin.delete(path).status_code in (400, 404), path
    assert [d["name"] for d in admin.get("/databases").json()["databases"]] == ["other", "shop"]
    assert _files(instance) == before


def test_ids_and_names_with_line_breaks_are_refused(admin: httpx.Client) -> None:
    refused = [
        admin.put("/databases/shop/docs/users%2F1%0D%0AX-Injected:%201", json={"a": 1}),
        admin.put("/databases/shop/attachments", params={"id": "users/1", "name": "a\r\nb"},
                  content=b"x"),
        admin.put("/databases/shop/indexes/By%0AName", json={"collection": "Users",
                                                             "fields": ["name"]}),
        admin.post("/admin/keys", json={"role": "reader", "name": "evil\r\nX-Injected: 1"}),
        admin.post("/databases/shop/tasks/backups", json={
            "name": "Nightly\r\nX-Injected: 1", "full_backup_cron": "0 2 * * *",
            "destinations": [{"kind": "local", "path": "/tmp/x"}]}),
    ]  # fmt: skip
    # Line breaks in a URL path match no route (404); in a query or a body they are 400.
    assert [r.status_code for r in refused] == [404, 400, 404, 400, 400]
    assert all("x-injected" not in r.headers for r in refused)
    assert admin.get("/databases/shop/attachments/list", params={"id": "users/1"}).json() == {
        "attachments": []
    }
    assert admin.get("/databases/shop/indexes").json()["indexes"] == []
    assert admin.get("/databases/shop/tasks/backups").json()["tasks"] == []
    assert admin.get("/databases/shop").json()["documents"] == 1


def test_task_ids_that_try_to_escape(admin: httpx.Client) -> None:
    for task_id in ["%2E%2E", "..%2F..%2Fsystem", "t-0000%0D%0A"]:
        for method in ("GET", "DELETE"):
            response = admin.request(method, f"/databases/shop/tasks/backups/{task_id}")
            assert response.status_code == 404, (method, task_id)
        assert admin.post(f"/databases/shop/tasks/backups/{task_id}/backup-now").status_code == 404


def test_bodies_over_the_limit_are_413(instance: Instance, keys: Keys) -> None:
    instance.create_database("shop")
    server = ServerThread(instance, auth=True, max_json_body=64 * 1024)
    with server, client(server, keys.admin) as http:
        big = {"blob": "x" * (65 * 1024)}
        response = http.put("/databases/shop/docs/big/1", json=big)
        assert response.status_code == 413
        assert response.json()["error"] == "payload-too-large"
        ops = [{"type": "put", "id": f"a/{i}", "body": {"x": "y" * 100}} for i in range(700)]
        assert http.post("/databases/shop/batch", json={"operations": ops}).status_code == 413
        assert http.get("/databases/shop").json()["documents"] == 0
        # A stranger's huge body is refused before it is read at all.
        anonymous = httpx.put(f"{server.url}/databases/shop/docs/big/2", json=big, timeout=30)
        assert anonymous.status_code in (401, 413)
        assert http.get("/databases/shop/docs/big/2").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": ' * 65 + b"1" + b"}" * 65,
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a": ' + b"[" * 200_000,  # never closed: a parser would still descend
    ],
    ids=["65 levels", "100000 levels", "unclosed"],
)
def test_deeply_nested_json_is_400(admin: httpx.Client, body: bytes) -> None:
    headers = {"content-type": "application/json"}
    for method, path in [
        ("PUT", "/databases/shop/docs/deep/1"),
        ("POST", "/databases/shop/batch"),
        ("POST", "/databases/shop/tasks/backups"),
        ("POST", "/databases/shop/queries"),
    ]:
        response = admin.request(method, path, content=body, headers=headers)
        assert response.status_code == 400, (method, path, response.text[:200])
        assert "levels deep" in response.json()["message"]
    assert admin.get("/databases/shop/docs/deep/1").status_code == 404


def test_nesting_up_to_the_limit_is_fine(admin: httpx.Client) -> None:
    body = b'{"a": ' * 63 + b'"[[[{{{ not brackets"' + b"}" * 63
    response = admin.put("/databases/shop/docs/deep/ok", content=body)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "cron",
    ["* * * * * * *", "99999999999 * * * *", "*/0 * * * *", "0 2 * * \n", "0 2 31 2 8",
     "ö * * * *", "@reboot", "0 2 * * * ; rm -rf /", "-1 * * * *", "* " * 1000,
     "0-99999999999999999999/1 * * * *"],
)  # fmt: skip
def test_malformed_crons_are_400(admin: httpx.Client, tmp_path: Path, cron: str) -> None:
    body = {"full_backup_cron": cron,
            "destinations": [{"kind": "local", "path": str(tmp_path / "b")}]}  # fmt: skip
    response = admin.post("/databases/shop/tasks/backups", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == "full_backup_cron"
    assert admin.get("/databases/shop/tasks/backups").json()["tasks"] == []
