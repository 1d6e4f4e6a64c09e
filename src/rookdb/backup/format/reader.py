"""Reading a backup file: its ends when opened (see ends), then blocks and records streamed.

Blocks are checked as they stream: each frame's lengths against plausible
limits before anything is read or allocated, each block's CRC, its place
before or after the index, the SHA-256 of every byte at the end of the pass;
and every record's fields, and its etag against the header's range, before it
is handed out, so a restore never replays a record the file should not hold.

A file can be opened over any seekable stream (`BackupReader.over`, for
range reads of a remote file); ``seeking`` reads it one block at a time.

Whatever is wrong is BackupCorrupted naming the file and the place (a missing
or wrong key is EncryptionKeyError); nothing else escapes. The pure parsers
(layout, codecs, records) raise ValueError saying what is wrong; the reader,
which knows the file, names it.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Self

import orjson

from rookdb.backup.format import records
from rookdb.backup.format.codecs import BlockCodec, file_cipher
from rookdb.backup.format.ends import corrupted, read_ends
from rookdb.backup.format.layout import (
    ATTACHMENT,
    BLOCK,
    BLOCK_KINDS,
    CATALOG_BLOCK,
    CHUNK,
    DATA_BLOCK,
    DOCUMENT,
    FILE_CHUNK,
    IDENTITY,
    INDEX,
    INDEX_BLOCK,
    INDEX_ENTRY,
    MAX_RAW_BLOCK,
    MAX_STORED_BLOCK,
    RECORD,
    TOMBSTONE,
)
from rookdb.backup.format.records import AttachmentRecord, DocumentFields, DocumentRecord, Record
from rookdb.errors import BackupCorrupted, EncryptionKeyError

if TYPE_CHECKING:
    from rookdb.backup import crypto

# (offset of the block holding it, kind, meta, data)
PlacedRecord = tuple[int, bytes, bytes, bytes]
_FRAME = RECORD.size
_unpack = RECORD.unpack_from


class _Cursor:
    """Where a pass over the data blocks stands: the block's bytes and the next record's
    position in them. Shared by the fast loop over documents and the general record path,
    so either can take over where the other stopped."""

    __slots__ = ("blocks", "offset", "pos", "raw")

    def __init__(self, blocks: Iterator[tuple[bytes, int, bytes]]) -> None:
        self.blocks = blocks
        self.raw = b""
        self.pos = 0
        self.offset = 0

    def advance(self) -> bool:
        """Move to the next block; False when there is none."""
        for _kind, offset, raw in self.blocks:
            self.raw, self.pos, self.offset = raw, 0, offset
            if raw:
                return True
        return False


class BackupReader:
    """Reads one backup file: header and trailer at once, records streamed and verified."""

    def __init__(self, path: Path, *, encryption_key: str | None = None) -> None:
        self.path = Path(path)
        try:
            file = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        except FileNotFoundError as exc:
            raise BackupCorrupted(f"backup file {self.path.name} does not exist") from exc
        except OSError as exc:
            raise BackupCorrupted(f"cannot read backup file {self.path.name}: {exc}") from exc
        try:
            size = self.path.stat().st_size
        except OSError as exc:
            file.close()
            raise BackupCorrupted(f"cannot read backup file {self.path.name}: {exc}") from exc
        self._open_ends(file, size, self.path.name, encryption_key)

    @classmethod
    def over(
        cls, file: IO[bytes], size: int, name: str, *, encryption_key: str | None = None
    ) -> Self:
        """A reader of `file` (`size` bytes, called `name`), any seekable binary stream; it
        closes `file` when closed."""
        reader = cls.__new__(cls)
        reader.path = Path(name)
        reader._open_ends(file, size, name, encryption_key)
        return reader

    def _open_ends(self, file: IO[bytes], size: int, name: str, encryption_key: str | None) -> None:
        self.name = name
        self._file = file
        try:
            self.size = size
            ends = read_ends(self._file, self.size, self.name)
            self.header, self.trailer = ends.header, ends.trailer
            self._data_start, self.trailer_start = ends.data_start, ends.trailer_start
            self._codec = BlockCodec(self.header.compression, self._make_cipher(encryption_key))
        except BaseException:
            self._file.close()
            raise

    def __enter__(self) -> BackupReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()

    def _corrupt(self, what: str) -> BackupCorrupted:
        return corrupted(self.name, what)

    def _make_cipher(self, user_key: str | None) -> crypto.BlockCipher | None:
        info = self.header.encryption
        if not self.header.encrypted or info is None:
            return None
        if not user_key:
            raise EncryptionKeyError(
                f"backup file {self.name} is encrypted; give its key (--encryption-key)"
            )
        try:
            return file_cipher(info, user_key)
        except EncryptionKeyError as exc:
            raise EncryptionKeyError(
                f"wrong encryption key for backup file {self.name}: {exc.message}"
            ) from exc

    # -- integrity ---------------------------------------------------------------
    def verify_checksum(self, progress: Callable[[int], None] | None = None) -> None:
        """Hash every byte before the trailer and compare with the recorded SHA-256."""
        digest = hashlib.sha256()
        self._file.seek(0)
        remaining = self.trailer_start
        while remaining > 0:
            piece = self._file.read(min(remaining, 4 << 20))
            if not piece:
                raise self._corrupt("file is truncated")
            digest.update(piece)
            remaining -= len(piece)
            if progress is not None:
                progress(len(piece))
        if digest.hexdigest() != self.trailer.sha256:
            raise self._corrupt("SHA-256 mismatch (the file was changed or damaged)")

    # -- blocks ------------------------------------------------------------------
    def blocks(self, *, include_index: bool = False) -> Iterator[tuple[bytes, int, bytes]]:
        """(kind, offset, raw bytes) of each block, checking CRCs and the SHA-256 on the way."""
        digest = hashlib.sha256()
        self._file.seek(0)
        digest.update(self._file.read(self._data_start))
        index_offset = self.trailer.index_offset
        offset = self._data_start
        seq = 0
        while offset < self.trailer_start:
            frame, stored = self._read_block(offset, index_offset)
            kind, _stored_len, raw_len, _crc = BLOCK.unpack(frame)
            digest.update(frame)
            digest.update(stored)
            block_offset = offset
            offset += BLOCK.size + len(stored)
            seq += 1
            if kind != DATA_BLOCK and not include_index:
                continue
            try:
                raw = self._codec.open(seq - 1, kind, stored, raw_len)
            except ValueError as exc:
                raise self._corrupt(f"block at offset {block_offset} {exc}") from exc
            yield kind, block_offset, raw
        if digest.hexdigest() != self.trailer.sha256:
            raise self._corrupt("SHA-256 mismatch (the file was changed or damaged)")
        if seq != self.trailer.blocks:
            raise self._corrupt(
                f"the trailer counts {self.trailer.blocks} blocks, the file holds {seq}"
            )

    def _read_block(self, offset: int, index_offset: int) -> tuple[bytes, bytes]:
        """The frame and stored bytes of the block at `offset`, every claim checked first."""
        where = f"block at offset {offset}"
        if offset + BLOCK.size > self.trailer_start:
            raise self._corrupt(f"{where} runs past the trailer")
        frame = self._file.read(BLOCK.size)
        if len(frame) < BLOCK.size:
            raise self._corrupt("file is truncated inside a block")
        kind, stored_len, raw_len, crc = BLOCK.unpack(frame)
        if kind not in BLOCK_KINDS:
            raise self._corrupt(f"{where} has an unknown block kind {kind!r}")
        if stored_len > MAX_STORED_BLOCK:
            raise self._corrupt(
                f"{where} claims {stored_len} stored bytes "
                f"(at most {MAX_STORED_BLOCK} are plausible)"
            )
        if raw_len > MAX_RAW_BLOCK:
            raise self._corrupt(
                f"{where} claims {raw_len} bytes once decompressed "
                f"(at most {MAX_RAW_BLOCK} are plausible)"
            )
        end = offset + BLOCK.size + stored_len
        if end > self.trailer_start:
            raise self._corrupt(f"{where} runs past the trailer")
        # Data blocks first, then the index: the trailer's index_offset is where they meet.
        if kind == DATA_BLOCK and offset >= index_offset:
            raise self._corrupt(
                f"{where} is a data block inside the index (which starts at offset {index_offset})"
            )
        if kind == INDEX_BLOCK and offset < index_offset:
            raise self._corrupt(
                f"{where} is an index block before the index (which starts at {index_offset})"
            )
        if offset < index_offset < end:
            raise self._corrupt(f"the index offset {index_offset} falls inside the {where}")
        # The catalog (version 2) comes after the index: the trailer says where it starts.
        catalog = self.trailer.catalog
        if kind == CATALOG_BLOCK and (catalog is None or offset < catalog.offset):
            raise self._corrupt(f"{where} is a catalog block outside the catalog")
        if kind == INDEX_BLOCK and catalog is not None and offset >= catalog.offset:
            raise self._corrupt(f"{where} is an index block inside the catalog")
        stored = self._file.read(stored_len)
        if len(stored) < stored_len:
            raise self._corrupt("file is truncated inside a block")
        if zlib.crc32(stored) != crc:
            raise self._corrupt(f"{where} fails its CRC")
        return frame, stored

    # -- records -----------------------------------------------------------------
    def _placed_records(self) -> Iterator[PlacedRecord]:
        return self._placed(_Cursor(self.blocks()))

    def _placed(self, at: _Cursor) -> Iterator[PlacedRecord]:
        """The records from where `at` stands on, into the following blocks."""
        while at.pos < len(at.raw) or at.advance():
            raw, pos, offset = at.raw, at.pos, at.offset
            end = len(raw)
            if pos + _FRAME > end:
                raise self._corrupt(f"block at offset {offset}: a record is cut short")
            kind, meta_len, data_len = _unpack(raw, pos)
            data_start = pos + _FRAME + meta_len
            at.pos = data_start + data_len
            if at.pos > end:
                raise self._corrupt(f"block at offset {offset}: a record is cut short")
            yield offset, kind, raw[pos + _FRAME : data_start], raw[data_start : at.pos]

    def _split(self, raw: bytes, offset: int) -> Iterator[tuple[bytes, bytes, bytes]]:
        at = _Cursor(iter(()))
        at.raw, at.offset = raw, offset
        for _offset, kind, meta, data in self._placed(at):
            yield kind, meta, data

    def raw_records(self) -> Iterator[tuple[bytes, bytes, bytes]]:
        """(kind, meta, data) of every record in order."""
        for _offset, kind, meta, data in self._placed_records():
            yield kind, meta, data

    def records(self) -> Iterator[Record]:
        """Every logical record in order; an attachment's chunks must be read before the next."""
        make = DocumentRecord
        for item in self.batches():
            if isinstance(item, list):
                for fields in item:
                    yield make(*fields)
            else:
                yield item

    def batches(self) -> Iterator[list[DocumentFields] | Record]:
        """The records of `records`, in the same order and as checked, with each run of
        documents in a block as one list of plain tuples (`DocumentFields`).

        The restore's hot path: a file is nearly all documents, so they are decoded in one
        loop over the block's bytes with no object or generator turn per record; any other
        record goes through the general path, which may run on into the next blocks (an
        attachment's content).
        """
        since, last = self.header.since_etag, self.header.last_etag
        at = _Cursor(self.blocks())
        placed = self._placed(at)
        loads = orjson.loads
        fields_of = records.document_fields
        while at.pos < len(at.raw) or at.advance():
            raw, pos, offset = at.raw, at.pos, at.offset
            view = memoryview(raw)
            end = len(raw)
            rows: list[DocumentFields] = []
            while pos + _FRAME <= end:
                kind, meta_len, data_len = _unpack(raw, pos)
                if kind != DOCUMENT or not meta_len:
                    break  # the general path (which also says what an empty meta lacks)
                data_start = pos + _FRAME + meta_len
                data_end = data_start + data_len
                if data_end > end:
                    break  # the general path says what is wrong
                try:
                    row = fields_of(
                        loads(view[pos + _FRAME : data_start]), view[data_start:data_end]
                    )
                except ValueError as exc:
                    raise self._undecodable(offset, exc) from exc
                if not since < row[0] <= last:
                    raise self._outside(offset, "document", row[0])
                rows.append(row)
                pos = data_end
            at.pos = pos
            if rows:
                yield rows
            if pos < end:
                yield from self._one_record(next(placed), placed)

    def _one_record(self, first: PlacedRecord, placed: Iterator[PlacedRecord]) -> Iterator[Record]:
        """The record starting with `first` (yielded unless it is a snapshot's file chunk)."""
        offset, kind, meta, data = first
        if kind == FILE_CHUNK:
            return
        try:
            fields = orjson.loads(meta) if meta else None
        except orjson.JSONDecodeError as exc:
            raise self._undecodable(offset, exc) from exc
        try:
            record = self._record(kind, fields, data, placed)
        except ValueError as exc:
            raise self._undecodable(offset, exc) from exc
        # The feed that wrote the file gave exactly the changes in (since, last]:
        # a record outside contradicts the header, whichever of them was altered.
        if not self.header.since_etag < record.etag <= self.header.last_etag:
            raise self._outside(offset, record.kind, record.etag)
        yield record
        if isinstance(record, AttachmentRecord):
            for _ in record.chunks:  # skip whatever the consumer did not read
                pass

    def _undecodable(self, offset: int, exc: ValueError) -> BackupCorrupted:
        """A record that did not decode: its meta not JSON, or a field not as the format says."""
        if isinstance(exc, orjson.JSONDecodeError):
            return self._corrupt(f"block at offset {offset}: a record's meta is not JSON")
        return self._corrupt(f"block at offset {offset}: {exc}")

    def _outside(self, offset: int, kind: str, etag: int) -> BackupCorrupted:
        since, last = self.header.since_etag, self.header.last_etag
        return self._corrupt(
            f"block at offset {offset}: {kind} record: etag {etag} "
            f"is outside the header's range ({since}, {last}]"
        )

    def _record(
        self, kind: bytes, fields: object, data: bytes, placed: Iterator[PlacedRecord]
    ) -> Record:
        if kind == DOCUMENT:
            return records.document(fields, data)
        if kind == TOMBSTONE:
            return records.tombstone(fields)
        if kind == ATTACHMENT:
            etag, doc_id, name, content_type, size, content_hash = records.attachment(fields)
            chunks = self._chunks(placed, size)
            return AttachmentRecord(etag, doc_id, name, content_type, size, content_hash, chunks)
        if kind == IDENTITY:
            return records.identity(fields)
        if kind == INDEX:
            return records.index(fields)
        if kind == CHUNK:
            raise ValueError(f"record kind {kind!r} (attachment content) with no attachment")
        raise ValueError(f"unknown record kind {kind!r}")

    def _chunks(self, placed: Iterator[PlacedRecord], size: int) -> Iterator[bytes]:
        remaining = size
        while remaining > 0:
            try:
                offset, kind, _meta, data = next(placed)
            except StopIteration:
                raise self._corrupt("attachment content is cut short") from None
            if kind != CHUNK or len(data) > remaining:
                raise self._corrupt(
                    f"block at offset {offset}: attachment content does not match its size"
                )
            remaining -= len(data)
            yield data

    def file_chunks(self) -> Iterator[bytes]:
        """The raw database file carried by a snapshot, chunk by chunk."""
        for offset, kind, _meta, data in self._placed_records():
            if kind != FILE_CHUNK:
                raise self._corrupt(
                    f"block at offset {offset}: unexpected record kind {kind!r} in a snapshot"
                )
            yield data

    # -- the index ---------------------------------------------------------------
    def index_entries(self) -> Iterator[tuple[int, list[str]]]:
        """(block offset, document ids) pairs from the index, for seeking readers."""
        data_blocks: set[int] = set()
        # Files written before index blocks ended between entries may split an
        # entry across two blocks: the index is read as one stream.
        pending = b""
        offset = self._data_start
        for kind, offset, raw in self.blocks(include_index=True):
            if kind == DATA_BLOCK:
                data_blocks.add(offset)
                continue
            if kind == CATALOG_BLOCK:
                continue
            stream = pending + raw if pending else raw
            pos = 0
            while pos + RECORD.size <= len(stream):
                entry_kind, meta_len, data_len = RECORD.unpack_from(stream, pos)
                end = pos + RECORD.size + meta_len + data_len
                if end > len(stream):
                    break
                meta = stream[pos + RECORD.size : pos + RECORD.size + meta_len]
                yield self._index_entry(offset, entry_kind, meta, data_blocks)
                pos = end
            pending = stream[pos:]
            if len(pending) > MAX_RAW_BLOCK:
                raise self._corrupt(f"block at offset {offset}: an index entry is implausibly long")
        if pending:
            raise self._corrupt(
                f"block at offset {offset}: the index ends inside an entry (cut short)"
            )

    def _index_entry(
        self, offset: int, kind: bytes, meta: bytes, data_blocks: set[int]
    ) -> tuple[int, list[str]]:
        where = f"block at offset {offset}"
        if kind != INDEX_ENTRY:
            raise self._corrupt(f"{where}: unexpected record kind {kind!r} in the index")
        try:
            block_offset, ids = records.index_entry(orjson.loads(meta))
        except orjson.JSONDecodeError as exc:
            raise self._corrupt(f"{where}: an index entry is not JSON") from exc
        except ValueError as exc:
            raise self._corrupt(f"{where}: {exc}") from exc
        if block_offset not in data_blocks:
            raise self._corrupt(
                f"{where}: an index entry points at offset {block_offset}, "
                "where no data block starts"
            )
        return block_offset, ids
