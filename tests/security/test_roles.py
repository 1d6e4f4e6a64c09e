"""The role matrix on real requests: reader, operator, admin, keys limited to databases."""

from __future__ import annotations

from pathlib import Path

import pytest

import rookdb
from rookdb.errors import Forbidden, Unauthorized
from rookdb.server import ServerThread

from .conftest import Keys, client


def _task(tmp_path: Path) -> dict[str, object]:
    return {
        "full_backup_cron": "0 2 * * *",
        "destinations": [{"kind": "local", "path": str(tmp_path / "backups")}],
    }


def test_reader_reads_documents_and_status_only(
    secure_server: ServerThread, keys: Keys, tmp_path: Path
) -> None:
    with client(secure_server, keys.admin) as admin:
        task_id = admin.post("/databases/shop/tasks/backups", json=_task(tmp_path)).json()["id"]
    with client(secure_server, keys.reader) as http:
        assert http.get("/databases/shop/docs/users/1").json()["name"] == "Ann"
        assert http.post("/databases/shop/docs/get", json={"ids": ["users/1"]}).status_code == 200
        assert http.get(f"/databases/shop/tasks/backups/{task_id}/status").status_code == 200
        assert http.get("/metrics").status_code == 200
        assert {d["name"] for d in http.get("/databases").json()["databases"]} == {"shop", "other"}
        refused = [
            http.put("/databases/shop/docs/users/2", json={"name": "Bob"}),
            http.post("/databases/shop/bulk-insert", content=b'{"id": "users/2", "body": {}}\n'),
            http.delete("/databases/shop/docs/users/1"),
            http.post(f"/databases/shop/tasks/backups/{task_id}/backup-now"),
            http.post("/databases/shop/tasks/backups", json=_task(tmp_path)),
            http.post("/databases", json={"name": "new"}),
            http.get("/admin/keys"),
        ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert "reader" in refused[0].json()["message"]
    # Nothing the refused calls asked for happened.
    with client(secure_server, keys.admin) as admin:
        assert admin.get("/databases/shop/docs/users/2").status_code == 404
        assert admin.get("/databases/shop/docs/users/1").status_code == 200
        assert admin.get("/databases/new").status_code == 404
        assert len(admin.get("/databases/shop/tasks/backups").json()["tasks"]) == 1
        status = admin.get(f"/databases/shop/tasks/backups/{task_id}/status").json()
        assert status["last_run"] is None


def test_operator_runs_backup_now_but_changes_nothing_else(
    secure_server: ServerThread, keys: Keys, tmp_path: Path
) -> None:
    with client(secure_server, keys.admin) as admin:
        task_id = admin.post("/databases/shop/tasks/backups", json=_task(tmp_path)).json()["id"]
    base = f"/databases/shop/tasks/backups/{task_id}"
    with client(secure_server, keys.operator) as http:
        assert http.post(f"{base}/backup-now").status_code == 202
        assert http.post(f"{base}/drill-now").status_code in (200, 202)
        assert http.get(f"{base}/status").status_code == 200
        assert http.get("/databases/shop/docs/users/1").status_code == 200
        for response in [
            http.post(f"{base}/disable"),
            http.delete(base),
            http.put(base, json=_task(tmp_path)),
            http.delete("/databases/shop"),
            http.put("/databases/shop/docs/users/9", json={}),
            http.post("/admin/keys", json={"role": "admin"}),
        ]:
            assert response.status_code == 403, response.request.url


def test_admin_manages_keys_and_a_revoked_key_stops_at_once(
    secure_server: ServerThread, keys: Keys
) -> None:
    with rookdb.Client(secure_server.url, api_key=keys.admin) as admin:
        created = admin.create_api_key("reader", ["shop"], name="dashboard")
        assert created["key"].startswith("rk_") and created["role"] == "reader"
        listed = {k["id"]: k for k in admin.list_api_keys()}
        assert listed[created["id"]]["databases"] == ["shop"]
        assert all("key" not in k and "sha256" not in k for k in listed.values())
        with rookdb.Client(secure_server.url, api_key=created["key"]) as reader:
            assert reader.database("shop").get("users/1") is not None
            admin.revoke_api_key(created["id"])
            with pytest.raises(Unauthorized, match="revoked"):
                reader.database("shop")
        assert {k["id"]: k for k in admin.list_api_keys()}[created["id"]]["revoked"] is True


def test_keys_limited_to_databases(secure_server: ServerThread, keys: Keys) -> None:
    with rookdb.Client(secure_server.url, api_key=keys.shop_reader) as shop_only:
        assert shop_only.database_names() == ["shop"]
        assert shop_only.database("shop").get("users/1") is not None
        with pytest.raises(Forbidden, match="'other'"):
            shop_only.database("other")
        with pytest.raises(Forbidden, match="whole server"):
            shop_only.get_json("/metrics")


def test_the_python_client_without_a_key_gets_unauthorized(secure_server: ServerThread) -> None:
    with rookdb.Client(secure_server.url) as anonymous:
        assert anonymous.health() == {"status": "ok"}
        with pytest.raises(Unauthorized, match="API key"):
            anonymous.list_databases()
