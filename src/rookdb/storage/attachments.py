"""Attachments: named binary streams on documents, stored as content-addressed chunked blobs.

Content is written and read in chunks so that a large attachment never sits
whole in memory; identical content is stored once (keyed by SHA-256).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from rookdb.errors import NotFound
from rookdb.storage.engine import WriteTx
from rookdb.storage.model import AttachmentInfo

CHUNK_SIZE = 1 << 20
_SELECT = "SELECT document_id, name, content_type, size, hash, etag FROM attachments"


def _chunks(source: BinaryIO | bytes | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        for offset in range(0, len(data), CHUNK_SIZE):
            yield data[offset : offset + CHUNK_SIZE]
        return
    read = getattr(source, "read", None)
    if read is not None:
        while chunk := read(CHUNK_SIZE):
            yield chunk
        return
    for chunk in source:
        if chunk:
            yield bytes(chunk)


def store_blob(tx: WriteTx, source: BinaryIO | bytes | Iterable[bytes]) -> tuple[str, int]:
    """Stream content into the blob store; return (sha256 hex, size)."""
    conn = tx.conn
    staging = f"staging-{tx.etag}-{id(source)}"
    digest = hashlib.sha256()
    size = 0
    for seq, chunk in enumerate(_chunks(source)):
        digest.update(chunk)
        size += len(chunk)
        conn.execute("INSERT INTO blob_chunks VALUES (?, ?, ?)", (staging, seq, chunk))
    content_hash = digest.hexdigest()
    exists = conn.execute("SELECT 1 FROM blobs WHERE hash = ?", (content_hash,)).fetchone()
    if exists:
        conn.execute("DELETE FROM blob_chunks WHERE hash = ?", (staging,))
    else:
        conn.execute("UPDATE blob_chunks SET hash = ? WHERE hash = ?", (content_hash, staging))
        conn.execute("INSERT INTO blobs VALUES (?, ?)", (content_hash, size))
    return content_hash, size


def put(
    tx: WriteTx,
    document_id: str,
    name: str,
    content_type: str,
    source: BinaryIO | bytes | Iterable[bytes],
) -> AttachmentInfo:
    content_hash, size = store_blob(tx, source)
    etag = tx.next_etag()
    lower = document_id.lower()
    old = tx.conn.execute(
        "SELECT hash FROM attachments WHERE document_lower = ? AND name = ?", (lower, name)
    ).fetchone()
    tx.conn.execute(
        "INSERT OR REPLACE INTO attachments VALUES (?, ?, ?, ?, ?, ?, ?)",
        (lower, document_id, name, content_type, size, content_hash, etag),
    )
    tx.conn.execute(
        "DELETE FROM tombstones WHERE kind = 'attachment' AND key = ?", (_key(lower, name),)
    )
    if old is not None and old[0] != content_hash:
        _collect_blob(tx.conn, old[0])
    return AttachmentInfo(document_id, name, content_type, size, content_hash, etag)


def delete(tx: WriteTx, document_id: str, name: str, *, tombstone: bool = True) -> int | None:
    lower = document_id.lower()
    row = tx.conn.execute(
        "SELECT hash, document_id FROM attachments WHERE document_lower = ? AND name = ?",
        (lower, name),
    ).fetchone()
    if row is None:
        return None
    tx.conn.execute("DELETE FROM attachments WHERE document_lower = ? AND name = ?", (lower, name))
    _collect_blob(tx.conn, row[0])
    if not tombstone:
        return 0
    etag = tx.next_etag()
    tx.conn.execute(
        "INSERT OR REPLACE INTO tombstones VALUES ('attachment', ?, ?, ?, NULL, ?, ?)",
        (_key(lower, name), row[1], name, etag, tx.now),
    )
    return etag


def write_tombstone(tx: WriteTx, document_id: str, name: str, etag: int, deleted_at: str) -> None:
    """Delete an attachment (when this copy has it) and record its tombstone as a source did.

    Recorded even for an attachment this copy never had (a follower that pulled
    after it was both added and deleted): a copy's change feed equals its source's,
    and whoever later follows this copy learns of the delete.
    """
    delete(tx, document_id, name, tombstone=False)
    tx.conn.execute(
        "INSERT OR REPLACE INTO tombstones VALUES ('attachment', ?, ?, ?, NULL, ?, ?)",
        (_key(document_id.lower(), name), document_id, name, etag, deleted_at),
    )


def delete_all(tx: WriteTx, document_id: str) -> None:
    """Remove a deleted document's attachments (its tombstone covers them)."""
    lower = document_id.lower()
    names = tx.conn.execute(
        "SELECT name FROM attachments WHERE document_lower = ?", (lower,)
    ).fetchall()
    for (name,) in names:
        delete(tx, document_id, name, tombstone=False)
    tx.conn.execute(
        "DELETE FROM tombstones WHERE kind = 'attachment' AND key LIKE ? ESCAPE '\\'",
        (_like_prefix(lower) + "%",),
    )


def info(conn: sqlite3.Connection, document_id: str, name: str) -> AttachmentInfo | None:
    row = conn.execute(
        _SELECT + " WHERE document_lower = ? AND name = ?", (document_id.lower(), name)
    ).fetchone()
    return AttachmentInfo(*row) if row else None


def list_for(conn: sqlite3.Connection, document_id: str) -> list[AttachmentInfo]:
    rows = conn.execute(
        _SELECT + " WHERE document_lower = ? ORDER BY name", (document_id.lower(),)
    ).fetchall()
    return [AttachmentInfo(*r) for r in rows]


def names(conn: sqlite3.Connection, document_id: str) -> list[str]:
    """Names of a document's attachments, in name order."""
    rows = conn.execute(
        "SELECT name FROM attachments WHERE document_lower = ? ORDER BY name",
        (document_id.lower(),),
    ).fetchall()
    return [str(name) for (name,) in rows]


def read_blob(conn: sqlite3.Connection, content_hash: str) -> Iterator[bytes]:
    """Stream a blob's chunks in order, one chunk in memory at a time."""
    seq = 0
    while True:
        row = conn.execute(
            "SELECT data FROM blob_chunks WHERE hash = ? AND seq = ?", (content_hash, seq)
        ).fetchone()
        if row is None:
            if (
                seq == 0
                and not conn.execute(
                    "SELECT 1 FROM blobs WHERE hash = ?", (content_hash,)
                ).fetchone()
            ):
                raise NotFound(f"attachment content {content_hash[:12]}… is missing")
            return
        yield row[0]
        seq += 1


def _collect_blob(conn: sqlite3.Connection, content_hash: str) -> None:
    still_used = conn.execute(
        "SELECT 1 FROM attachments WHERE hash = ? LIMIT 1", (content_hash,)
    ).fetchone()
    if not still_used:
        conn.execute("DELETE FROM blob_chunks WHERE hash = ?", (content_hash,))
        conn.execute("DELETE FROM blobs WHERE hash = ?", (content_hash,))


def _key(document_lower: str, name: str) -> str:
    return f"{document_lower}\x1f{name}"


def _like_prefix(document_lower: str) -> str:
    escaped = document_lower.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "\x1f"
