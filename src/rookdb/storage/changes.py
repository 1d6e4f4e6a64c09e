"""The change feed: every change after an etag, in etag order, from one read transaction.

This is the one API that backups, export and replication read the database
through. Each table that records changes is read with its own cursor over its
etag index and the streams are merged, so nothing is sorted in memory and
memory stays flat whatever the database size.
"""

from __future__ import annotations

import heapq
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import orjson

from rookdb.storage import attachments as attachment_store

ChangeKind = Literal["document", "tombstone", "attachment", "identity", "index"]


@dataclass(frozen=True, slots=True)
class DocumentChange:
    etag: int
    id: str
    collection: str
    last_modified: str
    change_vector: str
    body_json: str  # stored body text, kept raw so a backup never re-encodes it
    kind: ChangeKind = "document"


@dataclass(frozen=True, slots=True)
class TombstoneChange:
    etag: int
    of: Literal["document", "attachment", "index"]
    id: str  # document id, or index name when `of` is "index"
    name: str | None  # attachment name when `of` is "attachment"
    collection: str | None
    deleted_at: str
    kind: ChangeKind = "tombstone"


@dataclass(frozen=True, slots=True)
class AttachmentChange:
    etag: int
    document_id: str
    name: str
    content_type: str
    size: int
    hash: str
    kind: ChangeKind = "attachment"


@dataclass(frozen=True, slots=True)
class IdentityChange:
    etag: int
    name: str
    value: int
    kind: ChangeKind = "identity"


@dataclass(frozen=True, slots=True)
class IndexChange:
    etag: int
    name: str
    collection: str
    fields: tuple[str, ...]
    kind: ChangeKind = "index"


Change = DocumentChange | TombstoneChange | AttachmentChange | IdentityChange | IndexChange

# A document as a plain row, for readers that go through every document (a full
# backup): (etag, id, collection, last_modified, change_vector, body). The body
# is the stored UTF-8 text as bytes, so it is neither decoded nor encoded again.
DocumentRow = tuple[int, str, str, str, str, bytes]
# What `batches` yields: a run of consecutive documents, or one other change.
OtherChange = TombstoneChange | AttachmentChange | IdentityChange | IndexChange
ChangeBatch = list[DocumentRow] | OtherChange
ROW_BATCH = 1000


@dataclass(frozen=True, slots=True)
class FeedSummary:
    """What the feed's read transaction sees: the etag it is consistent up to."""

    last_etag: int
    database_id: str


class ChangeFeed:
    """An open read transaction over one database file; iterate it for changes.

    Use as a context manager. `last_etag` is the highest etag visible in this
    transaction, so a backup covering (since, last_etag] is exact even while
    writes continue on other connections.
    """

    def __init__(
        self, conn: sqlite3.Connection, since_etag: int = 0, *, owns_connection: bool = True
    ) -> None:
        self._conn = conn
        self._owns = owns_connection
        self.since_etag = since_etag
        conn.execute("BEGIN")
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        self.last_etag = int(meta["last_etag"])
        self.database_id = str(meta["database_id"])

    def __enter__(self) -> ChangeFeed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("COMMIT")
        if self._owns:
            self._conn.close()

    def __iter__(self) -> Iterator[Change]:
        return self.changes()

    def changes(self) -> Iterator[Change]:
        """Every change with since_etag < etag <= last_etag, in etag order."""
        return _merge_documents(self._documents(), self._others())

    def _others(self) -> Iterator[OtherChange]:
        """Every change but the documents, in etag order."""
        others: Iterator[OtherChange] = heapq.merge(
            self._tombstones(),
            self._attachments(),
            self._identities(),
            self._indexes(),
            key=_etag_of,
        )
        return others

    def batches(self) -> Iterator[ChangeBatch]:
        """The same changes as `changes`, in the same order, with documents as lists of rows.

        A full backup is nearly all documents: a tuple straight from SQLite per
        document, and one turn of the caller's loop per ~1,000 of them, instead of an
        object and a turn each (the backup's per-record cost was most of its time).
        """
        others = self._others()
        pending = next(others, None)
        for rows in self._document_rows():
            while pending is not None and pending.etag < rows[-1][0]:
                # Another change falls inside this run of documents: split it there.
                cut = 0
                while rows[cut][0] < pending.etag:
                    cut += 1
                if cut:
                    yield rows[:cut]
                    rows = rows[cut:]
                yield pending
                pending = next(others, None)
            yield rows
        if pending is not None:
            yield pending
            yield from others

    def documents(self) -> Iterator[DocumentChange]:
        """Only the documents (for callers that want them apart, such as a full dump)."""
        return self._documents()

    def read_attachment(self, content_hash: str) -> Iterator[bytes]:
        """Stream an attachment's bytes as this transaction sees them."""
        return attachment_store.read_blob(self._conn, content_hash)

    def attachment_names(self, document_id: str) -> list[str]:
        """Names of a document's attachments as this transaction sees them, in name order."""
        return attachment_store.names(self._conn, document_id)

    def count_documents(self) -> int:
        return int(
            self._conn.execute(
                "SELECT COUNT(*) FROM documents WHERE etag > ? AND etag <= ?",
                (self.since_etag, self.last_etag),
            ).fetchone()[0]
        )

    def _range(self, sql: str) -> sqlite3.Cursor:
        return self._conn.execute(sql, (self.since_etag, self.last_etag))

    def _documents(self) -> Iterator[DocumentChange]:
        cursor = self._range(
            "SELECT etag, id, collection, last_modified, change_vector, body FROM documents "
            "WHERE etag > ? AND etag <= ? ORDER BY etag"
        )
        cursor.arraysize = 1000
        make = DocumentChange
        while rows := cursor.fetchmany():
            for row in rows:
                yield make(*row)

    def _document_rows(self) -> Iterator[list[DocumentRow]]:
        cursor = self._range(
            "SELECT etag, id, collection, last_modified, change_vector, CAST(body AS BLOB) "
            "FROM documents WHERE etag > ? AND etag <= ? ORDER BY etag"
        )
        while rows := cursor.fetchmany(ROW_BATCH):
            yield rows

    def _tombstones(self) -> Iterator[TombstoneChange]:
        cursor = self._range(
            "SELECT etag, kind, id, name, collection, deleted_at FROM tombstones "
            "WHERE etag > ? AND etag <= ? ORDER BY etag"
        )
        for row in cursor:
            yield TombstoneChange(*row)

    def _attachments(self) -> Iterator[AttachmentChange]:
        cursor = self._range(
            "SELECT etag, document_id, name, content_type, size, hash FROM attachments "
            "WHERE etag > ? AND etag <= ? ORDER BY etag"
        )
        for row in cursor:
            yield AttachmentChange(*row)

    def _identities(self) -> Iterator[IdentityChange]:
        cursor = self._range(
            "SELECT etag, name, value FROM identities WHERE etag > ? AND etag <= ? ORDER BY etag"
        )
        for row in cursor:
            yield IdentityChange(*row)

    def _indexes(self) -> Iterator[IndexChange]:
        cursor = self._range(
            "SELECT etag, name, collection, fields FROM indexes "
            "WHERE etag > ? AND etag <= ? ORDER BY etag"
        )
        for etag, name, collection, fields in cursor:
            yield IndexChange(etag, name, collection, tuple(orjson.loads(fields)))


def _etag_of(change: Change) -> int:
    return change.etag


def _merge_documents(
    documents: Iterator[DocumentChange], others: Iterator[OtherChange]
) -> Iterator[Change]:
    """Documents and the (merged) other changes in one etag order.

    Documents are nearly every change, so each costs one comparison with the
    next other change rather than a turn through a heap with a key function:
    reading a 200,000-document feed took 1.0-1.3 s of CPU instead of 1.4-1.5 s.
    Etags are unique across tables, so there are no ties to order.
    """
    pending = next(others, None)
    for document in documents:
        while pending is not None and pending.etag < document.etag:
            yield pending
            pending = next(others, None)
        yield document
    if pending is not None:
        yield pending
        yield from others
