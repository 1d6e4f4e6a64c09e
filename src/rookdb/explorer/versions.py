"""A document's state at a point, and its versions, from the catalog entries of a chain.

The rules are a restore's, replayed on catalog entries instead of records:
files in chain order, each file's entries in etag order; a document entry
becomes the current version (in an incremental it also names the
attachments the document still had, the others go), a tombstone deletes the
document with its attachments, an attachment entry sets one attachment and
an attachment tombstone removes it. So the explorer's answer is exactly what
a restore up to that point followed by a `get` would give.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from rookdb.backup.format import CatalogEntry

Placed = tuple[int, CatalogEntry]
"""A catalog entry and the position of its file in the chain (0 is the full backup)."""

Change = Literal["created", "changed", "deleted", "re-created"]


@dataclass
class DocumentState:
    """What a chain up to a point holds for one id."""

    version: Placed | None = None  # the last document or tombstone entry
    attachments: dict[str, Placed] = field(default_factory=dict)

    @property
    def exists(self) -> bool:
        return self.version is not None and not self.version[1].deleted


def replay(placed: Iterable[Placed]) -> DocumentState:
    """The state after `placed`, given in chain order (file position, then etag)."""
    state = DocumentState()
    for position, entry in placed:
        if entry.kind == "d":
            if entry.attachments is not None:
                kept = set(entry.attachments)
                state.attachments = {n: p for n, p in state.attachments.items() if n in kept}
            state.version = (position, entry)
        elif entry.kind == "t":
            state.version = (position, entry)
            state.attachments = {}
        elif entry.kind == "a" and entry.name is not None:
            state.attachments[entry.name] = (position, entry)
        elif entry.kind == "x" and entry.name is not None:
            state.attachments.pop(entry.name, None)
    return state


def in_chain_order(per_file: Iterable[tuple[int, Iterable[CatalogEntry]]]) -> list[Placed]:
    """Entries of several files as (position, entry), in chain order."""
    placed = [(position, e) for position, entries in per_file for e in entries]
    placed.sort(key=lambda item: (item[0], item[1].etag))
    return placed


@dataclass(frozen=True)
class DocumentVersion:
    """One version of a document in a chain: a put or a delete, where and when."""

    id: str
    file_name: str
    taken_at: str
    etag: int
    change: Change
    size: int
    collection: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "file": self.file_name,
            "taken_at": self.taken_at,
            "etag": self.etag,
            "change": self.change,
            "size": self.size,
            "collection": self.collection,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DocumentVersion:
        return cls(
            str(data["id"]), str(data["file"]), str(data["taken_at"]), int(data["etag"]),
            data["change"], int(data["size"]), data.get("collection"),
        )  # fmt: skip


def versions(placed: Iterable[Placed], files: list[tuple[str, str]]) -> list[DocumentVersion]:
    """The document's versions, newest first; `files` gives each position's name and time."""
    found: list[DocumentVersion] = []
    previous: CatalogEntry | None = None
    seen: set[tuple[int, int]] = set()
    for position, entry in placed:
        if not entry.is_document or (entry.etag, entry.kind == "t") in seen:
            continue  # overlapping files may hold the same change twice
        seen.add((entry.etag, entry.kind == "t"))
        change: Change
        if entry.deleted:
            change = "deleted"
        elif previous is None:
            change = "created"
        elif previous.deleted:
            change = "re-created"
        else:
            change = "changed"
        name, taken = files[position]
        found.append(
            DocumentVersion(entry.id, name, taken, entry.etag, change, entry.size, entry.collection)
        )
        previous = entry
    found.reverse()
    return found
