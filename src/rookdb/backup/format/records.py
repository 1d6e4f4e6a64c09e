"""Records: what each kind holds, written as ``kind(1) u32 meta_len u32 data_len meta data``.

``meta`` is a JSON array of the record's fields in a fixed order and ``data``
raw bytes (a document body's JSON text, an attachment chunk, a chunk of a
snapshot's database file). Arrays rather than objects because a backup holds
one record per document: field names would be repeated millions of times.
Bodies travel as the stored text so a backup never re-encodes them.

Reading checks every field's type before a record is handed out: a record
that a broken or hostile tool wrote is refused here (ValueError saying which
field), never passed on to fail later inside a restore. A body is checked to
be UTF-8 text but not parsed: parsing every body would add about a third to
a restore's read pass, and the block CRC and the file's SHA-256 cover it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, cast

from rookdb.backup.format.layout import Fields
from rookdb.storage.changes import IdentityChange, IndexChange, TombstoneChange


@dataclass(frozen=True, slots=True)
class DocumentRecord:
    etag: int
    id: str
    collection: str
    last_modified: str
    change_vector: str
    body: str
    # Names of the document's attachments when the record was written
    # (incrementals only): lets a restore drop attachments that went away
    # when a document was deleted and re-created within the range.
    attachments: list[str] | None
    kind: str = "document"


@dataclass(slots=True)
class AttachmentRecord:
    etag: int
    document_id: str
    name: str
    content_type: str
    size: int
    hash: str
    chunks: Iterator[bytes]
    kind: str = "attachment"


# Deletes, identities and index definitions read back exactly as the change feed
# gave them to the writer.
TombstoneRecord = TombstoneChange
IdentityRecord = IdentityChange
IndexRecord = IndexChange

Record = DocumentRecord | TombstoneRecord | AttachmentRecord | IdentityRecord | IndexRecord

# The fields of each record's meta, in order (the writer's order).
DOCUMENT_FIELDS = ("etag", "id", "collection", "last_modified", "change_vector", "attachments")
TOMBSTONE_FIELDS = ("etag", "of", "id", "name", "collection", "deleted_at")
ATTACHMENT_FIELDS = ("etag", "document_id", "name", "content_type", "size", "hash")
IDENTITY_FIELDS = ("etag", "name", "value")
INDEX_FIELDS = ("etag", "name", "collection", "fields")
INDEX_ENTRY_FIELDS = ("block_offset", "ids")
TOMBSTONE_OF = ("document", "attachment", "index")

AttachmentMeta = tuple[int, str, str, str, int, str]


# A document record's fields as a plain tuple, in DocumentRecord's order: what a
# restore reads per document (see BackupReader.batches), with no object per record.
DocumentFields = tuple[int, str, str, str, str, str, list[str] | None]


def document(fields: object, body: bytes) -> DocumentRecord:
    """A document record from its meta and body."""
    return DocumentRecord(*document_fields(fields, body))


def document_fields(fields: object, body: bytes | memoryview) -> DocumentFields:
    """A document record's fields from its meta and body, checked."""
    # The hot path of a restore: one check of the usual shape, and the slow
    # path only to say which field is wrong.
    if type(fields) is list and len(fields) == 6:
        etag, doc_id, collection, modified, vector, names = fields
        if (
            type(etag) is int
            and etag >= 0
            and type(doc_id) is str
            and type(collection) is str
            and type(modified) is str
            and type(vector) is str
            and (names is None or (type(names) is list and all(type(n) is str for n in names)))
        ):
            return (etag, doc_id, collection, modified, vector, _text(body), names)
    values = Fields.of_array(fields, DOCUMENT_FIELDS, "document record")
    values.count("etag")
    for name in ("id", "collection", "last_modified", "change_vector"):
        values.text(name)
    raise ValueError("document record: field 'attachments' must be null or a list of names")


def tombstone(fields: object) -> TombstoneRecord:
    """A delete of a document, an attachment or an index."""
    values = Fields.of_array(fields, TOMBSTONE_FIELDS, "tombstone record")
    return TombstoneRecord(
        values.count("etag"),
        cast(Literal["document", "attachment", "index"], values.choice("of", TOMBSTONE_OF)),
        values.text("id"),
        values.optional_text("name"),
        values.optional_text("collection"),
        values.text("deleted_at"),
    )


def attachment(fields: object) -> AttachmentMeta:
    """An attachment's fields; its content follows in chunk records."""
    values = Fields.of_array(fields, ATTACHMENT_FIELDS, "attachment record")
    return (
        values.count("etag"),
        values.text("document_id"),
        values.text("name"),
        values.text("content_type"),
        values.count("size"),
        values.text("hash"),
    )


def identity(fields: object) -> IdentityRecord:
    values = Fields.of_array(fields, IDENTITY_FIELDS, "identity record")
    return IdentityRecord(values.count("etag"), values.text("name"), values.integer("value"))


def index(fields: object) -> IndexRecord:
    values = Fields.of_array(fields, INDEX_FIELDS, "index record")
    return IndexRecord(
        values.count("etag"),
        values.text("name"),
        values.text("collection"),
        tuple(values.texts("fields", "field names")),
    )


def index_entry(fields: object) -> tuple[int, list[str]]:
    """(offset of a data block, ids of the documents in it)."""
    values = Fields.of_array(fields, INDEX_ENTRY_FIELDS, "index entry")
    return values.count("block_offset"), list(values.texts("ids", "document ids"))


def _text(body: bytes | memoryview) -> str:
    try:
        return str(body, "utf-8")
    except UnicodeDecodeError:
        raise ValueError("document record: its body is not UTF-8 text") from None
