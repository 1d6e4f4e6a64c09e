"""Reading a backup file one block at a time: what the backup explorer needs.

The explorer never streams a whole file: it reads the catalog's directory
from the trailer, one catalog block, and the one data block holding the
record it wants. Those blocks get every check a streaming read makes (frame
limits, placement, CRC, the block's own authentication when encrypted, each
record's fields and etag range); only the whole-file SHA-256 is left to
`backup verify`, since it would mean reading every byte. Encrypted blocks
are sealed with their number in the file as nonce, so catalog entries and the
directory carry each block's number along with its offset.

Files written without a catalog (format version 1) are read the slow way:
`scan_catalog` reads every data block and yields the entries a catalog would
have held.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator
from itertools import islice

import orjson

from rookdb.backup.format import records
from rookdb.backup.format.entries import CatalogEntry, body_hash
from rookdb.backup.format.layout import (
    ATTACHMENT,
    BLOCK,
    CATALOG_BLOCK,
    CHUNK,
    DATA_BLOCK,
    DOCUMENT,
    FILE_CHUNK,
    TOMBSTONE,
)
from rookdb.backup.format.reader import BackupReader, PlacedRecord
from rookdb.backup.format.records import Record


class SeekingReader(BackupReader):
    """A backup file read block by block, by offset, for look-ups of single documents."""

    @property
    def has_catalog(self) -> bool:
        """True for files written with a catalog (format version 2 backups)."""
        return self.trailer.catalog is not None

    def read_block(self, offset: int, seq: int, kind: bytes = DATA_BLOCK) -> tuple[bytes, int]:
        """The raw bytes of the block of `kind` at `offset` (number `seq` in the file), checked,
        and the offset of the block after it."""
        if not self._data_start <= offset < self.trailer_start:
            raise self._corrupt(f"no block starts at offset {offset} (outside the blocks)")
        self._file.seek(offset)
        frame, stored = self._read_block(offset, self.trailer.index_offset)
        found, _stored_len, raw_len, _crc = BLOCK.unpack(frame)
        if found != kind:
            raise self._corrupt(
                f"block at offset {offset} is of kind {found!r} where {kind!r} was expected"
            )
        try:
            raw = self._codec.open(seq, kind, stored, raw_len)
        except ValueError as exc:
            raise self._corrupt(f"block at offset {offset} {exc}") from exc
        return raw, offset + BLOCK.size + len(stored)

    def block_records(self, offset: int, seq: int) -> Iterator[Record]:
        """The records that start in the data block at `offset`, checked as `records` checks
        them; an attachment's content runs on into the next blocks, read only when consumed."""
        raw, after = self.read_block(offset, seq)
        here = list(self._split(raw, offset))
        since, last = self.header.since_etag, self.header.last_etag
        for position, (kind, meta, data) in enumerate(here):
            if kind in (CHUNK, FILE_CHUNK):
                continue  # content of an attachment, read through its record
            rest = self._placed_after(here[position + 1 :], offset, seq, after)
            try:
                record = self._record(kind, orjson.loads(meta) if meta else None, data, rest)
            except ValueError as exc:
                raise self._undecodable(offset, exc) from exc
            if not since < record.etag <= last:
                raise self._outside(offset, record.kind, record.etag)
            yield record

    def _placed_after(
        self, here: list[tuple[bytes, bytes, bytes]], offset: int, seq: int, after: int
    ) -> Iterator[PlacedRecord]:
        for kind, meta, data in here:
            yield offset, kind, meta, data
        while after < self.trailer.index_offset:
            offset, seq = after, seq + 1
            raw, after = self.read_block(offset, seq)
            for kind, meta, data in self._split(raw, offset):
                yield offset, kind, meta, data

    def catalog_rows(self, position: int) -> tuple[list[list[object]], list[str]]:
        """The entries of catalog block number `position` as parsed JSON, and their keys
        (lower-cased ids), checked to be in order; each entry is checked when taken
        (`catalog_entry`), so a look-up validates only what it uses."""
        catalog = self.trailer.catalog
        if catalog is None or not 0 <= position < len(catalog.block_offsets):
            raise self._corrupt(f"the catalog has no block {position}")
        offset = catalog.block_offsets[position]
        raw, _after = self.read_block(offset, catalog.block_seqs[position], CATALOG_BLOCK)
        where = f"block at offset {offset}"
        try:
            rows = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise self._corrupt(f"{where}: the catalog block is not JSON") from exc
        # Checked in C-level passes: a diff of adjacent points reads a thousand blocks.
        if type(rows) is not list or not rows or set(map(type, rows)) != {list}:
            raise self._corrupt(f"{where}: the catalog block is not a list of entries")
        try:
            keys = [row[1].lower() for row in rows]  # sort_key, inlined
        except (IndexError, AttributeError, TypeError) as exc:
            raise self._corrupt(f"{where}: a catalog entry is malformed") from exc
        # Readers bisect a block by key: one out of order would hide entries, so it is damage.
        in_order = all(map(operator.le, keys, islice(keys, 1, None)))
        if not in_order:
            raise self._corrupt(f"{where}: the catalog is out of order")
        if keys[0] != catalog.first_keys[position]:
            raise self._corrupt(
                f"{where}: the catalog block does not start where its directory says"
            )
        return rows, keys

    def catalog_entry(self, position: int, row: object) -> CatalogEntry:
        """One entry of catalog block `position` (from `catalog_rows`), checked."""
        catalog = self.trailer.catalog
        offset = catalog.block_offsets[position] if catalog is not None else 0
        try:
            entry = CatalogEntry.from_fields(row)
        except ValueError as exc:
            raise self._corrupt(f"block at offset {offset}: {exc}") from exc
        if not self.header.since_etag < entry.etag <= self.header.last_etag:
            raise self._corrupt(
                f"block at offset {offset}: a catalog entry's etag {entry.etag} is outside "
                "the header's range"
            )
        return entry

    def catalog_block(self, position: int) -> list[CatalogEntry]:
        """Every entry of catalog block number `position`, checked."""
        rows, _keys = self.catalog_rows(position)
        return [self.catalog_entry(position, row) for row in rows]

    def catalog_entries(self) -> Iterator[CatalogEntry]:
        """Every catalog entry in catalog order (by lower-cased id, then etag), block by block."""
        catalog = self.trailer.catalog
        if catalog is None:
            return
        previous: tuple[str, int] | None = None
        for position in range(len(catalog.block_offsets)):
            for entry in self.catalog_block(position):
                key = (entry.key, entry.etag)
                if previous is not None and key < previous:
                    raise self._corrupt("the catalog is out of order")
                previous = key
                yield entry

    def scan_catalog(self) -> Iterator[CatalogEntry]:
        """The entries a catalog would hold, by reading every data block (in file order): the
        slow path for files written without a catalog (format version 1)."""
        since, last = self.header.since_etag, self.header.last_etag
        # Data blocks come first, so the n-th block the stream yields is block number n.
        for seq, (_kind, offset, raw) in enumerate(self.blocks()):
            for kind, meta, data in self._split(raw, offset):
                if kind not in (DOCUMENT, TOMBSTONE, ATTACHMENT):
                    continue
                try:
                    entry = _entry_of(kind, orjson.loads(meta), data, offset, seq)
                except ValueError as exc:
                    raise self._undecodable(offset, exc) from exc
                if entry is None:
                    continue
                if not since < entry.etag <= last:
                    raise self._corrupt(
                        f"block at offset {offset}: a record's etag {entry.etag} is outside "
                        f"the header's range ({since}, {last}]"
                    )
                yield entry


def _entry_of(
    kind: bytes, fields: object, data: bytes, offset: int, seq: int
) -> CatalogEntry | None:
    if kind == DOCUMENT:
        doc = records.document(fields, data)
        names = tuple(doc.attachments) if doc.attachments is not None else None
        return CatalogEntry(
            "d", doc.id, doc.etag, offset, seq, len(data), body_hash(data), doc.collection,
            None, names,
        )  # fmt: skip
    if kind == TOMBSTONE:
        gone = records.tombstone(fields)
        if gone.of == "document":
            return CatalogEntry("t", gone.id, gone.etag, offset, seq, collection=gone.collection)
        if gone.of == "attachment":
            return CatalogEntry("x", gone.id, gone.etag, offset, seq, name=gone.name)
        return None
    etag, doc_id, name, _type, size, content_hash = records.attachment(fields)
    return CatalogEntry("a", doc_id, etag, offset, seq, size, content_hash, None, name)
