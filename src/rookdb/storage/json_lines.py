"""Bulk insert from JSON lines: the core of the HTTP bulk insert, checked whole before any write.

Each line is one document, ``{"id": "users/1", "body": {...}}``; blank lines are
skipped. The documents go in through the database's bulk path (one prepared
insert per batch of 10,000, each body checked and encoded once), which is what
makes this several times faster than one request per document, all in one
transaction: a bad line anywhere writes nothing, and the error names its line.
The transaction holds the database's write lock, so the source should be
something already received (the server stages an upload in a spooled file
first), never a slow client's stream.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

from rookdb.errors import InvalidInput
from rookdb.storage import documents as document_store
from rookdb.storage.strict_json import parse_json

if TYPE_CHECKING:
    from rookdb.storage.database import Database

BATCH_SIZE = 10_000
_KEYS = frozenset({"id", "body"})


@dataclass(frozen=True)
class BulkInsertResult:
    """What a bulk insert wrote: how many documents, and the database's etag after."""

    inserted: int
    last_etag: int

    def to_json(self) -> dict[str, int]:
        return {"inserted": self.inserted, "last_etag": self.last_etag}


def insert_json_lines(
    database: Database, source: IO[bytes], *, batch_size: int = BATCH_SIZE
) -> BulkInsertResult:
    """Insert every document of `source` (JSON lines, see the module docstring).

    InvalidInput naming the line when any line is bad; then nothing is written.
    """
    inserted = database.bulk_insert_encoded(_documents(source), batch_size, atomic=True)
    return BulkInsertResult(inserted, database.last_etag)


def _documents(source: IO[bytes]) -> Iterator[document_store.EncodedDocument]:
    for number, line in enumerate(source, start=1):
        if line.strip():
            yield _document(line, number)


def _document(line: bytes, number: int) -> document_store.EncodedDocument:
    try:
        item = parse_json(line)
    except (ValueError, RecursionError) as exc:  # both parsers' decode errors are ValueErrors
        raise _bad(number, f"not valid JSON ({exc})") from None
    if not isinstance(item, dict) or item.keys() != _KEYS:
        raise _bad(number, 'each line must be {"id": "...", "body": {...}}')
    doc_id, body = item["id"], item["body"]
    try:
        checked = document_store.encoded(doc_id, body)
        if doc_id.endswith(("|", "/")):
            raise InvalidInput("a bulk insert takes whole ids, not 'users|' or 'users/'")
    except InvalidInput as exc:
        raise _bad(number, exc.message) from None
    return checked


def _bad(number: int, reason: str) -> InvalidInput:
    return InvalidInput(f"line {number}: {reason}; nothing was inserted", field="body")
