"""Records: what each kind holds, written as ``kind(1) u32 meta_len u32 data_len meta data``.

``meta`` is a JSON array of the record's fields in a fixed order and ``data``
raw bytes (a document body's JSON text, an attachment chunk, a chunk of a
snapshot's database file). Arrays rather than objects because a backup holds
one record per document: field names would be repeated millions of times.
Bodies travel as the stored text so a backup never re-encodes them.

Reading checks every field's type before a record is handed out: a record
that a broken or hostile tool wrote is refused here (ValueError saying which
field), never passed on to fail later inside a restore.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, cast

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


def document(fields: object, body: bytes) -> DocumentRecord:
    """A document record from its meta and body."""
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
            and (names is None or _is_texts(names))
        ):
            return DocumentRecord(etag, doc_id, collection, modified, vector, _text(body), names)
    values = _shape(fields, "document record", DOCUMENT_FIELDS)
    _count(values, "etag")
    for name in ("id", "collection", "last_modified", "change_vector"):
        _string(values, name)
    raise ValueError("document record: field 'attachments' must be null or a list of names")


def tombstone(fields: object) -> TombstoneRecord:
    """A delete of a document, an attachment or an index."""
    values = _shape(fields, "tombstone record", TOMBSTONE_FIELDS)
    of = _string(values, "of")
    if of not in TOMBSTONE_OF:
        raise ValueError(f"tombstone record: field 'of' must be one of {', '.join(TOMBSTONE_OF)}")
    return TombstoneRecord(
        _count(values, "etag"),
        cast(Literal["document", "attachment", "index"], of),
        _string(values, "id"),
        _optional_string(values, "name"),
        _optional_string(values, "collection"),
        _string(values, "deleted_at"),
    )


def attachment(fields: object) -> AttachmentMeta:
    """An attachment's fields; its content follows in chunk records."""
    values = _shape(fields, "attachment record", ATTACHMENT_FIELDS)
    return (
        _count(values, "etag"),
        _string(values, "document_id"),
        _string(values, "name"),
        _string(values, "content_type"),
        _count(values, "size"),
        _string(values, "hash"),
    )


def identity(fields: object) -> IdentityRecord:
    values = _shape(fields, "identity record", IDENTITY_FIELDS)
    return IdentityRecord(_count(values, "etag"), _string(values, "name"), _int(values, "value"))


def index(fields: object) -> IndexRecord:
    values = _shape(fields, "index record", INDEX_FIELDS)
    names = values["fields"]
    if not _is_texts(names):
        raise ValueError("index record: field 'fields' must be a list of field names")
    return IndexRecord(
        _count(values, "etag"),
        _string(values, "name"),
        _string(values, "collection"),
        tuple(cast(list[str], names)),
    )


def index_entry(fields: object) -> tuple[int, list[str]]:
    """(offset of a data block, ids of the documents in it)."""
    values = _shape(fields, "index entry", INDEX_ENTRY_FIELDS)
    ids = values["ids"]
    if not _is_texts(ids):
        raise ValueError("index entry: field 'ids' must be a list of document ids")
    return _count(values, "block_offset"), list(cast(list[str], ids))


def _text(body: bytes) -> str:
    try:
        return body.decode()
    except UnicodeDecodeError:
        raise ValueError("document record: its body is not UTF-8 text") from None


def _is_texts(value: object) -> bool:
    return type(value) is list and all(type(item) is str for item in value)


class _Fields(dict[str, Any]):
    """A record's meta by field name, remembering the record's kind for messages."""

    what: str = "record"


def _shape(fields: object, what: str, names: tuple[str, ...]) -> _Fields:
    if type(fields) is not list or len(fields) != len(names):
        raise ValueError(f"{what}: its meta is not [{', '.join(names)}]")
    values = _Fields(zip(names, cast(list[object], fields), strict=True))
    values.what = what
    return values


def _string(values: _Fields, name: str) -> str:
    value = values[name]
    if type(value) is not str:
        raise ValueError(f"{values.what}: field {name!r} must be text")
    return cast(str, value)


def _optional_string(values: _Fields, name: str) -> str | None:
    return None if values[name] is None else _string(values, name)


def _int(values: _Fields, name: str) -> int:
    value = values[name]
    if type(value) is not int:
        raise ValueError(f"{values.what}: field {name!r} must be an integer")
    return cast(int, value)


def _count(values: _Fields, name: str) -> int:
    value = _int(values, name)
    if value < 0:
        raise ValueError(f"{values.what}: field {name!r} must be an integer >= 0")
    return value
