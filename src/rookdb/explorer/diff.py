"""What changed between two points of one database's backups: ids added, changed, deleted.

Two points of one chain, the earlier a prefix of the later, differ only in the
ids the later files mention: those ids are taken from the later files'
catalogs, and each is looked up in the earlier files (each catalog block read
at most once), so a diff of adjacent points costs the size of the change, not
of the database. Points of two chains (two run folders of one database) are
compared by merging both points' sorted catalogs as streams. Either way
memory stays flat, and catalogs alone are read, never data blocks.

A document is "changed" when its body (by hash), its collection or its
attachments differ; a document put again with the same body is not.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any, Literal

from rookdb.explorer.explorer import BackupExplorer, ListedDocument, listed_document
from rookdb.explorer.point import check_same_database
from rookdb.explorer.versions import DocumentState, in_chain_order, replay

DiffChange = Literal["added", "changed", "deleted"]


@dataclass(frozen=True)
class DiffRow:
    """One id that differs between the two points."""

    change: DiffChange
    id: str
    collection: str
    size_before: int | None
    size_after: int | None
    etag_before: int | None
    etag_after: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "change": self.change,
            "id": self.id,
            "collection": self.collection,
            "size_before": self.size_before,
            "size_after": self.size_after,
            "etag_before": self.etag_before,
            "etag_after": self.etag_after,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DiffRow:
        return cls(
            data["change"], str(data["id"]), str(data["collection"]), data.get("size_before"),
            data.get("size_after"), data.get("etag_before"), data.get("etag_after"),
        )  # fmt: skip


@dataclass
class DiffStatistics:
    """Counts of a diff, in all and per collection; complete once the rows are read."""

    before: str
    after: str
    added: int = 0
    changed: int = 0
    deleted: int = 0
    collections: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, row: DiffRow) -> None:
        setattr(self, row.change, getattr(self, row.change) + 1)
        counts = self.collections.setdefault(
            row.collection, {"added": 0, "changed": 0, "deleted": 0}
        )
        counts[row.change] += 1

    def summary(self) -> str:
        total = self.added + self.changed + self.deleted
        return (
            f"{total} change(s) from {self.before} to {self.after}: {self.added} added, "
            f"{self.changed} changed, {self.deleted} deleted"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.before,
            "to": self.after,
            "added": self.added,
            "changed": self.changed,
            "deleted": self.deleted,
            "collections": self.collections,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DiffStatistics:
        return cls(
            str(data["from"]), str(data["to"]), int(data["added"]), int(data["changed"]),
            int(data["deleted"]), dict(data.get("collections") or {}),
        )  # fmt: skip


class BackupDiff:
    """The rows of a diff, streamed; `statistics` is complete once they have all been read."""

    def __init__(
        self, before: BackupExplorer, after: BackupExplorer, collection: str | None = None
    ) -> None:
        check_same_database(before.point, after.point)
        self.before = before
        self.after = after
        self._collection = collection.lower() if collection else None
        self.statistics = DiffStatistics(before.point.last.file_name, after.point.last.file_name)

    def rows(self) -> Iterator[DiffRow]:
        """Every id that differs, in id order."""
        for _key, old, new in self._pairs():
            row = _row(
                listed_document(old, self.before.files), listed_document(new, self.after.files)
            )
            if row is None:
                continue
            if self._collection and row.collection.lower() != self._collection:
                continue
            self.statistics.count(row)
            yield row

    def _pairs(self) -> Iterator[tuple[str, DocumentState, DocumentState]]:
        before, after = self.before.files, self.after.files
        if before == after[: len(before)]:
            yield from self._within(self.after, len(before), flip=False)
        elif after == before[: len(after)]:
            yield from self._within(self.before, len(after), flip=True)
        else:
            yield from _joined(self.before.states(), self.after.states())

    def _within(
        self, longer: BackupExplorer, cut: int, *, flip: bool
    ) -> Iterator[tuple[str, DocumentState, DocumentState]]:
        """States at the shorter point (the first `cut` files) and at the longer one, for the
        ids the files after the cut mention."""
        opened = [longer.file(info) for info in longer.files]
        delta = heapq.merge(*(f.sorted_entries() for f in opened[cut:]), key=lambda e: e.key)
        keys = [key for key, _group in groupby(delta, key=lambda e: e.key)]
        per_file = [file.entries_for_keys(keys) for file in opened]
        for key in keys:
            placed = in_chain_order(
                (position, found.get(key, [])) for position, found in enumerate(per_file)
            )
            short = replay(p for p in placed if p[0] < cut)
            long = replay(placed)
            yield (key, long, short) if flip else (key, short, long)


def _joined(
    old: Iterator[tuple[str, DocumentState]], new: Iterator[tuple[str, DocumentState]]
) -> Iterator[tuple[str, DocumentState, DocumentState]]:
    """Merge-join two id-ordered streams of states."""
    empty = DocumentState()
    left, right = next(old, None), next(new, None)
    while left is not None or right is not None:
        if right is None or (left is not None and left[0] < right[0]):
            assert left is not None
            yield left[0], left[1], empty
            left = next(old, None)
        elif left is None or right[0] < left[0]:
            yield right[0], empty, right[1]
            right = next(new, None)
        else:
            yield left[0], left[1], right[1]
            left, right = next(old, None), next(new, None)


def _row(old: ListedDocument | None, new: ListedDocument | None) -> DiffRow | None:
    if old is None and new is None:
        return None
    if old is None:
        assert new is not None
        return DiffRow("added", new.id, new.collection, None, new.size, None, new.etag)
    if new is None:
        return DiffRow("deleted", old.id, old.collection, old.size, None, old.etag, None)
    same = (
        old.hash == new.hash
        and old.collection.lower() == new.collection.lower()
        and old.attachment_hashes == new.attachment_hashes
    )
    if same:
        return None
    return DiffRow("changed", new.id, new.collection, old.size, new.size, old.etag, new.etag)
