"""Plain typed values the storage layer hands out: documents, attachments, indexes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rookdb.errors import InvalidInput

MAX_ID_LENGTH = 512
# SQLite keeps integers in 64 bits: a start, etag or counter past that could
# never match anything stored, and would fail deep in the driver.
MAX_INTEGER = 2**63 - 1
MIN_INTEGER = -(2**63)
MAX_NAME_LENGTH = 256
EMPTY_COLLECTION = "@empty"
_FIELD_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_COLLECTION = re.compile(r"^[A-Za-z@_][A-Za-z0-9_.\-]{0,127}$")


@dataclass(frozen=True, slots=True)
class Document:
    """A stored document: its body plus the metadata the database keeps."""

    id: str
    collection: str
    etag: int
    last_modified: str
    change_vector: str
    body: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The document as users see it, ``@metadata`` included."""
        out = dict(self.body)
        meta = dict(out.get("@metadata") or {})
        meta.update(
            {
                "@id": self.id,
                "@collection": self.collection,
                "@etag": self.etag,
                "@last-modified": self.last_modified,
                "@change-vector": self.change_vector,
            }
        )
        out["@metadata"] = meta
        return out


@dataclass(frozen=True, slots=True)
class PutResult:
    id: str
    etag: int
    change_vector: str


@dataclass(frozen=True, slots=True)
class AttachmentInfo:
    document_id: str
    name: str
    content_type: str
    size: int
    hash: str
    etag: int


@dataclass(frozen=True, slots=True)
class IndexDefinition:
    name: str
    collection: str
    fields: tuple[str, ...]
    etag: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "collection": self.collection,
            "fields": list(self.fields),
            "etag": self.etag,
        }


@dataclass(frozen=True, slots=True)
class Condition:
    """One query condition: ``field op value``."""

    field: str
    op: str
    value: Any


@dataclass(slots=True)
class QueryResult:
    documents: list[Document]
    total: int
    index: str | None = None
    skipped: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def check_document_id(doc_id: object) -> str:
    """Validate a document id and return it; raise InvalidInput naming the problem."""
    if not isinstance(doc_id, str):
        raise InvalidInput("document id must be a string", field="id")
    if not doc_id.strip():
        raise InvalidInput("document id must not be empty", field="id")
    if len(doc_id) > MAX_ID_LENGTH:
        raise InvalidInput(
            f"document id is {len(doc_id)} characters long; at most {MAX_ID_LENGTH} allowed",
            field="id",
        )
    if _CONTROL.search(doc_id):
        raise InvalidInput("document id must not contain control characters", field="id")
    return doc_id


def check_integer(value: int, field: str, *, minimum: int = 0) -> int:
    """A whole number SQLite can store, at least `minimum`; InvalidInput naming the field."""
    if not minimum <= value <= MAX_INTEGER:
        raise InvalidInput(f"{field} must be from {minimum} to {MAX_INTEGER}", field=field)
    return value


def check_name(value: object, what: str) -> str:
    """Validate an attachment or index name."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what} must be a non-empty string", field=what)
    if len(value) > MAX_NAME_LENGTH or _CONTROL.search(value):
        raise InvalidInput(
            f"{what} must be at most {MAX_NAME_LENGTH} printable characters", field=what
        )
    return value


def check_field_path(path: object) -> str:
    """A field path such as ``address.city``: letters, digits, underscores and dots."""
    if not isinstance(path, str) or not _FIELD_PATH.match(path):
        raise InvalidInput(
            f"field {path!r} is not a valid field path (letters, digits, '_' and '.' only)",
            field="fields",
        )
    return path


def check_collection(name: object) -> str:
    if not isinstance(name, str) or not _COLLECTION.match(name):
        raise InvalidInput(
            f"collection {name!r} is not valid (letters, digits, '_', '-', '.'; up to 128)",
            field="collection",
        )
    return name


def collection_for(doc_id: str, body: dict[str, Any]) -> str:
    """The collection of a document: ``@metadata.@collection``, else from its id prefix."""
    meta = body.get("@metadata")
    if isinstance(meta, dict) and meta.get("@collection"):
        return check_collection(meta["@collection"])
    prefix, sep, _ = doc_id.partition("/")
    if sep and prefix and _COLLECTION.match(prefix):
        return prefix[:1].upper() + prefix[1:]
    return EMPTY_COLLECTION
