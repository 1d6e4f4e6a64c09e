"""The backup explorer: read documents straight out of a backup chain, as of a point.

`BackupExplorer` holds one point of one chain and its files, opened lazily
and once. Each question reads catalogs, never whole files: `get` looks the id
up in every file's catalog (one block each) and reads one data block of the
file holding the answer; `history` reads the same entries across the whole
chain; `documents` merges the sorted catalogs of the point as streams, so its
memory stays flat whatever the chain holds.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import orjson

from rookdb.backup.chain import BackupFileInfo
from rookdb.backup.format import CatalogEntry
from rookdb.errors import BackupCorrupted, NotFound
from rookdb.explorer.files import ExploredFile, Opener
from rookdb.explorer.point import ChainPoint
from rookdb.explorer.snapshot import SnapshotFile
from rookdb.explorer.versions import (
    DocumentState,
    DocumentVersion,
    Placed,
    in_chain_order,
    replay,
    versions,
)
from rookdb.storage.model import Document, check_document_id

ChainFile = ExploredFile | SnapshotFile
"""A file of a chain opened for look-ups: a logical backup's catalog, or a snapshot's copy."""


@dataclass(frozen=True)
class AttachmentAtPoint:
    """An attachment of a document at the point: what it is and which file holds it."""

    name: str
    size: int
    hash: str
    etag: int
    file_name: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "size": self.size,
            "hash": self.hash,
            "etag": self.etag,
            "file": self.file_name,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AttachmentAtPoint:
        return cls(
            str(data["name"]), int(data["size"]), str(data["hash"]), int(data["etag"]),
            str(data["file"]),
        )  # fmt: skip


@dataclass(frozen=True)
class AttachmentContent:
    """An attachment read from a backup: what it is, its type, and its bytes as a stream."""

    info: AttachmentAtPoint
    content_type: str
    chunks: Iterator[bytes]


@dataclass(frozen=True)
class FoundDocument:
    """A document as of the point: its JSON (``@metadata`` included), or the delete."""

    id: str
    etag: int
    file_name: str
    taken_at: str
    deleted: bool
    document: dict[str, Any] | None
    deleted_at: str | None
    attachments: tuple[AttachmentAtPoint, ...]
    # The body as stored (what a put writes back) and its time; None for a delete.
    body: dict[str, Any] | None = None
    last_modified: str | None = None

    def describe_delete(self) -> str:
        return (
            f"{self.id} was deleted at etag {self.etag} in {self.file_name} (taken {self.taken_at})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "etag": self.etag,
            "file": self.file_name,
            "taken_at": self.taken_at,
            "deleted": self.deleted,
            "deleted_at": self.deleted_at,
            "document": self.document,
            "attachments": [a.to_json() for a in self.attachments],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FoundDocument:
        """The answer of `POST /backups/explore/get`, typed back."""
        document = data.get("document")
        body: dict[str, Any] | None = None
        last_modified: str | None = None
        if isinstance(document, dict):
            body = {k: v for k, v in document.items() if k != "@metadata"}
            last_modified = (document.get("@metadata") or {}).get("@last-modified")
        return cls(
            str(data["id"]), int(data["etag"]), str(data["file"]), str(data["taken_at"]),
            bool(data["deleted"]), document, data.get("deleted_at"),
            tuple(AttachmentAtPoint.from_json(a) for a in data.get("attachments") or ()),
            body, last_modified,
        )  # fmt: skip


@dataclass(frozen=True)
class ListedDocument:
    """A document present at the point, as the catalogs describe it."""

    id: str
    collection: str
    etag: int
    size: int
    hash: str
    file_name: str
    attachment_hashes: tuple[tuple[str, str], ...]  # (name, content hash), by name

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "collection": self.collection,
            "etag": self.etag,
            "size": self.size,
            "hash": self.hash,
            "file": self.file_name,
            "attachments": [name for name, _hash in self.attachment_hashes],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ListedDocument:
        """A row of `POST /backups/explore/documents` (attachment hashes are not sent)."""
        return cls(
            str(data["id"]), str(data["collection"]), int(data["etag"]), int(data["size"]),
            str(data.get("hash") or ""), str(data["file"]),
            tuple((str(name), "") for name in data.get("attachments") or ()),
        )  # fmt: skip


class BackupExplorer:
    """One point of a backup chain, asked about documents without restoring it."""

    def __init__(self, point: ChainPoint, opener: Opener) -> None:
        self.point = point
        self._opener = opener
        self._open: dict[str, ChainFile] = {}

    def __enter__(self) -> BackupExplorer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for file in self._open.values():
            file.close()
        self._open.clear()

    @property
    def files(self) -> tuple[BackupFileInfo, ...]:
        return self.point.files

    def file(self, info: BackupFileInfo) -> ChainFile:
        """`info` opened (once) for look-ups."""
        opened = self._open.get(info.file_name)
        if opened is None:
            reader = self._opener(info)
            kind = SnapshotFile if info.type == "snapshot" else ExploredFile
            opened = self._open[info.file_name] = kind(info, reader)
        return opened

    def slow_files(self) -> list[str]:
        """Logical files of the point without a catalog, read whole (written before format 2)."""
        return [
            f.file_name
            for f in self.files
            if f.type != "snapshot" and not self.file(f).reader.has_catalog
        ]

    def snapshot_files(self) -> list[str]:
        """The snapshot the point's chain starts with, when it does and it was read (it is
        decompressed into the local explorer cache: the slower path)."""
        return [
            name
            for name, opened in self._open.items()
            if isinstance(opened, SnapshotFile) and opened.copied
        ]

    # -- one document ---------------------------------------------------------------
    def _state(self, doc_id: str, files: tuple[BackupFileInfo, ...]) -> DocumentState:
        if files[0].type != "snapshot":
            return replay(self._placed(doc_id, files))
        # The snapshot is the slow file: asked only when the incrementals do not settle it.
        later = in_chain_order(
            (position, self.file(info).entries_for(doc_id))
            for position, info in enumerate(files)
            if position > 0
        )
        if not _needs_base(later):
            return replay(later)
        base = [(0, entry) for entry in self.file(files[0]).entries_for(doc_id)]
        return replay(base + later)

    def _placed(self, doc_id: str, files: tuple[BackupFileInfo, ...]) -> list[Placed]:
        return in_chain_order(
            (position, self.file(info).entries_for(doc_id)) for position, info in enumerate(files)
        )

    def get(self, doc_id: str) -> FoundDocument:
        """`doc_id` as of the point; NotFound when the chain up to it never held it."""
        check_document_id(doc_id)
        state = self._state(doc_id, self.files)
        if state.version is None:
            raise NotFound(self._not_here(doc_id))
        position, entry = state.version
        info = self.files[position]
        file = self.file(info)
        attachments = tuple(
            AttachmentAtPoint(name, e.size, e.hash, e.etag, self.files[p].file_name)
            for name, (p, e) in sorted(state.attachments.items())
        )
        if entry.deleted:
            gone = file.tombstone(entry)
            return FoundDocument(
                gone.id, entry.etag, info.file_name, info.created_at, True, None,
                gone.deleted_at, (),
            )  # fmt: skip
        record = file.document(entry)
        try:
            body = orjson.loads(record.body)
        except orjson.JSONDecodeError as exc:
            raise BackupCorrupted(
                f"backup file {info.file_name} is corrupted: the body of {record.id!r} is not JSON"
            ) from exc
        document = Document(
            record.id, record.collection, record.etag, record.last_modified,
            record.change_vector, body,
        )  # fmt: skip
        return FoundDocument(
            record.id, entry.etag, info.file_name, info.created_at, False, document.to_json(),
            None, attachments, body, record.last_modified,
        )  # fmt: skip

    def _not_here(self, doc_id: str) -> str:
        text = f"{doc_id} is not in this backup at that point ({self.point.describe()})"
        for info in self.point.later:
            entries = [e for e in self.file(info).entries_for(doc_id) if e.is_document]
            if entries:
                return f"{text}; it first appears in {info.file_name} (etag {entries[0].etag})"
        return text

    def history(self, doc_id: str) -> list[DocumentVersion]:
        """Every version of `doc_id` up to the point, newest first; NotFound when none."""
        check_document_id(doc_id)
        found = versions(
            self._placed(doc_id, self.files),
            [(f.file_name, f.created_at) for f in self.files],
        )
        if not found:
            raise NotFound(self._not_here(doc_id))
        return found

    def attachment(self, doc_id: str, name: str) -> AttachmentContent:
        """An attachment of `doc_id` as of the point and its content (checked as it streams)."""
        state = self._state(doc_id, self.files)
        if not state.exists:
            raise NotFound(self._not_here(doc_id))
        placed = state.attachments.get(name)
        if placed is None:
            names = ", ".join(sorted(state.attachments)) or "none"
            raise NotFound(
                f"{doc_id} has no attachment {name!r} at that point (it has: {names})",
                field="attachment",
            )
        position, entry = placed
        info = self.files[position]
        record, content = self.file(info).attachment(entry)
        found = AttachmentAtPoint(name, entry.size, entry.hash, entry.etag, info.file_name)
        return AttachmentContent(found, record.content_type, content)

    # -- many documents -------------------------------------------------------------
    def states(self) -> Iterator[tuple[str, DocumentState]]:
        """(lower-cased id, state) of every id the point's files mention, in id order."""
        yield from merged_states([self.file(info) for info in self.files])

    def documents(
        self, collection: str | None = None, prefix: str | None = None
    ) -> Iterator[ListedDocument]:
        """The documents present at the point, in id order (case-insensitive filters)."""
        wanted = collection.lower() if collection else None
        start = prefix.lower() if prefix else ""
        for key, state in self.states():
            if start and not key.startswith(start):
                continue
            listed = listed_document(state, self.files)
            if listed is None or (wanted and listed.collection.lower() != wanted):
                continue
            yield listed


def _needs_base(later: list[Placed]) -> bool:
    """Whether the entries of the files after a chain's first one leave its state open: no
    version at all, or a last version whose attachments may sit in the first file."""
    versions = [entry for _position, entry in later if entry.is_document]
    if not versions:
        return True
    last = versions[-1]
    if last.deleted:
        return False
    if last.attachments is None:
        return True
    added = {entry.name for _position, entry in later if entry.kind == "a"}
    return not set(last.attachments) <= added


def listed_document(
    state: DocumentState, files: tuple[BackupFileInfo, ...]
) -> ListedDocument | None:
    """The listing of a document present in `state`, None when it is absent."""
    if state.version is None or not state.exists:
        return None
    position, entry = state.version
    return ListedDocument(
        entry.id, entry.collection or "", entry.etag, entry.size, entry.hash,
        files[position].file_name,
        tuple(sorted((name, e.hash) for name, (_p, e) in state.attachments.items())),
    )  # fmt: skip


def merged_states(files: list[ChainFile]) -> Iterator[tuple[str, DocumentState]]:
    """Merge the sorted catalogs of `files` (chain order) into one state per id, streamed."""
    streams = [_keyed(position, file) for position, file in enumerate(files)]
    merged = heapq.merge(*streams, key=lambda item: item[0])
    for key, group in groupby(merged, key=lambda item: item[0][0]):
        yield key, replay((position, entry) for (_k, position, _e), entry in group)


def _keyed(position: int, file: ChainFile) -> Iterator[tuple[tuple[str, int, int], CatalogEntry]]:
    for entry in file.sorted_entries():
        yield (entry.key, position, entry.etag), entry
