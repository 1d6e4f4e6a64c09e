"""Attachments (streamed, etagged) and indexes (built over existing documents, queried)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator

import pytest

from rookdb import Database
from rookdb.errors import BackupCorrupted, InvalidInput, NotFound
from rookdb.storage import AttachmentChange, TombstoneChange
from rookdb.storage.database import NewAttachment


def test_attachment_round_trip_streamed_in_chunks(db: Database) -> None:
    db.put("users/1", {"name": "Ann"})
    payload = bytes(range(256)) * 12_000  # ~3 MB: several chunks
    info = db.put_attachment("users/1", "photo.bin", io.BytesIO(payload), "image/png")
    assert info.size == len(payload)
    assert info.hash == hashlib.sha256(payload).hexdigest()
    assert info.etag == db.last_etag
    got_info, stream = db.get_attachment("USERS/1", "photo.bin")
    chunks = list(stream)
    assert len(chunks) > 1
    assert b"".join(chunks) == payload
    assert got_info.content_type == "image/png"
    assert [a.name for a in db.list_attachments("users/1")] == ["photo.bin"]


def test_attachment_needs_a_document_and_delete_leaves_tombstone(db: Database) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        db.put_attachment("users/404", "a.txt", b"x")
    db.put("users/1", {})
    db.put_attachment("users/1", "a.txt", b"hello", "text/plain")
    assert db.delete_attachment("users/1", "a.txt") is True
    with pytest.raises(NotFound):
        db.read_attachment("users/1", "a.txt")
    with db.changes() as feed:
        kinds = [(c.kind, getattr(c, "of", None)) for c in feed]
    assert ("tombstone", "attachment") in kinds


def test_a_document_and_its_attachments_are_put_all_or_nothing(db: Database) -> None:
    db.put("orders/1", {"total": 1})
    db.put_attachment("orders/1", "old.txt", b"old")
    before = db.last_etag

    def breaks_half_way() -> Iterator[bytes]:
        yield b"first part"
        raise BackupCorrupted("block 3 of the backup file is damaged")

    with pytest.raises(BackupCorrupted):
        db.put_with_attachments(
            "orders/1",
            {"total": 2},
            [
                NewAttachment("a.txt", "text/plain", b"whole"),
                NewAttachment("b.txt", "text/plain", breaks_half_way()),
            ],
        )
    assert db.last_etag == before and db.get("orders/1").body == {"total": 1}  # type: ignore[union-attr]
    assert [a.name for a in db.list_attachments("orders/1")] == ["old.txt"]

    put = db.put_with_attachments(
        "orders/1", {"total": 2}, [NewAttachment("a.txt", "text/plain", b"whole")]
    )
    assert db.get("orders/1").body == {"total": 2}  # type: ignore[union-attr]
    assert [a.name for a in db.list_attachments("orders/1")] == ["a.txt"]  # old.txt replaced
    assert db.read_attachment("orders/1", "a.txt") == b"whole" and put.etag < db.last_etag


def test_identical_content_is_stored_once_and_freed_when_unused(db: Database) -> None:
    db.put("users/1", {})
    db.put("users/2", {})
    db.put_attachment("users/1", "a", b"same bytes")
    db.put_attachment("users/2", "b", b"same bytes")
    conn = db.engine.reader()
    assert conn.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 1
    db.delete("users/1")
    assert db.read_attachment("users/2", "b") == b"same bytes"
    db.delete("users/2")
    assert conn.execute("SELECT COUNT(*) FROM blob_chunks").fetchone()[0] == 0


def test_attachment_changes_stream_bytes_from_the_feed(db: Database) -> None:
    db.put("users/1", {})
    db.put_attachment("users/1", "a", b"abc" * 1000)
    with db.changes() as feed:
        att = [c for c in feed if isinstance(c, AttachmentChange)][0]
        assert b"".join(feed.read_attachment(att.hash)) == b"abc" * 1000


def test_index_builds_over_existing_documents_and_answers_queries(db: Database) -> None:
    db.bulk_insert(
        (f"users/{i}", {"age": i, "city": "Oslo" if i % 2 else "Rome"}) for i in range(50)
    )
    db.put("orders/1", {"age": 10})
    db.create_index("UsersByAgeCity", "Users", ["age", "city"])
    result = db.query("Users", [("age", ">=", 40), ("city", "=", "Oslo")], order_by="-age")
    assert [d.body["age"] for d in result.documents] == [49, 47, 45, 43, 41]
    assert result.total == 5
    page = db.query("Users", [("age", "<", 10)], start=5, page_size=3, order_by="age")
    assert [d.body["age"] for d in page.documents] == [5, 6, 7]
    assert db.query("Users", [("age", "in", [1, 2, 99])]).total == 2


def test_index_is_used_by_sqlite_for_the_query(db: Database) -> None:
    db.create_index("ByAge", "Users", ["age"])
    plan = (
        db.engine.reader()
        .execute(
            "EXPLAIN QUERY PLAN SELECT id FROM documents WHERE collection_lower = ? "
            "AND json_extract(body, '$.age') > ?",
            ("users", 3),
        )
        .fetchall()
    )
    assert any("USING INDEX ix_" in row[-1] for row in plan)


def test_query_on_unindexed_field_is_rejected(db: Database) -> None:
    db.create_index("ByAge", "Users", ["age"])
    with pytest.raises(InvalidInput, match=r"'name' is not indexed .*\(indexed fields: age\)"):
        db.query("Users", [("name", "=", "Ann")])
    with pytest.raises(InvalidInput, match="unknown operator"):
        db.query("Users", [("age", "~", 1)])


def test_bad_index_definitions_are_rejected(db: Database) -> None:
    with pytest.raises(InvalidInput, match="not a valid field path"):
        db.create_index("Bad", "Users", ["age'); DROP TABLE documents; --"])
    with pytest.raises(InvalidInput, match="at least one field"):
        db.create_index("Bad", "Users", [])
    assert db.list_indexes() == []


def test_delete_index_leaves_a_tombstone(db: Database) -> None:
    db.create_index("ByAge", "Users", ["age"])
    assert db.delete_index("ByAge") is True
    with db.changes() as feed:
        tombs = [c for c in feed if isinstance(c, TombstoneChange)]
    assert [(t.of, t.id) for t in tombs] == [("index", "ByAge")]
