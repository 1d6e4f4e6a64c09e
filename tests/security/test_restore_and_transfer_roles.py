"""Who may restore, import, back up on the server and export: admin writes, readers read."""

from __future__ import annotations

from pathlib import Path

from rookdb.backup import export_database
from rookdb.instance import Instance
from rookdb.server import ServerThread

from .conftest import Keys, client


def test_restores_imports_and_backups_need_an_admin_key(
    secure_server: ServerThread, keys: Keys, instance: Instance, tmp_path: Path
) -> None:
    export_database(instance.database("shop"), tmp_path / "shop.export")
    body = (tmp_path / "shop.export").read_bytes()
    restore = {"source": str(tmp_path), "database": "copy"}
    backup = {"to": str(tmp_path / "backups")}
    for key in (keys.reader, keys.operator, keys.shop_reader):
        with client(secure_server, key) as http:
            refused = [
                http.post("/restores", json=restore),
                http.post("/databases/shop/import", content=body),
                http.post("/databases/shop/backups", json=backup),
            ]
            assert [r.status_code for r in refused] == [403, 403, 403]
    assert not instance.has_database("copy") and not (tmp_path / "backups").exists()
    assert instance.database("shop").count() == 1

    with client(secure_server, keys.admin) as http:
        assert http.post("/databases/shop/backups", json=backup).status_code == 201
        assert http.post("/databases/shop/import", content=body).status_code == 200
        started = http.post("/restores", json={"source": str(tmp_path / "backups"),
                                               "database": "copy"})  # fmt: skip
        assert started.status_code == 202
        schema = http.get("/openapi.json").json()["paths"]
    for path in ("/restores", "/restores/{job_id}", "/databases/{db}/export",
                 "/databases/{db}/import", "/databases/{db}/backups"):  # fmt: skip
        assert path in schema


def test_an_export_is_a_read_within_the_keys_databases(
    secure_server: ServerThread, keys: Keys
) -> None:
    with client(secure_server, keys.shop_reader) as http:
        assert http.get("/databases/shop/export").status_code == 200
        assert http.get("/databases/other/export").status_code == 403
        # Restore jobs concern the whole server: not for a key limited to some databases.
        assert http.get("/restores").status_code == 403
    with client(secure_server, keys.reader) as http:
        assert http.get("/restores").status_code == 200
