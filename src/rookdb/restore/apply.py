"""Replaying backup records into a database.

Two modes share the record handling:

* ``keep_etags`` (restore into a fresh staging file): rows are written with
  the etags, change vectors and times they had in the source, documents in
  large ``executemany`` batches, and a full backup's index definitions are
  built once, after the documents (one sorted pass per index instead of
  index maintenance on every insert). The restored change feed has the same
  order and ends at the same etag as the source did.
* live (``import --incremental`` onto an existing database): every change
  goes through the storage functions and gets a fresh etag, so the target's
  own backups and followers see the imported changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from rookdb.backup.format import (
    AttachmentRecord,
    BackupReader,
    DocumentRecord,
    IdentityRecord,
    IndexRecord,
    Record,
    TombstoneRecord,
)
from rookdb.errors import BackupCorrupted
from rookdb.storage import attachments as attachment_store
from rookdb.storage import documents as document_store
from rookdb.storage import identities as identity_store
from rookdb.storage import indexes as index_store
from rookdb.storage import schema
from rookdb.storage.engine import Engine, WriteTx

# The storage schema's own statement, so the index comes back exactly as defined.
_COLLECTION_INDEX = next(s for s in schema.DDL.split(";") if "documents_collection" in s)
RECORDS_PER_TRANSACTION = 50_000
DOCUMENT_BATCH = 5_000

_INSERT_DOCUMENT = (
    "INSERT OR REPLACE INTO documents"
    "(etag, id_lower, id, collection, collection_lower, last_modified, change_vector, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_TOMBSTONE = (
    "INSERT OR REPLACE INTO tombstones(kind, key, id, name, collection, etag, deleted_at)"
    " VALUES ('document', ?, ?, NULL, ?, ?, ?)"
)


@dataclass
class ApplyCounts:
    """How many records of each kind were applied."""

    documents: int = 0
    deletes: int = 0
    attachments: int = 0
    attachment_deletes: int = 0
    identities: int = 0
    indexes: int = 0
    index_deletes: int = 0
    by_file: dict[str, int] = field(default_factory=dict)

    def add(self, other: ApplyCounts) -> None:
        for name in TRAILER_COUNTS.values():
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def trailer_mismatches(self, trailer_counts: dict[str, int]) -> list[str]:
        """Where the records applied from a file differ from the counts its trailer records."""
        return [
            f"{name}: the trailer says {trailer_counts.get(name, 0)}, the file holds "
            f"{getattr(self, attr)}"
            for name, attr in TRAILER_COUNTS.items()
            if trailer_counts.get(name, 0) != getattr(self, attr)
        ]


# A trailer's count name -> the ApplyCounts field that counts the same records.
TRAILER_COUNTS = {
    "documents": "documents",
    "tombstones": "deletes",
    "attachments": "attachments",
    "attachment_tombstones": "attachment_deletes",
    "identities": "identities",
    "indexes": "indexes",
    "index_tombstones": "index_deletes",
}


class Applier:
    """Applies the records of backup files, in chain order, to one database engine."""

    def __init__(self, engine: Engine, *, keep_etags: bool, apply_deletes: bool = True) -> None:
        self.engine = engine
        self.keep_etags = keep_etags
        self.apply_deletes = apply_deletes
        self._docs: list[tuple[object, ...]] = []
        self._deferred_indexes: dict[str, IndexRecord] = {}
        self._defer = False
        self._counts = ApplyCounts()

    def apply(
        self,
        reader: BackupReader,
        *,
        fresh: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> ApplyCounts:
        """Replay every record of `reader`; `fresh` means the target was empty (a full file)."""
        self._counts = ApplyCounts()
        self._defer = fresh and self.keep_etags
        if self._defer:
            # Loading into an empty file: build the collection index once at the
            # end (one sorted pass) instead of maintaining it on every insert.
            with self.engine.write() as tx:
                tx.conn.execute("DROP INDEX IF EXISTS documents_collection")
        records: Iterator[Record] = reader.records()
        finished = False
        while not finished:
            with self.engine.write() as tx:
                done = 0
                for record in records:
                    self._apply(tx, record)
                    done += 1
                    if done >= RECORDS_PER_TRANSACTION:
                        break
                else:
                    finished = True
                self._flush_documents(tx)
                if finished:
                    self._finish(tx, reader.header.last_etag)
                if progress is not None:
                    progress(done)
        return self._counts

    # -- one record --------------------------------------------------------------
    def _apply(self, tx: WriteTx, record: Record) -> None:
        if isinstance(record, DocumentRecord):
            self._document(tx, record)
        elif isinstance(record, TombstoneRecord):
            if self.apply_deletes:
                self._flush_documents(tx)
                self._tombstone(tx, record)
        elif isinstance(record, AttachmentRecord):
            self._attachment(tx, record)
        elif isinstance(record, IdentityRecord):
            self._at(tx, record.etag)
            identity_store.set_value(tx, record.name, record.value)
            self._counts.identities += 1
        elif isinstance(record, IndexRecord):
            self._counts.indexes += 1
            if self._defer:
                self._deferred_indexes[record.name.lower()] = record
            else:
                self._at(tx, record.etag)
                index_store.define(tx, record.name, record.collection, list(record.fields))

    def _at(self, tx: WriteTx, etag: int) -> None:
        # With keep_etags the next etag the storage functions hand out is the source's.
        if self.keep_etags:
            tx.etag = etag - 1

    def _document(self, tx: WriteTx, record: DocumentRecord) -> None:
        self._counts.documents += 1
        lower = record.id.lower()
        if record.attachments is not None:
            self._prune_attachments(tx, record.id, set(record.attachments))
        if self.keep_etags:
            if not self._defer:
                tx.conn.execute(
                    "DELETE FROM tombstones WHERE kind = 'document' AND key = ?", (lower,)
                )
            self._docs.append(
                (
                    record.etag,
                    lower,
                    record.id,
                    record.collection,
                    record.collection.lower(),
                    record.last_modified,
                    record.change_vector,
                    record.body,
                )
            )
            if len(self._docs) >= DOCUMENT_BATCH:
                self._flush_documents(tx)
            return
        row = tx.conn.execute(
            "SELECT collection_lower FROM documents WHERE id_lower = ?", (lower,)
        ).fetchone()
        if row is not None and row[0] != record.collection.lower():
            # Deleted and re-created in another collection in the source.
            attachment_store.delete_all(tx, record.id)
            document_store.delete(tx, record.id)
        document_store.put(
            tx, record.id, record.body, record.collection, last_modified=record.last_modified
        )

    def _prune_attachments(self, tx: WriteTx, doc_id: str, keep: set[str]) -> None:
        for (name,) in tx.conn.execute(
            "SELECT name FROM attachments WHERE document_lower = ?", (doc_id.lower(),)
        ).fetchall():
            if name not in keep:
                attachment_store.delete(tx, doc_id, name, tombstone=False)

    def _flush_documents(self, tx: WriteTx) -> None:
        if self._docs:
            tx.conn.executemany(_INSERT_DOCUMENT, self._docs)
            self._docs.clear()

    def _tombstone(self, tx: WriteTx, record: TombstoneRecord) -> None:
        if record.of == "document":
            self._counts.deletes += 1
            attachment_store.delete_all(tx, record.id)
            if self.keep_etags:
                tx.conn.execute("DELETE FROM documents WHERE id_lower = ?", (record.id.lower(),))
                tx.conn.execute(
                    _INSERT_TOMBSTONE,
                    (
                        record.id.lower(),
                        record.id,
                        record.collection,
                        record.etag,
                        record.deleted_at,
                    ),
                )
            else:
                document_store.delete(tx, record.id)
        elif record.of == "attachment":
            self._counts.attachment_deletes += 1
            if record.name is not None:
                self._at(tx, record.etag)
                attachment_store.delete(tx, record.id, record.name)
        elif record.of == "index":
            self._counts.index_deletes += 1
            if self._defer:
                self._deferred_indexes.pop(record.id.lower(), None)
            else:
                self._at(tx, record.etag)
                index_store.drop(tx, record.id)

    def _attachment(self, tx: WriteTx, record: AttachmentRecord) -> None:
        self._counts.attachments += 1
        self._at(tx, record.etag)
        info = attachment_store.put(
            tx, record.document_id, record.name, record.content_type, record.chunks
        )
        if info.hash != record.hash or info.size != record.size:
            raise BackupCorrupted(
                f"attachment {record.name!r} of {record.document_id!r} does not match its "
                "recorded hash"
            )

    def _finish(self, tx: WriteTx, last_etag: int) -> None:
        if self._defer:
            tx.conn.execute(_COLLECTION_INDEX)
        for record in sorted(self._deferred_indexes.values(), key=lambda r: r.etag):
            self._at(tx, record.etag)
            index_store.define(tx, record.name, record.collection, list(record.fields))
        self._deferred_indexes.clear()
        if self.keep_etags:
            tx.etag = max(last_etag, tx.start_etag)
