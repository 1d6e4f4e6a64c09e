"""Replaying backup records into a database, counting them kind by kind.

The writing is storage's bulk loader (``rookdb.storage.bulk``): with
``keep_etags`` (a restore into a fresh staging file) rows keep the source's
etags, change vectors and times and go in large batches; without (``import
--incremental`` onto an existing database) every change gets a fresh etag.
This module reads the records, applies the import's choice of deletes,
checks each attachment against its recorded hash, and counts what it applied
so a file's trailer can be checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rookdb.backup.format import (
    AttachmentRecord,
    BackupReader,
    IdentityRecord,
    IndexRecord,
    Record,
    TombstoneRecord,
)
from rookdb.errors import BackupCorrupted
from rookdb.storage.bulk import BulkLoader
from rookdb.storage.engine import Engine
from rookdb.storage.record_kinds import DOCUMENT, RECORD_KINDS, kind_of


def _zeros() -> dict[str, int]:
    return {kind.count: 0 for kind in RECORD_KINDS}


@dataclass
class ApplyCounts:
    """How many records of each kind were applied, by trailer count name."""

    applied: dict[str, int] = field(default_factory=_zeros)

    def add(self, other: ApplyCounts) -> None:
        for name, value in other.applied.items():
            self.applied[name] = self.applied.get(name, 0) + value

    def trailer_mismatches(self, trailer_counts: dict[str, int]) -> list[str]:
        """Where the records applied from a file differ from the counts its trailer records."""
        return [
            f"{kind.count}: the trailer says {trailer_counts.get(kind.count, 0)}, the file holds "
            f"{self.applied[kind.count]}"
            for kind in RECORD_KINDS
            if trailer_counts.get(kind.count, 0) != self.applied[kind.count]
        ]

    def result_counts(self) -> dict[str, int]:
        """The counts as a restore result names them (``deletes``, ``index_deletes`` ...)."""
        return {kind.result: self.applied[kind.count] for kind in RECORD_KINDS}


class Applier:
    """Applies the records of backup files, in chain order, to one database engine."""

    def __init__(self, engine: Engine, *, keep_etags: bool, apply_deletes: bool = True) -> None:
        self.engine = engine
        self.keep_etags = keep_etags
        self.apply_deletes = apply_deletes

    def apply(self, reader: BackupReader, *, fresh: bool = False) -> ApplyCounts:
        """Replay every record of `reader`; `fresh` means the target was empty (a full file)."""
        counts = ApplyCounts()
        applied = counts.applied
        documents = 0
        with BulkLoader(self.engine, keep_etags=self.keep_etags, fresh=fresh) as loader:
            # The hot path: documents come a block's run at a time, as plain tuples.
            for item in reader.batches():
                if isinstance(item, list):
                    documents += len(item)
                    loader.documents(item)
                else:
                    self._apply(loader, item, applied)
            loader.finish(reader.header.last_etag)
        applied[DOCUMENT.count] += documents
        return counts

    def _apply(self, loader: BulkLoader, record: Record, applied: dict[str, int]) -> None:
        if isinstance(record, TombstoneRecord) and not self.apply_deletes:
            return  # an import without --incremental neither applies nor counts deletes
        of = getattr(record, "of", None)
        kind = kind_of(record.kind, of)
        if kind is None:
            raise BackupCorrupted(f"the backup file holds a {record.kind} record of {of!r}")
        applied[kind.count] += 1
        if isinstance(record, TombstoneRecord):
            loader.tombstone(record)
        elif isinstance(record, AttachmentRecord):
            info = loader.attachment(
                record.etag, record.document_id, record.name, record.content_type, record.chunks
            )
            if info.hash != record.hash or info.size != record.size:
                raise BackupCorrupted(
                    f"attachment {record.name!r} of {record.document_id!r} does not match its "
                    "recorded hash"
                )
        elif isinstance(record, IdentityRecord):
            loader.identity(record)
        elif isinstance(record, IndexRecord):
            loader.index(record)
