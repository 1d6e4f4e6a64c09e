"""Documents and their tombstones: the SQL behind put, get, delete and listing."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from rookdb.errors import ConcurrencyConflict, InvalidInput
from rookdb.storage.engine import WriteTx
from rookdb.storage.model import Document, PutResult, check_document_id, collection_for

_SELECT = "SELECT id, collection, etag, last_modified, change_vector, body FROM documents"
_INSERT = (
    "INSERT OR REPLACE INTO documents"
    "(etag, id_lower, id, collection, collection_lower, last_modified, change_vector, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_TOMBSTONE = "INSERT OR REPLACE INTO tombstones VALUES ('document', ?, ?, NULL, ?, ?, ?)"
_DROP_TOMBSTONE = "DELETE FROM tombstones WHERE kind = 'document' AND key = ?"


def row_to_document(row: tuple[Any, ...]) -> Document:
    return Document(row[0], row[1], row[2], row[3], row[4], orjson.loads(row[5]))


def encode_body(body: object) -> tuple[dict[str, Any], str]:
    """Check a body is a JSON object and return it with its stored text (no @metadata)."""
    if not isinstance(body, dict):
        raise InvalidInput("a document must be a JSON object", field="body")
    if "@metadata" not in body:
        return body, _dumps(body)
    stored = {k: v for k, v in body.items() if k != "@metadata"}
    meta = body.get("@metadata")
    if isinstance(meta, dict):
        # Keep user metadata (e.g. @collection, @flags); drop what the database owns.
        kept = {
            k: v
            for k, v in meta.items()
            if k not in ("@id", "@etag", "@last-modified", "@change-vector")
        }
        if kept:
            stored["@metadata"] = kept
    return stored, _dumps(stored)


def _dumps(body: dict[str, Any]) -> str:
    # orjson refuses non-JSON values and nesting deeper than 254 levels.
    try:
        text = orjson.dumps(body)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise InvalidInput(f"document body is not valid JSON: {exc}", field="body") from exc
    # But it writes NaN and Infinity as null: the document would come back changed.
    # Only a body whose text holds a null can have one, so most are never walked.
    if b"null" in text and _has_non_finite(body):
        raise InvalidInput(
            "document body holds NaN or Infinity, which JSON does not have", field="body"
        )
    return text.decode()


def _has_non_finite(value: object) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


def get(conn: sqlite3.Connection, doc_id: str) -> Document | None:
    row = conn.execute(_SELECT + " WHERE id_lower = ?", (doc_id.lower(),)).fetchone()
    return row_to_document(row) if row else None


def get_many(conn: sqlite3.Connection, ids: Iterable[str]) -> list[Document | None]:
    return [get(conn, doc_id) for doc_id in ids]


def current_etag(conn: sqlite3.Connection, doc_id: str) -> int | None:
    row = conn.execute(
        "SELECT etag FROM documents WHERE id_lower = ?", (doc_id.lower(),)
    ).fetchone()
    return row[0] if row else None


def check_expected(conn: sqlite3.Connection, doc_id: str, expected_etag: int | None) -> None:
    """Optimistic concurrency: 0 means "must not exist", N means "must be at etag N"."""
    if expected_etag is None:
        return
    actual = current_etag(conn, doc_id)
    if expected_etag == 0 and actual is not None:
        raise ConcurrencyConflict(f"document {doc_id!r} already exists (etag {actual})")
    if expected_etag != 0 and actual != expected_etag:
        found = "it does not exist" if actual is None else f"it is at etag {actual}"
        raise ConcurrencyConflict(
            f"document {doc_id!r} was expected at etag {expected_etag} but {found}"
        )


def put(
    tx: WriteTx, doc_id: str, text: str, collection: str, *, last_modified: str | None = None
) -> PutResult:
    """Insert or replace one document; its tombstone, if any, goes away."""
    etag = tx.next_etag()
    lower = doc_id.lower()
    cv = tx.change_vector(etag)
    conn = tx.conn
    previous = conn.execute(
        "SELECT id, collection_lower FROM documents WHERE id_lower = ?", (lower,)
    ).fetchone()
    if previous is not None and previous[1] != collection.lower():
        raise InvalidInput(
            f"document {doc_id!r} belongs to another collection; delete it first",
            field="@metadata.@collection",
        )
    stored_id = previous[0] if previous is not None else doc_id
    conn.execute(
        _INSERT,
        (etag, lower, stored_id, collection, collection.lower(), last_modified or tx.now, cv, text),
    )
    conn.execute(_DROP_TOMBSTONE, (lower,))
    return PutResult(stored_id, etag, cv)


# Ids looked up per statement by `put_many` (SQLite allows 32,766 variables).
_LOOKUP_BATCH = 5_000


def put_many(tx: WriteTx, docs: Sequence[tuple[str, str, str, str]]) -> bool:
    """`put` for each (id, collection, last_modified, text), in order, in a few statements.

    False, with nothing written and no etag taken, when `put` one by one would differ:
    a document stored in another collection (the caller deletes it first) or an id
    that comes twice.
    """
    lowers = [doc_id.lower() for doc_id, _collection, _modified, _text in docs]
    if len(set(lowers)) != len(lowers):
        return False
    conn = tx.conn
    stored: dict[str, tuple[str, str]] = {}
    for first in range(0, len(lowers), _LOOKUP_BATCH):
        part = lowers[first : first + _LOOKUP_BATCH]
        marks = ",".join("?" * len(part))
        for lower, stored_id, collection_lower in conn.execute(
            f"SELECT id_lower, id, collection_lower FROM documents WHERE id_lower IN ({marks})",
            part,
        ):
            stored[lower] = (stored_id, collection_lower)
    for (_doc_id, collection, _modified, _text), lower in zip(docs, lowers, strict=True):
        previous = stored.get(lower)
        if previous is not None and previous[1] != collection.lower():
            return False
    rows = []
    for (doc_id, collection, modified, text), lower in zip(docs, lowers, strict=True):
        etag = tx.next_etag()
        previous = stored.get(lower)
        stored_id = previous[0] if previous is not None else doc_id
        cv = tx.change_vector(etag)
        modified = modified or tx.now  # as `put` does
        rows.append((etag, lower, stored_id, collection, collection.lower(), modified, cv, text))
    conn.executemany(_INSERT, rows)
    _drop_tombstones(conn, lowers)
    return True


def _drop_tombstones(conn: sqlite3.Connection, lowers: Iterable[str]) -> None:
    # Most databases being loaded have no document tombstone: one look saves a delete each.
    has_tombstones = conn.execute(
        "SELECT EXISTS(SELECT 1 FROM tombstones WHERE kind = 'document')"
    ).fetchone()[0]
    if has_tombstones:
        conn.executemany(_DROP_TOMBSTONE, ((lower,) for lower in lowers))


# A document checked and encoded for `bulk_put`: (id, body, its stored text).
EncodedDocument = tuple[str, dict[str, Any], str]


def encoded(doc_id: str, body: object) -> EncodedDocument:
    """`doc_id` and `body` checked, with the body's stored text; InvalidInput when not."""
    check_document_id(doc_id)
    stored, text = encode_body(body)
    return doc_id, stored, text


def bulk_put(tx: WriteTx, docs: Iterable[EncodedDocument]) -> int:
    """Insert many new-or-replaced documents, checked and encoded (see `encoded`), in the
    current transaction (fast path)."""
    rows = []
    now = tx.now
    for doc_id, body, text in docs:
        collection = collection_for(doc_id, body)
        etag = tx.next_etag()
        rows.append(
            (
                etag,
                doc_id.lower(),
                doc_id,
                collection,
                collection.lower(),
                now,
                tx.change_vector(etag),
                text,
            )
        )
    tx.conn.executemany(_INSERT, rows)
    _drop_tombstones(tx.conn, (row[1] for row in rows))
    return len(rows)


def delete(tx: WriteTx, doc_id: str) -> int | None:
    """Delete a document and its attachments; leave a tombstone. None when missing."""
    lower = doc_id.lower()
    row = tx.conn.execute(
        "SELECT id, collection FROM documents WHERE id_lower = ?", (lower,)
    ).fetchone()
    if row is None:
        return None
    etag = tx.next_etag()
    tx.conn.execute("DELETE FROM documents WHERE id_lower = ?", (lower,))
    tx.conn.execute(_INSERT_TOMBSTONE, (lower, row[0], row[1], etag, tx.now))
    return etag


# -- for the bulk loader (restore and import) -------------------------------------
def stored_collection(conn: sqlite3.Connection, doc_id: str) -> str | None:
    """The lower-cased collection of a stored document; None when there is none."""
    row = conn.execute(
        "SELECT collection_lower FROM documents WHERE id_lower = ?", (doc_id.lower(),)
    ).fetchone()
    return str(row[0]) if row else None


def write_rows(conn: sqlite3.Connection, rows: Iterable[tuple[object, ...]]) -> None:
    """Write whole document rows as recorded, in one statement.

    A row is (etag, id_lower, id, collection, collection_lower, last_modified,
    change_vector, body text), in the order of the table's columns.
    """
    conn.executemany(_INSERT, rows)


def drop_tombstone(conn: sqlite3.Connection, doc_id: str) -> None:
    conn.execute(_DROP_TOMBSTONE, (doc_id.lower(),))


def write_tombstone(
    conn: sqlite3.Connection, doc_id: str, collection: str | None, etag: int, deleted_at: str
) -> None:
    """Replace a document by its tombstone, with the etag and time a backup recorded."""
    lower = doc_id.lower()
    conn.execute("DELETE FROM documents WHERE id_lower = ?", (lower,))
    conn.execute(_INSERT_TOMBSTONE, (lower, doc_id, collection, etag, deleted_at))


def list_collection(
    conn: sqlite3.Connection, collection: str | None, start: int, page_size: int
) -> list[Document]:
    if collection is None:
        sql = _SELECT + " ORDER BY id_lower LIMIT ? OFFSET ?"
        rows = conn.execute(sql, (page_size, start)).fetchall()
    else:
        sql = _SELECT + " WHERE collection_lower = ? ORDER BY id_lower LIMIT ? OFFSET ?"
        rows = conn.execute(sql, (collection.lower(), page_size, start)).fetchall()
    return [row_to_document(r) for r in rows]


def collections(conn: sqlite3.Connection) -> dict[str, int]:
    rows = conn.execute(
        "SELECT MIN(collection), COUNT(*) FROM documents GROUP BY collection_lower ORDER BY 1"
    ).fetchall()
    return {name: count for name, count in rows}


def count(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0])
