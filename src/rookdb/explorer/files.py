"""One backup file opened for look-ups: its catalog entries for an id, and the records they name.

A file with a catalog (format version 2) answers "what does it hold for this
id" from its trailer's directory and one catalog block; the record itself
comes from the one data block the entry names, and is checked against the
entry (id, etag, body hash) so a catalog that disagrees with its data is
reported as damage, never answered from. A file written before the catalog
is scanned whole (its data blocks read once per question): slower, and the
explorer says so.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence

from rookdb.backup.chain import BackupFileInfo
from rookdb.backup.format import (
    AttachmentRecord,
    CatalogEntry,
    DocumentRecord,
    SeekingReader,
    TombstoneRecord,
)
from rookdb.backup.format.ends import corrupted
from rookdb.backup.format.entries import SortedSpool, body_hash, sort_key

Opener = Callable[[BackupFileInfo], SeekingReader]
"""Opens a file of the chain for reading block by block (a local file, or range reads)."""


def local_opener(encryption_key: str | None) -> Opener:
    """Opens files on the local disk with `encryption_key` (None for plain files)."""

    def open_file(info: BackupFileInfo) -> SeekingReader:
        return SeekingReader(info.path, encryption_key=encryption_key)

    return open_file


class ExploredFile:
    """A backup file of a chain, opened once, asked about ids."""

    def __init__(self, info: BackupFileInfo, reader: SeekingReader) -> None:
        self.info = info
        self.reader = reader
        # One catalog block kept (its parsed entries and their keys, to bisect): look-ups
        # of sorted keys read each block once.
        self._cached: tuple[int, list[list[object]], list[str]] | None = None

    @property
    def name(self) -> str:
        return self.info.file_name

    @property
    def slow(self) -> bool:
        """True when the file has no catalog and is read whole (written before version 2)."""
        return not self.reader.has_catalog

    def close(self) -> None:
        self.reader.close()

    def entries_for(self, doc_id: str) -> list[CatalogEntry]:
        """What the file holds for `doc_id` (any case): document, tombstone, attachments."""
        key = sort_key(doc_id)
        if self.slow:
            return [e for e in self.reader.scan_catalog() if e.key == key]
        return self._entries_for_key(key)

    def entries_for_keys(self, keys: Sequence[str]) -> dict[str, list[CatalogEntry]]:
        """What the file holds for each of `keys` (lower-cased ids), reading each block once."""
        wanted = set(keys)
        found: dict[str, list[CatalogEntry]] = {}
        if self.slow:
            for entry in self.reader.scan_catalog():
                if entry.key in wanted:
                    found.setdefault(entry.key, []).append(entry)
            return found
        for key in sorted(wanted):
            entries = self._entries_for_key(key)
            if entries:
                found[key] = entries
        return found

    def _entries_for_key(self, key: str) -> list[CatalogEntry]:
        directory = self.reader.trailer.catalog
        assert directory is not None  # callers check `slow` first
        # Entries of one id may run over from the block before the first block starting with it.
        first = max(bisect_left(directory.first_keys, key) - 1, 0)
        last = bisect_right(directory.first_keys, key)
        found: list[CatalogEntry] = []
        for position in range(first, last):
            rows, keys = self._catalog_block(position)
            found += [
                self.reader.catalog_entry(position, row)
                for row in rows[bisect_left(keys, key) : bisect_right(keys, key)]
            ]
        return found

    def _catalog_block(self, position: int) -> tuple[list[list[object]], list[str]]:
        if self._cached is None or self._cached[0] != position:
            self._cached = (position, *self.reader.catalog_rows(position))
        return self._cached[1], self._cached[2]

    def sorted_entries(self) -> Iterator[CatalogEntry]:
        """Every entry by (lower-cased id, etag): the catalog, or the scan sorted aside."""
        if not self.slow:
            yield from self.reader.catalog_entries()
            return
        spool = SortedSpool()
        try:
            for entry in self.reader.scan_catalog():
                spool.add(entry.key, entry.etag, entry.to_meta())
            for meta in spool.sorted():
                yield CatalogEntry.from_meta(meta)
        finally:
            spool.close()

    # -- the records entries name ------------------------------------------------------
    def document(self, entry: CatalogEntry) -> DocumentRecord:
        """The document record `entry` names, checked against it."""
        for record in self.reader.block_records(entry.block_offset, entry.block_seq):
            if (
                isinstance(record, DocumentRecord)
                and record.etag == entry.etag
                and sort_key(record.id) == entry.key
            ):
                if entry.hash and body_hash(record.body.encode()) != entry.hash:
                    raise self._mismatch(entry, "its body does not match the catalog's hash")
                return record
        raise self._mismatch(entry, "the block named does not hold it")

    def tombstone(self, entry: CatalogEntry) -> TombstoneRecord:
        """The tombstone record `entry` names (its time of deletion)."""
        for record in self.reader.block_records(entry.block_offset, entry.block_seq):
            if (
                isinstance(record, TombstoneRecord)
                and record.etag == entry.etag
                and sort_key(record.id) == entry.key
            ):
                return record
        raise self._mismatch(entry, "the block named does not hold it")

    def attachment(self, entry: CatalogEntry) -> tuple[AttachmentRecord, Iterator[bytes]]:
        """The attachment record `entry` names and its content, checked against its hash as it
        streams (the last chunk is held back until the hash matches)."""
        for record in self.reader.block_records(entry.block_offset, entry.block_seq):
            if (
                isinstance(record, AttachmentRecord)
                and record.etag == entry.etag
                and record.name == entry.name
                and sort_key(record.document_id) == entry.key
            ):
                return record, self._checked(record, entry)
        raise self._mismatch(entry, "the block named does not hold it")

    def _checked(self, record: AttachmentRecord, entry: CatalogEntry) -> Iterator[bytes]:
        digest = hashlib.sha256()
        held: bytes | None = None
        for chunk in record.chunks:
            digest.update(chunk)
            if held is not None:
                yield held
            held = chunk
        if digest.hexdigest() != record.hash:
            raise self._mismatch(entry, "its content does not match its recorded hash")
        if held is not None:
            yield held

    def _mismatch(self, entry: CatalogEntry, what: str) -> Exception:
        return corrupted(
            self.name,
            f"the catalog entry of {entry.id!r} (etag {entry.etag}, block at offset "
            f"{entry.block_offset}) does not match the data: {what}",
        )
