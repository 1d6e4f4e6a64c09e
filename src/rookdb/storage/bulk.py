"""The bulk loader: writing a stream of recorded changes into a database, fast.

A restore and an import hand it the changes a backup file holds, in etag
order; it writes them in large transactions of its own (one per
RECORDS_PER_TRANSACTION changes, so memory stays flat and a failure rolls back
only the open one). Two ways to write, chosen by ``keep_etags``:

* keep (a restore into a new staging file): rows keep the etags, change
  vectors and times they had in the source, documents go in
  ``executemany`` batches, and when the file started empty (``fresh``) the
  collection index is dropped and rebuilt once at the end (one sorted pass
  instead of upkeep on every insert) and index definitions are built once,
  after the documents. The result's change feed has the source's order and
  ends at the same etag.
* new etags (an import onto an existing database): every change goes
  through the ordinary storage functions and gets a fresh etag, so the
  target's own backups and followers see the imported changes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType

from rookdb.storage import attachments as attachment_store
from rookdb.storage import documents as document_store
from rookdb.storage import identities as identity_store
from rookdb.storage import indexes as index_store
from rookdb.storage import schema
from rookdb.storage.changes import IdentityChange, IndexChange, TombstoneChange
from rookdb.storage.engine import Engine, WriteTx
from rookdb.storage.model import AttachmentInfo

RECORDS_PER_TRANSACTION = 50_000
DOCUMENT_BATCH = 5_000
_COLLECTION_INDEX = "documents_collection"
STAGING_PAGE_SIZE = 8192
# The page cache, and SQLite's sorter for the index builds at the end, which may take
# as much again: with the usual 64 MiB a restore of 1,000,000 documents peaked at
# 142 MB, with 16 MiB at 71 MB, in the same time (three pairs alternated).
STAGING_CACHE_MIB = 16


def open_staging(path: Path) -> Engine:
    """An engine for building a new database file aside, to be fsync'd and moved in after.

    synchronous=OFF and no rollback journal: a crash or an error mid-build only
    loses a staging file nobody sees (a failed restore throws it away, so a
    rollback that cannot undo anything harms nothing), and the pages are written
    once, not first to a WAL and then again by its checkpoint. Opening the
    finished file as a database switches it back to WAL. The journal was kept in
    memory before: it held the original of every page a transaction changed, so
    applying an incremental to 2,000,000 restored documents took a restore's
    peak RSS from ~120 MB to 364 MB (1,000,000: 228 MB with it, 142 MB without).

    Pages of 8 KiB rather than SQLite's 4 KiB: rows of about 1 KB waste a tenth
    of a 4 KiB page, so the file comes out ~14 % smaller, and the inserts and
    the index builds at the end measured ~15 % less CPU (200,000 documents).
    SQLite reads any page size, so the restored file is an ordinary database.
    """
    return Engine(
        path,
        synchronous="OFF",
        journal_mode="OFF",
        page_size=STAGING_PAGE_SIZE,
        cache_mib=STAGING_CACHE_MIB,
    )


class BulkLoader:
    """Writes recorded changes into one database; use as a context manager, end with `finish`.

    Leaving the context on an error rolls back the open transaction; earlier
    ones stay. A staging file (see `open_staging`) has no journal to roll back
    with: a restore builds aside and throws the file away on failure.
    """

    def __init__(self, engine: Engine, *, keep_etags: bool, fresh: bool = False) -> None:
        self._engine = engine
        self.keep_etags = keep_etags
        # Deferred building needs the source's etags (definitions are replayed
        # at theirs) and an empty file (nothing relies on the indexes meanwhile).
        self._defer = fresh and keep_etags
        self._collection_index_dropped = False
        self._docs: list[tuple[object, ...]] = []
        self._deferred_indexes: dict[str, IndexChange] = {}
        self._stack: ExitStack | None = None
        self._tx: WriteTx | None = None
        self._in_tx = 0

    def __enter__(self) -> BulkLoader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self._commit()
        elif self._stack is not None:
            stack, self._stack, self._tx = self._stack, None, None
            self._docs.clear()
            stack.__exit__(exc_type, exc, tb)  # rolls back (and translates SQLite's errors)

    # -- changes -----------------------------------------------------------------------
    def document(
        self,
        etag: int,
        doc_id: str,
        collection: str,
        last_modified: str,
        change_vector: str,
        body_json: str,
        attachments: Collection[str] | None = None,
    ) -> None:
        """A document as recorded; `attachments` names those it had then (others go)."""
        tx = self._tx or self._begin()
        if attachments is not None:
            self._prune_attachments(tx, doc_id, attachments)
        if self.keep_etags:
            if not self._defer:
                document_store.drop_tombstone(tx.conn, doc_id)
            docs = self._docs
            docs.append(
                (
                    etag,
                    doc_id.lower(),
                    doc_id,
                    collection,
                    collection.lower(),
                    last_modified,
                    change_vector,
                    body_json,
                )
            )
            if len(docs) >= DOCUMENT_BATCH:
                self._flush_documents(tx)
            # _done_one inlined: this runs once per document of a restore.
            self._in_tx += 1
            if self._in_tx >= RECORDS_PER_TRANSACTION:
                self._commit()
            return
        stored = document_store.stored_collection(tx.conn, doc_id)
        if stored is not None and stored != collection.lower():
            # Deleted and re-created in another collection in the source.
            attachment_store.delete_all(tx, doc_id)
            document_store.delete(tx, doc_id)
        document_store.put(tx, doc_id, body_json, collection, last_modified=last_modified)
        self._done_one()

    def documents(
        self, rows: Sequence[tuple[int, str, str, str, str, str, Collection[str] | None]]
    ) -> None:
        """Documents as recorded, each (etag, id, collection, last_modified, change_vector,
        body, attachment names or None): `document` for each, in one step when it can."""
        if not self.keep_etags and all(row[6] is None for row in rows):
            self._put_many(rows)
            return
        if not self._defer or any(row[6] is not None for row in rows):
            for row in rows:
                self.document(*row)
            return
        # Loading a fresh file keeping etags (a full backup's restore): no tombstone to drop
        # and no attachment to prune, so the rows go straight into the batch.
        tx = self._tx or self._begin()
        docs = self._docs
        start = 0
        while start < len(rows):
            # Never past a transaction's end, so every transaction holds what it did before.
            room = min(RECORDS_PER_TRANSACTION - self._in_tx, len(rows) - start)
            docs.extend(
                (
                    etag,
                    doc_id.lower(),
                    doc_id,
                    collection,
                    collection.lower(),
                    modified,
                    vector,
                    body,
                )
                for etag, doc_id, collection, modified, vector, body, _names in rows[
                    start : start + room
                ]
            )
            start += room
            if len(docs) >= DOCUMENT_BATCH:
                self._flush_documents(tx)
            self._in_tx += room
            if self._in_tx >= RECORDS_PER_TRANSACTION:
                self._commit()
                if start < len(rows):
                    tx = self._begin()
                    docs = self._docs

    def _put_many(
        self, rows: Sequence[tuple[int, str, str, str, str, str, Collection[str] | None]]
    ) -> None:
        """Documents that take new etags (an import), a transaction's room at a time; one
        by one where that differs (see documents.put_many)."""
        start = 0
        while start < len(rows):
            tx = self._tx or self._begin()
            room = min(RECORDS_PER_TRANSACTION - self._in_tx, len(rows) - start)
            part = rows[start : start + room]
            start += room
            docs = [(row[1], row[2], row[3], row[5]) for row in part]
            if not document_store.put_many(tx, docs):
                for row in part:
                    self.document(*row)
                continue
            self._in_tx += room
            if self._in_tx >= RECORDS_PER_TRANSACTION:
                self._commit()

    def tombstone(self, change: TombstoneChange) -> None:
        """A delete of a document (with its attachments), an attachment or an index."""
        tx = self._tx or self._begin()
        self._flush_documents(tx)
        if change.of == "document":
            attachment_store.delete_all(tx, change.id)
            if self.keep_etags:
                document_store.write_tombstone(
                    tx.conn, change.id, change.collection, change.etag, change.deleted_at
                )
            else:
                document_store.delete(tx, change.id)
        elif change.of == "attachment":
            if change.name is not None and self.keep_etags:
                attachment_store.write_tombstone(
                    tx, change.id, change.name, change.etag, change.deleted_at
                )
            elif change.name is not None:
                attachment_store.delete(tx, change.id, change.name)
        elif change.of == "index":
            if self._defer:
                self._deferred_indexes.pop(change.id.lower(), None)
            if self.keep_etags:
                # The tombstone as recorded (etag, time), even for an index built later or
                # never: the copy's change feed must equal its source's.
                index_store.write_tombstone(
                    tx, change.id, change.collection, change.etag, change.deleted_at
                )
            else:
                index_store.drop(tx, change.id)
        self._done_one()

    def attachment(
        self,
        etag: int,
        document_id: str,
        name: str,
        content_type: str,
        content: Iterable[bytes],
    ) -> AttachmentInfo:
        """Stream an attachment's content into the blob store and reference it."""
        tx = self._tx or self._begin()
        self._at(tx, etag)
        info = attachment_store.put(tx, document_id, name, content_type, content)
        self._done_one()
        return info

    def identity(self, change: IdentityChange) -> None:
        tx = self._tx or self._begin()
        self._at(tx, change.etag)
        identity_store.set_value(tx, change.name, change.value)
        self._done_one()

    def index(self, change: IndexChange) -> None:
        """An index definition: built now, or once after the documents when loading fresh."""
        tx = self._tx or self._begin()
        if self._defer:
            self._deferred_indexes[change.name.lower()] = change
        else:
            self._at(tx, change.etag)
            index_store.define(tx, change.name, change.collection, list(change.fields))
        self._done_one()

    def finish(self, last_etag: int) -> None:
        """Build what was deferred, set the database at `last_etag` (keeping etags), commit."""
        tx = self._tx or self._begin()
        self._flush_documents(tx)
        if self._defer:
            tx.conn.execute(schema.STORAGE_INDEXES[_COLLECTION_INDEX])
        for change in sorted(self._deferred_indexes.values(), key=lambda c: c.etag):
            self._at(tx, change.etag)
            index_store.define(tx, change.name, change.collection, list(change.fields))
        self._deferred_indexes.clear()
        if self.keep_etags:
            tx.etag = max(last_etag, tx.start_etag)
        self._commit()

    # -- transactions ------------------------------------------------------------------
    def _begin(self) -> WriteTx:
        stack = ExitStack()
        tx = stack.enter_context(self._engine.write())
        self._stack, self._tx, self._in_tx = stack, tx, 0
        if self._defer and not self._collection_index_dropped:
            tx.conn.execute(f"DROP INDEX IF EXISTS {_COLLECTION_INDEX}")
            self._collection_index_dropped = True
        return tx

    def _done_one(self) -> None:
        self._in_tx += 1
        if self._in_tx >= RECORDS_PER_TRANSACTION:
            self._commit()

    def _commit(self) -> None:
        if self._stack is None or self._tx is None:
            return
        self._flush_documents(self._tx)
        stack, self._stack, self._tx = self._stack, None, None
        stack.close()

    def _at(self, tx: WriteTx, etag: int) -> None:
        # Keeping etags, the next etag the storage functions hand out is the source's.
        if self.keep_etags:
            tx.etag = etag - 1

    def _flush_documents(self, tx: WriteTx) -> None:
        if self._docs:
            document_store.write_rows(tx.conn, self._docs)
            self._docs.clear()

    def _prune_attachments(self, tx: WriteTx, doc_id: str, keep: Collection[str]) -> None:
        wanted = set(keep)
        for name in attachment_store.names(tx.conn, doc_id):
            if name not in wanted:
                attachment_store.delete(tx, doc_id, name, tombstone=False)
