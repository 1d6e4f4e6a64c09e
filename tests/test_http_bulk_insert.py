"""The HTTP bulk insert (JSON lines) against a real server: through `rookdb.Client`,
across batches, and bad input anywhere in the stream writing nothing."""

from __future__ import annotations

import httpx
import orjson
import pytest

from rookdb import Client, Instance
from rookdb.errors import InvalidInput

NDJSON = {"content-type": "application/x-ndjson"}


def lines(*items: object) -> bytes:
    return b"".join(orjson.dumps(item) + b"\n" for item in items)


def test_client_bulk_insert_crosses_batches_and_chunks(remote: Client, instance: Instance) -> None:
    db = instance.create_database("shop")
    db.put("users/7", {"name": "old"})
    db.delete("users/8")  # a tombstone the insert replaces
    # ~36 MB in all: past the 32 MB a JSON request body may have, which this route lifts.
    pad = "x" * 1_400
    docs = [(f"users/{n}", {"name": f"user {n}", "n": n, "pad": pad}) for n in range(25_000)]
    docs.append(("orders/1", {"total": 3.5, "@metadata": {"@collection": "Orders"}}))
    assert remote.database("shop").bulk_insert(iter(docs), lines_per_chunk=999) == 25_001
    assert db.count() == 25_001
    assert db.get("users/7").body == {"name": "user 7", "n": 7, "pad": pad}  # type: ignore[union-attr]
    assert db.get("users/24999").body["n"] == 24_999  # type: ignore[union-attr]
    assert db.collections() == {"Users": 25_000, "Orders": 1}
    # Each document its own etag, in the order sent.
    etags = [doc.etag for doc in db.get_many(["users/0", "users/1", "users/24999"])]  # type: ignore[union-attr]
    assert etags[0] < etags[1] < etags[2]
    assert [c.id for c in db.changes(etags[2] - 1)] == ["users/24999", "orders/1"]


def test_answer_says_how_many_and_the_etag(http: httpx.Client, instance: Instance) -> None:
    db = instance.create_database("shop")
    body = lines({"id": "a/1", "body": {}}, {"id": "a/2", "body": {"x": [1, 2]}})
    answer = http.post("/databases/shop/bulk-insert", content=body + b"\n\n", headers=NDJSON)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"inserted": 2, "last_etag": db.last_etag}
    assert db.last_etag == 2


@pytest.mark.parametrize(
    ("bad_line", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", '{"id": "...", "body": {...}}'),
        (b'{"id": "a/9", "body": {}, "extra": 1}', '{"id": "...", "body": {...}}'),
        (b'{"id": 5, "body": {}}', "must be a string"),
        (b'{"id": "a/9", "body": [1]}', "JSON object"),
        (b'{"id": "users|", "body": {}}', "whole ids"),
        (b'{"id": "a\\u0001b", "body": {}}', "control characters"),
        (b'{"id": "a/9", "body": {"n": 123456789012345678901234567890}}', "not valid JSON"),
        (b'{"id": "a/9", "body": ' + b"[" * 2000 + b"]" * 2000 + b"}", "not valid JSON"),
        (b'{"id": "a/9", "body": {"a": ' + b"[" * 300 + b"1" * 30 + b"]" * 300 + b"}}", "JSON"),
    ],
    ids=[
        "syntax",
        "array",
        "extra-key",
        "id-type",
        "body-type",
        "identity",
        "control",
        "bigint",
        "deep",
        "deep-bigint",
    ],  # fmt: skip
)
def test_a_bad_line_anywhere_writes_nothing(
    http: httpx.Client, instance: Instance, bad_line: bytes, says: str
) -> None:
    db = instance.create_database("shop")
    good = lines(*({"id": f"users/{n}", "body": {"n": n}} for n in range(15_000)))
    answer = http.post(
        "/databases/shop/bulk-insert", content=good + bad_line + b"\n" + good, headers=NDJSON
    )
    assert answer.status_code == 400, answer.text
    message = answer.json()["message"]
    assert "line 15001" in message and says in message and "nothing was inserted" in message
    assert db.count() == 0 and db.last_etag == 0


def test_client_refuses_a_body_it_cannot_send_and_nothing_is_written(
    remote: Client, instance: Instance
) -> None:
    db = instance.create_database("shop")
    docs = [("users/1", {"n": 1}), ("users/2", {"n": {1, 2}})]
    with pytest.raises(InvalidInput, match="users/2"):
        remote.database("shop").bulk_insert(iter(docs))
    assert db.count() == 0


def test_unknown_database_is_404_before_the_body_is_read(http: httpx.Client) -> None:
    answer = http.post("/databases/nope/bulk-insert", content=lines({"id": "a", "body": {}}))
    assert answer.status_code == 404 and answer.json()["error"] == "not-found"
