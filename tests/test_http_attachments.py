"""Attachments over HTTP: streamed upload and download, metadata, deletes, errors."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import httpx
import pytest

from rookdb import Instance
from rookdb.server import ServerThread
from test_http_documents import assert_error

BASE = "/databases/shop"


@pytest.fixture
def doc(http: httpx.Client) -> str:
    http.post("/databases", json={"name": "shop"})
    http.put(f"{BASE}/docs/users/1", json={"name": "Ann"})
    return "users/1"


def chunked(data: bytes, size: int = 256 * 1024) -> Iterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


def test_streamed_round_trip_of_a_few_megabytes(
    http: httpx.Client, doc: str, instance: Instance
) -> None:
    data = os.urandom(5 * 1024 * 1024 + 123)
    params = {"id": doc, "name": "photos/raw.bin"}
    put = http.put(
        f"{BASE}/attachments",
        params=params,
        content=chunked(data),  # chunked transfer encoding, no Content-Length
        headers={"content-type": "image/x-raw"},
    )
    assert put.status_code == 201, put.text
    info = put.json()
    assert info["size"] == len(data)
    assert info["hash"] == hashlib.sha256(data).hexdigest()
    assert info["content_type"] == "image/x-raw"

    received = bytearray()
    with http.stream("GET", f"{BASE}/attachments", params=params) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/x-raw"
        assert int(response.headers["content-length"]) == len(data)
        assert response.headers["x-rookdb-attachment-hash"] == info["hash"]
        assert response.headers["etag"] == f'"{info["etag"]}"'
        chunks = 0
        for chunk in response.iter_raw():
            received += chunk
            chunks += 1
    assert bytes(received) == data
    assert chunks > 1  # it arrived as a stream, not one body
    assert instance.database("shop").read_attachment(doc, "photos/raw.bin") == data


def test_attachments_are_not_bound_by_the_json_limit(instance: Instance) -> None:
    instance.create_database("shop").put("users/1", {})
    data = os.urandom(64 * 1024)
    with ServerThread(instance, max_json_body=1024) as server, httpx.Client() as http:
        put = http.put(
            f"{server.url}{BASE}/attachments", params={"id": "users/1", "name": "a"}, content=data
        )
        assert put.status_code == 201, put.text
    assert instance.database("shop").read_attachment("users/1", "a") == data


def test_list_head_delete(http: httpx.Client, doc: str) -> None:
    for name, ctype in (("b.txt", "text/plain"), ("a.json", "application/json")):
        http.put(
            f"{BASE}/attachments",
            params={"id": doc, "name": name},
            content=name.encode(),
            headers={"content-type": ctype},
        )
    listed = http.get(f"{BASE}/attachments/list", params={"id": doc}).json()["attachments"]
    assert sorted((a["name"], a["content_type"], a["size"]) for a in listed) == [
        ("a.json", "application/json", 6),
        ("b.txt", "text/plain", 5),
    ]
    head = http.head(f"{BASE}/attachments", params={"id": doc, "name": "b.txt"})
    assert head.status_code == 200 and head.headers["content-length"] == "5"
    assert head.content == b""
    assert http.get(f"{BASE}/attachments", params={"id": doc, "name": "b.txt"}).text == "b.txt"

    deleted = http.delete(f"{BASE}/attachments", params={"id": doc, "name": "b.txt"})
    assert deleted.json()["deleted"] is True
    again = http.delete(f"{BASE}/attachments", params={"id": doc, "name": "b.txt"})
    assert again.json()["deleted"] is False
    missing = http.get(f"{BASE}/attachments", params={"id": doc, "name": "b.txt"})
    assert_error(missing, 404, "not-found")
    assert http.head(f"{BASE}/attachments", params={"id": doc, "name": "b.txt"}).status_code == 404


def test_attachment_errors(http: httpx.Client, doc: str, instance: Instance) -> None:
    before = instance.database("shop").last_etag
    no_doc = http.put(f"{BASE}/attachments", params={"id": "users/404", "name": "x"}, content=b"1")
    assert "users/404" in str(assert_error(no_doc, 404, "not-found")["message"])
    no_name = http.put(f"{BASE}/attachments", params={"id": doc}, content=b"1")
    assert assert_error(no_name, 400, "invalid-input")["field"] == "name"
    empty_name = http.put(f"{BASE}/attachments", params={"id": doc, "name": ""}, content=b"1")
    assert_error(empty_name, 400, "invalid-input")
    no_db = http.put("/databases/nope/attachments", params={"id": doc, "name": "x"}, content=b"1")
    assert_error(no_db, 404, "not-found")
    assert instance.database("shop").last_etag == before
    # Deleting the document removes its attachments.
    http.put(f"{BASE}/attachments", params={"id": doc, "name": "x"}, content=b"1")
    http.delete(f"{BASE}/docs/{doc}")
    assert http.get(f"{BASE}/attachments/list", params={"id": doc}).json()["attachments"] == []
