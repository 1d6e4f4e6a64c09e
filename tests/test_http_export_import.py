"""Export streamed down, import streamed up, one-off backups on the server: over real HTTP."""

from __future__ import annotations

import http.server
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import rookdb
from database_contents import contents, shop_history
from rookdb.backup import export_database
from rookdb.backup.chain import read_file_info, read_run_folder
from rookdb.errors import BackupCorrupted, InvalidInput, NotFound
from rookdb.restore import import_file


@pytest.fixture
def shop(instance: rookdb.Instance) -> rookdb.Database:
    db = instance.create_database("shop")
    for step in range(3):
        shop_history(db, step)
    return db


def test_an_export_streams_down_and_imports_back_up(
    remote: rookdb.Client, instance: rookdb.Instance, shop: rookdb.Database, tmp_path: Path
) -> None:
    seen: list[int] = []
    info = remote.export_database(
        "shop", tmp_path / "shop.export", progress=lambda done, _total: seen.append(done)
    )
    assert info.kind == "full" and info.last_etag == shop.last_etag
    assert info.counts["documents"] == shop.count()
    assert seen and seen[-1] == info.size_bytes == (tmp_path / "shop.export").stat().st_size
    assert not list(tmp_path.glob("*.in-progress"))
    with rookdb.open(tmp_path / "elsewhere") as other:
        import_file(other, tmp_path / "shop.export", "copy")
        assert contents(other.database("copy")) == contents(shop)

    sent: list[tuple[int, int]] = []
    result = remote.import_file(
        tmp_path / "shop.export", "copy", progress=lambda d, t: sent.append((d, t))
    )
    assert result.database == "copy" and result.files == ("shop.export",)
    assert result.source == "shop.export"  # never the server's work folder
    assert sent[-1] == (info.size_bytes, info.size_bytes)
    assert contents(instance.database("copy")) == contents(shop)

    # An incremental export carries deletes; the import applies them with incremental.
    mark = shop.last_etag
    shop.delete("users/0")
    delta = remote.export_database("shop", tmp_path / "delta", since_etag=mark)
    assert delta.kind == "incremental" and delta.counts["tombstones"] == 1
    remote.import_file(tmp_path / "delta", "copy")
    assert instance.database("copy").get("users/0") is not None
    remote.import_file(tmp_path / "delta", "copy", incremental=True)
    assert instance.database("copy").get("users/0") is None


def test_an_encrypted_export_travels_with_its_key(
    remote: rookdb.Client, instance: rookdb.Instance, shop: rookdb.Database, tmp_path: Path
) -> None:
    key = "pässphrase with spaces/and+signs="  # percent-encoded in the header
    info = remote.export_database("shop", tmp_path / "sealed", encryption_key=key)
    assert info.encrypted
    with pytest.raises(rookdb.RookError):
        remote.import_file(tmp_path / "sealed", "copy")
    remote.import_file(tmp_path / "sealed", "copy", encryption_key=key)
    assert contents(instance.database("copy")) == contents(shop)


def test_errors_before_the_first_byte_are_json(
    http: httpx.Client, remote: rookdb.Client, shop: rookdb.Database, tmp_path: Path
) -> None:
    for url, status in [
        ("/databases/nope/export", 404),
        ("/databases/shop/export?compression=lz4", 400),
        ("/databases/shop/export?since_etag=-1", 400),
    ]:
        response = http.get(url)
        assert response.status_code == status and response.json()["error"], url
    bad_key = http.get("/databases/shop/export", headers={"X-Rookdb-Encryption-Key": "%FF"})
    assert bad_key.status_code == 400
    assert http.post("/databases/shop/import", content=b"not a backup").status_code == 422
    with pytest.raises(NotFound):
        remote.export_database("nope", tmp_path / "x")
    assert not (tmp_path / "x").exists()
    with pytest.raises(NotFound):
        remote.import_file(tmp_path / "missing", "shop")
    with pytest.raises(InvalidInput):
        remote.import_file(tmp_path / "a\x00b", "shop")


def test_a_client_that_leaves_stops_the_export(
    live_server: rookdb.server.ServerThread, instance: rookdb.Instance
) -> None:
    db = instance.create_database("big")
    db.put("files/1", {"name": "noise"})
    for n in range(24):  # ~24 MB that does not compress: far more than the queue holds
        db.put_attachment("files/1", f"part-{n}", os.urandom(1 << 20))
    params = {"compression": "none"}
    with (
        httpx.Client(base_url=live_server.url, timeout=30) as http,
        http.stream("GET", "/databases/big/export", params=params) as body,
    ):
        assert body.status_code == 200
        next(body.iter_bytes())
    deadline = time.monotonic() + 15
    while any(t.name == "export-big" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the export writer kept running"
        time.sleep(0.05)
    db.put("files/2", {"name": "still writable"})


class _Truncating(http.server.BaseHTTPRequestHandler):
    """Serves the first half of a real export, as a server failing mid-way would."""

    body = b""

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        half = self.body[: len(self.body) // 2]
        self.send_response(200)
        self.send_header("Content-Length", str(len(half)))
        self.end_headers()
        self.wfile.write(half)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def truncating_server(shop: rookdb.Database, tmp_path: Path) -> Iterator[str]:
    export_database(shop, tmp_path / "whole")
    _Truncating.body = (tmp_path / "whole").read_bytes()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Truncating)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_download_cut_short_is_not_kept(truncating_server: str, tmp_path: Path) -> None:
    with (
        rookdb.Client(truncating_server) as client,
        pytest.raises(BackupCorrupted, match="incomplete or damaged"),
    ):
        client.export_database("shop", tmp_path / "cut.export")
    assert list(tmp_path.glob("cut.export*")) == []


def test_a_backup_runs_on_the_server(
    remote: rookdb.Client, http: httpx.Client, shop: rookdb.Database, tmp_path: Path
) -> None:
    out = tmp_path / "server-backups"
    full = remote.run_backup("shop", out)
    assert full.written is not None and full.written.kind == "full"
    assert full.written.path.parent.parent == out and full.written.path.exists()
    assert remote.run_backup("shop", out, incremental=True).skipped
    shop.delete("users/0")
    inc = remote.run_backup("shop", out, incremental=True, compression="gzip")
    assert inc.written is not None and inc.written.kind == "incremental"
    assert inc.written.tombstones == 1
    assert read_run_folder(full.written.path.parent).ok
    assert read_file_info(inc.written.path).compression == "gzip"
    for body, field in [
        ({"to": "relative/folder"}, "to"),
        ({"to": str(tmp_path / "shop.file")}, "to"),
        ({"to": str(out), "type": "tarball"}, "type"),
    ]:
        (tmp_path / "shop.file").write_text("a file, not a folder")
        response = http.post("/databases/shop/backups", json=body)
        assert response.status_code == 400 and response.json()["field"] == field, response.text
    missing = http.post("/databases/nope/backups", json={"to": str(out)})
    assert missing.status_code == 404
    fresh = http.post("/databases/shop/backups", json={"to": str(tmp_path / "b"),
                                                        "incremental": True})  # fmt: skip
    assert fresh.status_code == 400 and "run a full backup first" in fresh.json()["message"]
