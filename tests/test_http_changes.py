"""The change feed over HTTP as NDJSON: every kind of change, in etag order, resumable."""

from __future__ import annotations

import httpx
import orjson

from rookdb import Instance
from test_http_documents import assert_error

BASE = "/databases/shop"


def read_changes(http: httpx.Client, since: int = 0) -> tuple[list[dict[str, object]], int]:
    with http.stream("GET", f"{BASE}/changes", params={"since_etag": since}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-ndjson"
        last = int(response.headers["x-rookdb-last-etag"])
        lines = [orjson.loads(line) for line in response.iter_lines() if line]
    return lines, last


def test_changes_stream_every_kind_in_etag_order(http: httpx.Client, instance: Instance) -> None:
    http.post("/databases", json={"name": "shop"})
    http.put(f"{BASE}/docs/users/1", json={"name": "Ann"})
    http.put(f"{BASE}/docs/users|", json={"name": "Bob"})  # identity -> users/1 replaced
    http.put(f"{BASE}/docs/orders/1", json={"total": 5})
    http.put(f"{BASE}/attachments", params={"id": "orders/1", "name": "r.pdf"}, content=b"%PDF")
    http.put(f"{BASE}/indexes/by-total", json={"collection": "Orders", "fields": ["total"]})
    http.delete(f"{BASE}/docs/orders/1")

    changes, last = read_changes(http)
    etags = [c["etag"] for c in changes]
    assert etags == sorted(etags) and len(set(etags)) == len(etags)
    assert last == instance.database("shop").last_etag
    kinds = [c["kind"] for c in changes]
    assert set(kinds) == {"document", "identity", "index", "tombstone"}
    docs = [c for c in changes if c["kind"] == "document"]
    assert [(d["id"], d["body"]) for d in docs] == [("users/1", {"name": "Bob"})]
    tombstones = [c for c in changes if c["kind"] == "tombstone"]
    assert {(t["of"], t["id"]) for t in tombstones} >= {("document", "orders/1")}
    assert [c for c in changes if c["kind"] == "index"][0]["fields"] == ["total"]

    http.put(f"{BASE}/docs/users/2", json={"name": "Cy"})
    http.put(f"{BASE}/attachments", params={"id": "users/2", "name": "a.txt"}, content=b"hi")
    newer, last2 = read_changes(http, since=last)
    assert [c["kind"] for c in newer] == ["document", "attachment"]
    attachment = newer[1]
    assert attachment["document_id"] == "users/2" and attachment["size"] == 2
    assert "body" not in attachment and "content" not in attachment
    assert read_changes(http, since=last2) == ([], last2)


def test_large_feed_arrives_complete(http: httpx.Client, instance: Instance) -> None:
    db = instance.create_database("shop")
    db.bulk_insert((f"items/{i}", {"i": i, "pad": "x" * 200}) for i in range(5000))
    changes, last = read_changes(http)
    assert last == 5000
    assert [c["body"]["i"] for c in changes] == list(range(5000))


def test_changes_bad_input(http: httpx.Client) -> None:
    assert_error(http.get("/databases/nope/changes"), 404, "not-found")
    http.post("/databases", json={"name": "shop"})
    bad = http.get(f"{BASE}/changes", params={"since_etag": -1})
    assert assert_error(bad, 400, "invalid-input")["field"] == "since_etag"
    assert_error(http.get(f"{BASE}/changes", params={"since_etag": "x"}), 400, "invalid-input")
