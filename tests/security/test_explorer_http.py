"""The backup explorer over HTTP: a reader browses and diffs, an operator puts documents back."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from explorer_chains import Chain, make_chain
from rookdb.cli.main import run as run_cli
from rookdb.instance import Instance
from rookdb.server import ServerThread

from .conftest import Keys, client


@pytest.fixture
def chain(tmp_path: Path) -> Chain:
    return make_chain(tmp_path / "made", count=300)


def test_a_reader_browses_and_diffs(secure_server: ServerThread, keys: Keys, chain: Chain) -> None:
    source = str(chain.folder)
    with client(secure_server, keys.reader) as http:
        got = http.post("/backups/explore/get", json={"source": source, "id": "orders/1041",
                                                      "until": chain.files[1]})  # fmt: skip
        assert got.status_code == 200, got.text
        assert got.json()["document"]["status"] == "paid"
        assert chain.files[1] in got.json()["point"]
        missing = http.post("/backups/explore/get", json={"source": source, "id": "orders/x"})
        assert missing.status_code == 404
        assert "not in this backup at that point" in missing.json()["message"]
        history = http.post("/backups/explore/history", json={"source": source, "id": "orders/7"})
        assert [v["change"] for v in history.json()["versions"]] == ["changed", "created"]
        question = {"source": source, "prefix": "orders/1", "page_size": 5}
        page = http.post("/backups/explore/documents", json=question)
        assert page.status_code == 200, page.text
        assert [d["id"] for d in page.json()["documents"]] == [
            "orders/1", "orders/10", "orders/100", "orders/101", "orders/102",
        ]  # fmt: skip
        assert page.json()["more"] is True
        diff = http.post("/backups/explore/diff", json={"source": source,
                                                        "until": chain.files[0]})  # fmt: skip
        assert diff.status_code == 200, diff.text
        assert diff.json()["statistics"]["added"] == 1
        question = {"source": source, "id": "orders/7", "name": "receipt.txt"}
        content = http.post("/backups/explore/attachment", json=question)
        assert content.content == b"paid 7 EUR\n" * 300
        relative = http.post("/backups/explore/get", json={"source": "backups", "id": "a"})
        assert relative.status_code == 400
        # Putting documents back is a write: not for a reader.
        refused = http.post("/databases/shop/restore-selected",
                            json={"source": source, "ids": ["orders/1041"]})  # fmt: skip
        assert refused.status_code == 403


def test_an_operator_puts_documents_back(
    secure_server: ServerThread, keys: Keys, chain: Chain, instance: Instance
) -> None:
    source = str(chain.folder)
    before = instance.database("shop").last_etag
    body = {"source": source, "until": chain.files[1], "ids": ["orders/1041"]}
    with client(secure_server, keys.operator) as http:
        dry = http.post("/databases/shop/restore-selected", json=body | {"dry_run": True})
        assert dry.status_code == 200, dry.text
        assert dry.json()["writes"][0]["action"] == "create"
        assert instance.database("shop").last_etag == before
        done = http.post("/databases/shop/restore-selected", json=body)
        assert done.json()["counts"]["create"] == 1
        unknown = http.post("/databases/nope/restore-selected", json=body)
        assert unknown.status_code == 404
    put_back = instance.database("shop").get("orders/1041")
    assert put_back is not None and put_back.body["status"] == "paid"
    assert put_back.etag > before
    with client(secure_server, keys.admin) as http:
        paths = http.get("/openapi.json").json()["paths"]
    for path in ("get", "history", "documents", "diff", "attachment", "retrieval"):
        assert f"/backups/explore/{path}" in paths
    assert "/databases/{db}/restore-selected" in paths


def test_the_cli_puts_documents_back_through_the_server(
    secure_server: ServerThread, keys: Keys, chain: Chain, instance: Instance
) -> None:
    args = ["--url", secure_server.url, "--quiet", "restore", str(chain.folder), "--into", "shop",
            "--ids", "orders/1041", "--until", chain.files[1]]  # fmt: skip
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        refused = run_cli(["--api-key", keys.reader, *args])
        assert refused == 1
        assert run_cli(["--api-key", keys.operator, *args, "--dry-run"]) == 0
        assert instance.database("shop").get("orders/1041") is None
        assert run_cli(["--api-key", keys.operator, *args]) == 0
    assert "put back 1 document(s) into shop" in out.getvalue()
    assert instance.database("shop").get("orders/1041") is not None
