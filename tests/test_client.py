"""`rookdb.Client` against a live server: same methods, values and errors as embedded."""

from __future__ import annotations

import io
import os
import socket
from pathlib import Path
from typing import Any

import pytest

import rookdb
from rookdb import Client, Instance
from rookdb.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    InvalidInput,
    NotFound,
    ServerUnreachable,
)
from rookdb.storage import BatchOperation, Condition


def scenario(target: Any) -> list[Any]:
    """The same calls on an Instance or a Client; returns what to compare."""
    out: list[Any] = []
    db = target.create_database("shop")
    out.append(db.put("users/1", {"name": "Ann", "age": 30}).etag)
    out.append(db.put("users|", {"name": "Bob", "age": 40}).id)  # replaces users/1
    out.append(db.put("users/5", {"name": "Dee", "age": 50}).etag)
    out.append(db.put("People/7", {"name": "Cy", "@metadata": {"@collection": "Staff"}}).id)
    out.append(db.put("orders/1", {"total": 3}, expected_etag=0).etag)
    for doc in [db.get("USERS/1"), db.get("people/7"), db.get("nope/1")]:
        out.append(None if doc is None else (doc.id, doc.collection, doc.etag, doc.body))
    out.append([d.id if d else None for d in db.get_many(["orders/1", "x/1", "users/1"])])
    out.append([(d.id, d.body) for d in db.list_documents("Users", start=0, page_size=10)])
    out.append(db.collections())
    out.append(db.count())
    results = db.batch(
        [
            BatchOperation("put", "orders/2", {"total": 9}),
            BatchOperation("delete", "orders/1"),
            BatchOperation("delete", "orders/404"),
        ]
    )
    out.append([(r.type, r.id, r.etag, r.deleted) for r in results])
    out.append(db.delete("orders/2"))
    out.append(db.delete("orders/2"))
    index = db.create_index("by-age", "Users", ["age"])
    out.append((index.name, index.collection, index.fields, index.etag))
    out.append(db.get_index("by-age") == index)
    out.append(db.get_index("missing"))
    out.append([i.name for i in db.list_indexes()])
    result = db.query("Users", [("age", ">", 35)], order_by="-age")
    out.append((result.total, [d.id for d in result.documents]))
    result = db.query("Users", [Condition("age", "in", [30, 40])], page_size=1, start=1)
    out.append((result.total, [d.id for d in result.documents]))
    out.append(db.delete_index("by-age"))
    out.append(db.identities())
    info = db.put_attachment("users/1", "a.txt", b"hello", "text/plain")
    out.append((info.document_id, info.name, info.content_type, info.size, info.hash, info.etag))
    out.append(db.read_attachment("users/1", "a.txt"))
    out.append([a.name for a in db.list_attachments("users/1")])
    out.append(db.attachment_info("users/1", "nope"))
    out.append(db.delete_attachment("users/1", "a.txt"))
    stats = db.stats()
    out.append((stats.documents, stats.collections, stats.attachments, stats.last_etag))
    out.append(sorted(target.database_names()))
    out.append(target.has_database("shop"))
    out.append(target.has_database("other"))
    return out


def test_client_gives_the_same_answers_as_embedded(
    remote: Client, tmp_path: Path, instance: Instance
) -> None:
    with rookdb.open(tmp_path / "embedded") as embedded:
        expected = scenario(embedded)
    got = scenario(remote)
    assert got == expected
    # And the server really holds the data.
    assert instance.database("shop").get("users/1").body == {"name": "Bob", "age": 40}


def test_errors_come_back_as_the_same_classes(remote: Client, instance: Instance) -> None:
    db = remote.create_database("shop")
    with pytest.raises(AlreadyExists):
        remote.create_database("shop")
    with pytest.raises(NotFound, match="'nope'"):
        remote.database("nope")
    with pytest.raises(InvalidInput) as bad_name:
        remote.create_database("../x")
    assert bad_name.value.field == "name"
    etag = db.put("users/1", {"v": 1}).etag
    with pytest.raises(ConcurrencyConflict, match="expected at etag"):
        db.put("users/1", {"v": 2}, expected_etag=etag + 5)
    with pytest.raises(ConcurrencyConflict):
        db.delete("users/1", expected_etag=etag + 5)
    with pytest.raises(InvalidInput) as empty:
        db.put("", {"v": 1})
    assert empty.value.field == "id"
    with pytest.raises(InvalidInput, match="not indexed"):
        db.query("Users", [("v", "==", 1)])
    with pytest.raises(NotFound):
        db.put_attachment("users/404", "a", b"x")
    with pytest.raises(NotFound):
        db.get_attachment("users/1", "missing")
    # A missing document is None, but a missing database is an error.
    assert db.get("users/2") is None
    remote.delete_database("shop")
    with pytest.raises(NotFound, match="database"):
        db.get("users/1")
    assert instance.database_names() == []


def test_attachments_stream_from_a_file_and_back(remote: Client, tmp_path: Path) -> None:
    db = remote.create_database("shop")
    db.put("users/1", {})
    data = os.urandom(3 * 1024 * 1024 + 17)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    with source.open("rb") as f:
        info = db.put_attachment("users/1", "big.bin", f, "application/x-big")
    assert info.size == len(data)
    got_info, chunks = db.get_attachment("users/1", "big.bin")
    assert got_info == info
    received = list(chunks)
    assert len(received) > 1 and b"".join(received) == data
    from_iterable = db.put_attachment("users/1", "parts", (bytes([i]) * 1000 for i in range(50)))
    assert from_iterable.size == 50_000
    assert db.put_attachment("users/1", "io", io.BytesIO(b"abc")).size == 3


def test_changes_iterate_as_dicts(remote: Client) -> None:
    db = remote.create_database("shop")
    db.put("users/1", {"n": 1})
    db.put("users/2", {"n": 2})
    db.delete("users/1")
    changes = list(db.changes())
    assert [(c["kind"], c["etag"]) for c in changes] == [("document", 2), ("tombstone", 3)]
    assert changes[0]["body"] == {"n": 2}
    assert list(db.changes(since_etag=3)) == []
    assert db.last_etag == 3


def test_unreachable_server_names_the_url() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with Client(url, timeout=5) as client, pytest.raises(ServerUnreachable) as err:
        client.list_databases()
    assert f"cannot reach rookdb at {url}" in err.value.message
    assert err.value.retryable


def test_ids_with_url_characters_round_trip(remote: Client, instance: Instance) -> None:
    db = remote.create_database("shop")
    for doc_id in ("a/../b", "./c", "d/.", "e//f", "sp ace/%41?#&x=1", "ünï/cödé"):
        assert db.put(doc_id, {"v": doc_id}).id == doc_id
        got = db.get(doc_id)
        assert got is not None and got.body == {"v": doc_id}
        assert instance.database("shop").get(doc_id) is not None
    assert db.delete("a/../b") and instance.database("shop").get("b") is None
