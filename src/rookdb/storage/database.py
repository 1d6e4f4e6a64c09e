"""`Database`: the typed core API of one rookdb database (embedded)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from rookdb.errors import InvalidInput, NotFound
from rookdb.storage import attachments as attachment_store
from rookdb.storage import documents as document_store
from rookdb.storage import identities as identity_store
from rookdb.storage import indexes as index_store
from rookdb.storage.changes import ChangeFeed
from rookdb.storage.database_file import FileCopy, copy_database
from rookdb.storage.engine import Engine, WriteTx
from rookdb.storage.model import (
    MIN_INTEGER,
    AttachmentInfo,
    Condition,
    Document,
    IndexDefinition,
    PutResult,
    QueryResult,
    check_document_id,
    check_integer,
    check_name,
    collection_for,
)

MAX_PAGE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class BatchOperation:
    """One step of an atomic batch: a put (with body) or a delete."""

    type: Literal["put", "delete"]
    id: str
    body: dict[str, Any] | None = None
    expected_etag: int | None = None


@dataclass(frozen=True, slots=True)
class BatchResult:
    type: str
    id: str
    etag: int | None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class NewAttachment:
    """An attachment to store with its document (see `Database.put_with_attachments`)."""

    name: str
    content_type: str
    content: BinaryIO | bytes | Iterable[bytes]


@dataclass(frozen=True, slots=True)
class DatabaseStats:
    name: str
    documents: int
    collections: dict[str, int]
    attachments: int
    indexes: int
    last_etag: int
    size_bytes: int

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "documents": self.documents,
            "collections": self.collections,
            "attachments": self.attachments,
            "indexes": self.indexes,
            "last_etag": self.last_etag,
            "size_bytes": self.size_bytes,
        }


class Database:
    """One rookdb database: documents, attachments, identities, indexes and the change feed."""

    def __init__(
        self, path: Path, name: str | None = None, *, node_tag: str = "A", durable: bool = True
    ) -> None:
        self.path = Path(path)
        self.name = name or self.path.stem
        self._engine = Engine(
            self.path, node_tag=node_tag, synchronous="FULL" if durable else "NORMAL"
        )

    # -- lifecycle -----------------------------------------------------------------
    def close(self) -> None:
        self._engine.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def last_etag(self) -> int:
        return self._engine.last_etag

    @property
    def database_id(self) -> str:
        return self._engine.database_id

    @property
    def node_tag(self) -> str:
        return self._engine.node_tag

    @property
    def engine(self) -> Engine:
        """The connection owner, for the bulk loader (restore and import)."""
        return self._engine

    # -- documents ---------------------------------------------------------------
    def put(
        self, doc_id: str, body: dict[str, Any], *, expected_etag: int | None = None
    ) -> PutResult:
        """Create or replace a document. ``expected_etag=0`` means it must not exist yet."""
        with self._engine.write() as tx:
            return self._put(tx, doc_id, body, expected_etag)

    def _put(
        self, tx: WriteTx, doc_id: str, body: dict[str, Any], expected_etag: int | None
    ) -> PutResult:
        check_document_id(doc_id)
        _stored, text = document_store.encode_body(body)
        collection = collection_for(doc_id, body)
        if doc_id.endswith("|"):
            prefix = doc_id[:-1]
            if not prefix:
                raise InvalidInput("an identity id needs a prefix, such as 'users|'", field="id")
            doc_id = f"{prefix}/{identity_store.next_value(tx, prefix)}"
            collection = collection_for(doc_id, body)
        elif doc_id.endswith("/"):
            doc_id = f"{doc_id}{tx.etag + 1:019d}-{self._engine.node_tag}"
        document_store.check_expected(tx.conn, doc_id, expected_etag)
        return document_store.put(tx, doc_id, text, collection)

    def bulk_insert(
        self,
        docs: Iterable[tuple[str, dict[str, Any]]],
        batch_size: int = 10_000,
        *,
        atomic: bool = False,
    ) -> int:
        """Insert or replace many documents quickly, one transaction per batch.

        `atomic`: all batches in one transaction, so an error anywhere (a bad
        document, one `docs` raises) writes nothing. It holds the database's write
        lock throughout: `docs` should come from something already received.
        """
        checked = (document_store.encoded(doc_id, body) for doc_id, body in docs)
        return self.bulk_insert_encoded(checked, batch_size, atomic=atomic)

    def bulk_insert_encoded(
        self,
        docs: Iterable[document_store.EncodedDocument],
        batch_size: int = 10_000,
        *,
        atomic: bool = False,
    ) -> int:
        """`bulk_insert` of documents already checked and encoded (`documents.encoded`),
        for a caller that checks each one itself to name it in an error."""
        if atomic:
            with self._engine.write() as tx:
                return sum(
                    document_store.bulk_put(tx, batch) for batch in _batches(docs, batch_size)
                )
        total = 0
        for batch in _batches(docs, batch_size):
            with self._engine.write() as tx:
                total += document_store.bulk_put(tx, batch)
        return total

    def get(self, doc_id: str) -> Document | None:
        check_document_id(doc_id)
        return document_store.get(self._engine.reader(), doc_id)

    def get_many(self, ids: Sequence[str]) -> list[Document | None]:
        for doc_id in ids:
            check_document_id(doc_id)
        with self._engine.read() as conn:
            return document_store.get_many(conn, ids)

    def delete(self, doc_id: str, *, expected_etag: int | None = None) -> bool:
        """Delete a document (and its attachments), leaving a tombstone. False if missing."""
        check_document_id(doc_id)
        with self._engine.write() as tx:
            return self._delete(tx, doc_id, expected_etag)

    def _delete(self, tx: WriteTx, doc_id: str, expected_etag: int | None) -> bool:
        if expected_etag:
            document_store.check_expected(tx.conn, doc_id, expected_etag)
        attachment_store.delete_all(tx, doc_id)
        return document_store.delete(tx, doc_id) is not None

    def batch(self, operations: Sequence[BatchOperation]) -> list[BatchResult]:
        """Apply puts and deletes atomically: all of them or none."""
        results: list[BatchResult] = []
        with self._engine.write() as tx:
            for op in operations:
                if op.type == "put":
                    if op.body is None:
                        raise InvalidInput(f"put of {op.id!r} has no body", field="body")
                    put = self._put(tx, op.id, op.body, op.expected_etag)
                    results.append(BatchResult("put", put.id, put.etag))
                elif op.type == "delete":
                    check_document_id(op.id)
                    deleted = self._delete(tx, op.id, op.expected_etag)
                    results.append(
                        BatchResult("delete", op.id, tx.etag if deleted else None, deleted)
                    )
                else:
                    raise InvalidInput(f"unknown batch operation {op.type!r}", field="type")
        return results

    def list_documents(
        self, collection: str | None = None, *, start: int = 0, page_size: int = 100
    ) -> list[Document]:
        _check_paging(start, page_size)
        return document_store.list_collection(self._engine.reader(), collection, start, page_size)

    def collections(self) -> dict[str, int]:
        return document_store.collections(self._engine.reader())

    def count(self) -> int:
        return document_store.count(self._engine.reader())

    # -- attachments -------------------------------------------------------------
    def put_attachment(
        self,
        doc_id: str,
        name: str,
        content: BinaryIO | bytes | Iterable[bytes],
        content_type: str = "application/octet-stream",
    ) -> AttachmentInfo:
        """Store an attachment on an existing document, streaming its content."""
        check_name(name, "attachment name")
        with self._engine.write() as tx:
            doc = document_store.get(tx.conn, doc_id)
            if doc is None:
                raise NotFound(f"document {doc_id!r} does not exist; put it before attaching")
            return attachment_store.put(tx, doc.id, name, content_type, content)

    def put_with_attachments(
        self,
        doc_id: str,
        body: dict[str, Any],
        attachments: Sequence[NewAttachment],
        *,
        expected_etag: int | None = None,
    ) -> PutResult:
        """Put a document whose attachments are then exactly `attachments`: all or nothing.

        One transaction: a content stream that fails half-way (a damaged backup
        being put back) leaves the database as it was, never a document without
        its attachments.
        """
        for attachment in attachments:
            check_name(attachment.name, "attachment name")
        with self._engine.write() as tx:
            result = self._put(tx, doc_id, body, expected_etag)
            wanted = {a.name for a in attachments}
            for info in attachment_store.list_for(tx.conn, result.id):
                if info.name not in wanted:
                    attachment_store.delete(tx, result.id, info.name)
            for attachment in attachments:
                attachment_store.put(
                    tx, result.id, attachment.name, attachment.content_type, attachment.content
                )
            return result

    def get_attachment(self, doc_id: str, name: str) -> tuple[AttachmentInfo, Iterator[bytes]]:
        """The attachment's info and a stream of its bytes."""
        conn = self._engine.snapshot_connection()
        conn.execute("BEGIN")
        info = attachment_store.info(conn, doc_id, name)
        if info is None:
            conn.close()
            raise NotFound(f"document {doc_id!r} has no attachment {name!r}")

        def stream() -> Iterator[bytes]:
            try:
                yield from attachment_store.read_blob(conn, info.hash)
            finally:
                conn.close()

        return info, stream()

    def read_attachment(self, doc_id: str, name: str) -> bytes:
        """The whole attachment in memory (for small attachments and tests)."""
        _info, stream = self.get_attachment(doc_id, name)
        return b"".join(stream)

    def attachment_info(self, doc_id: str, name: str) -> AttachmentInfo | None:
        return attachment_store.info(self._engine.reader(), doc_id, name)

    def list_attachments(self, doc_id: str) -> list[AttachmentInfo]:
        return attachment_store.list_for(self._engine.reader(), doc_id)

    def delete_attachment(self, doc_id: str, name: str) -> bool:
        with self._engine.write() as tx:
            return attachment_store.delete(tx, doc_id, name) is not None

    # -- identities --------------------------------------------------------------
    def next_identity(self, name: str) -> int:
        check_name(name, "identity name")
        with self._engine.write() as tx:
            return identity_store.next_value(tx, name)

    def set_identity(self, name: str, value: int) -> None:
        check_name(name, "identity name")
        check_integer(value, "value", minimum=MIN_INTEGER)
        with self._engine.write() as tx:
            identity_store.set_value(tx, name, value)

    def identities(self) -> dict[str, int]:
        return identity_store.all_values(self._engine.reader())

    # -- indexes -----------------------------------------------------------------
    def create_index(self, name: str, collection: str, fields: list[str]) -> IndexDefinition:
        """Define an index and build it over the existing documents (see the width limits)."""
        with self._engine.write() as tx:
            index_store.check_width(tx.conn, name, fields)
            return index_store.define(tx, name, collection, fields)

    def delete_index(self, name: str) -> bool:
        with self._engine.write() as tx:
            return index_store.drop(tx, name) is not None

    def get_index(self, name: str) -> IndexDefinition | None:
        return index_store.get(self._engine.reader(), name)

    def list_indexes(self) -> list[IndexDefinition]:
        return index_store.list_all(self._engine.reader())

    def query(
        self,
        collection: str,
        where: Sequence[Condition | tuple[str, str, Any]] = (),
        *,
        start: int = 0,
        page_size: int = 100,
        index: str | None = None,
        order_by: str | None = None,
    ) -> QueryResult:
        """Documents of a collection matching every condition (on indexed fields), paged."""
        conditions = [c if isinstance(c, Condition) else Condition(*c) for c in where]
        with self._engine.read() as conn:
            return index_store.query(
                conn,
                collection,
                conditions,
                start=start,
                page_size=page_size,
                index=index,
                order_by=order_by,
            )

    # -- change feed and stats ---------------------------------------------------
    def changes(self, since_etag: int = 0) -> ChangeFeed:
        """Open a change feed: every change after `since_etag`, from one read transaction."""
        check_integer(since_etag, "since_etag")
        return ChangeFeed(self._engine.snapshot_connection(), since_etag)

    def copy_to(self, target: Path) -> FileCopy:
        """Copy the database, consistent at one etag, into the single file `target`."""
        return copy_database(self._engine, target)

    def stats(self) -> DatabaseStats:
        with self._engine.read() as conn:
            attachments = conn.execute("SELECT COUNT(*) FROM attachments").fetchone()[0]
            index_count = conn.execute("SELECT COUNT(*) FROM indexes").fetchone()[0]
            collections = document_store.collections(conn)
            last_etag = int(
                conn.execute("SELECT value FROM meta WHERE key = 'last_etag'").fetchone()[0]
            )
        size = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        return DatabaseStats(
            self.name,
            sum(collections.values()),
            collections,
            attachments,
            index_count,
            last_etag,
            size,
        )


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _check_paging(start: int, page_size: int) -> None:
    check_integer(start, "start")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page size must be between 1 and {MAX_PAGE_SIZE}", field="page_size")
