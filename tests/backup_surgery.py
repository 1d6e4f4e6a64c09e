"""Take a backup file apart, change one part, and put it back with every checksum re-signed.

Damage tests change a header field, a block's bytes or one record, then re-sign
whatever would otherwise catch the change first (block CRCs, the SHA-256 of the
content, the trailer's CRC, offsets that moved), so that the reader's own
parsing meets the bad data, as it would in a file written by a broken or
hostile tool. This is a reading of the format of its own: it shares no code
with rookdb's reader or writer.

The last part is what those tests do with rookdb's own code around the
surgery: `hand_written` writes a file record by record (records no backup of
rookdb would write), `read_everything` reads all that restore and verify read.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
import zstandard

from rookdb.backup.format import AttachmentRecord, BackupHeader, BackupReader, BackupWriter

MAGIC = b"ROOKBAK1"
U32 = struct.Struct("<I")
BLOCK = struct.Struct("<cIII")
RECORD = struct.Struct("<cII")
FOOTER = struct.Struct("<II8s")

RawRecord = tuple[bytes, bytes, bytes]  # kind, meta, data

RAW_KEY = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80="  # an encryption key: 32 bytes in base64
CREATED_AT = "2026-01-02T03:04:05Z"  # when a hand-written file (and its records) was written


@dataclass
class Block:
    kind: bytes
    raw_len: int
    stored: bytes
    offset: int  # where the block started in the file it was taken from
    # A stored length the frame claims instead of the real one (a lying frame).
    stored_len_claim: int | None = None


@dataclass
class BackupParts:
    """A backup file in pieces; edit them, then `put_together`."""

    header_text: bytes
    blocks: list[Block]
    trailer: dict[str, Any]
    end_magic: bytes
    compression: str  # as written, whatever the header is edited to say
    sealed: bool  # encrypted as written: its blocks cannot be opened here
    blocks_end: int  # where the blocks ended in the file they were taken from

    @property
    def header(self) -> dict[str, Any]:
        value = orjson.loads(self.header_text)
        assert isinstance(value, dict)
        return value

    def edit_header(self, **fields: object) -> None:
        self.header_text = orjson.dumps({**self.header, **fields})

    def raw(self, block: Block) -> bytes:
        """The block's bytes before compression (only for files that are not encrypted)."""
        return decode(block.stored, self.compression, block.raw_len)

    def set_raw(self, block: Block, raw: bytes) -> None:
        block.stored = encode(raw, self.compression)
        block.raw_len = len(raw)

    def data_blocks(self) -> list[Block]:
        return [b for b in self.blocks if b.kind == b"B"]

    def index_blocks(self) -> list[Block]:
        return [b for b in self.blocks if b.kind == b"I"]

    def catalog_blocks(self) -> list[Block]:
        return [b for b in self.blocks if b.kind == b"L"]

    def records(self, block: Block) -> list[RawRecord]:
        return split_records(self.raw(block))

    def set_records(self, block: Block, records: list[RawRecord]) -> None:
        self.set_raw(block, join_records(records))


def take_apart(path: Path) -> BackupParts:
    data = path.read_bytes()
    assert data[: len(MAGIC)] == MAGIC
    (header_len,) = U32.unpack_from(data, len(MAGIC))
    start = len(MAGIC) + U32.size
    header_text = data[start : start + header_len]
    trailer_len, _crc, end_magic = FOOTER.unpack_from(data, len(data) - FOOTER.size)
    trailer_start = len(data) - FOOTER.size - trailer_len
    trailer = orjson.loads(data[trailer_start : len(data) - FOOTER.size])
    blocks = []
    offset = start + header_len
    while offset < trailer_start:
        kind, stored_len, raw_len, _crc = BLOCK.unpack_from(data, offset)
        stored = data[offset + BLOCK.size : offset + BLOCK.size + stored_len]
        blocks.append(Block(kind, raw_len, stored, offset))
        offset += BLOCK.size + stored_len
    header = orjson.loads(header_text)
    return BackupParts(
        header_text,
        blocks,
        trailer,
        end_magic,
        header["compression"],
        bool(header["encrypted"]),
        trailer_start,
    )


def put_together(
    parts: BackupParts,
    path: Path,
    *,
    header_digest: Literal["re-sign", "keep"] = "re-sign",
) -> None:
    """Write `parts` to `path`; every checksum is re-signed, the header's digest as asked.

    header_digest="keep" leaves the trailer's SHA-256 of the header as it was
    (when the trailer has one), re-signing all the rest.
    """
    head = MAGIC + U32.pack(len(parts.header_text)) + parts.header_text
    moved: dict[int, int] = {}
    offset = len(head)
    for block in parts.blocks:
        moved[block.offset] = offset
        offset += BLOCK.size + len(block.stored)
    moved[parts.blocks_end] = offset
    data_moved = any(moved[b.offset] != b.offset for b in parts.data_blocks())
    if data_moved and not parts.sealed:
        _move_index_entries(parts, moved)
    body = bytearray(head)
    for block in parts.blocks:
        stored_len = len(block.stored) if block.stored_len_claim is None else block.stored_len_claim
        body += BLOCK.pack(block.kind, stored_len, block.raw_len, zlib.crc32(block.stored))
        body += block.stored
    trailer = dict(parts.trailer)
    trailer["index_offset"] = moved.get(trailer["index_offset"], trailer["index_offset"])
    if trailer.get("catalog"):  # version 2: the catalog and its directory move too
        catalog = dict(trailer["catalog"])
        catalog["offset"] = moved.get(catalog["offset"], catalog["offset"])
        catalog["blocks"] = [[k, moved.get(o, o), n] for k, o, n in catalog["blocks"]]
        trailer["catalog"] = catalog
    trailer["sha256"] = hashlib.sha256(body).hexdigest()
    if header_digest == "re-sign" and "header_sha256" in trailer:
        trailer["header_sha256"] = hashlib.sha256(head).hexdigest()
    text = orjson.dumps(trailer)
    path.write_bytes(bytes(body) + text + FOOTER.pack(len(text), zlib.crc32(text), parts.end_magic))


def _move_index_entries(parts: BackupParts, moved: dict[int, int]) -> None:
    # The index names blocks by offset; a header of another length moves every block.
    for block in parts.index_blocks():
        entries = []
        for kind, meta, data in parts.records(block):
            offset, ids = orjson.loads(meta)
            entries.append((kind, orjson.dumps([moved.get(offset, offset), ids]), data))
        parts.set_records(block, entries)


def split_records(raw: bytes) -> list[RawRecord]:
    records = []
    pos = 0
    while pos < len(raw):
        kind, meta_len, data_len = RECORD.unpack_from(raw, pos)
        pos += RECORD.size
        meta = raw[pos : pos + meta_len]
        data = raw[pos + meta_len : pos + meta_len + data_len]
        pos += meta_len + data_len
        records.append((kind, meta, data))
    return records


def join_records(records: list[RawRecord]) -> bytes:
    return b"".join(RECORD.pack(k, len(m), len(d)) + m + d for k, m, d in records)


def encode(raw: bytes, compression: str) -> bytes:
    if compression == "zstd":
        return zstandard.ZstdCompressor().compress(raw)
    if compression == "gzip":
        out = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        return out.compress(raw) + out.flush()
    return raw


def decode(stored: bytes, compression: str, raw_len: int) -> bytes:
    if compression == "zstd":
        return zstandard.ZstdDecompressor().decompress(stored, max_output_size=raw_len)
    if compression == "gzip":
        return zlib.decompress(stored, 16 + zlib.MAX_WBITS)
    return stored


def rewrite_trailer(path: Path, **fields: object) -> None:
    """Set fields of the trailer and re-sign its CRC (the SHA-256 stops before the trailer)."""
    data = path.read_bytes()
    trailer_len, _crc, end_magic = FOOTER.unpack_from(data, len(data) - FOOTER.size)
    start = len(data) - FOOTER.size - trailer_len
    trailer = {**orjson.loads(data[start : len(data) - FOOTER.size]), **fields}
    text = orjson.dumps(trailer)
    path.write_bytes(data[:start] + text + FOOTER.pack(len(text), zlib.crc32(text), end_magic))


def rewrite_trailer_count(path: Path, name: str, delta: int) -> None:
    """Change one count in the trailer by `delta` and re-sign its CRC (see `rewrite_trailer`)."""
    counts = dict(take_apart(path).trailer["counts"])
    counts[name] = counts.get(name, 0) + delta
    rewrite_trailer(path, counts=counts)


# -- with rookdb's own writer and reader -----------------------------------------------------
@contextmanager
def hand_written(
    path: Path,
    *,
    database: str,
    database_id: str,
    kind: Literal["full", "incremental"],
    last_etag: int,
) -> Iterator[BackupWriter]:
    """A backup file at `path` holding the records added to the writer yielded, etags 1..last."""
    header = BackupHeader(
        database=database,
        database_id=database_id,
        kind=kind,
        type="backup",
        since_etag=0,
        last_etag=last_etag,
        created_at=CREATED_AT,
        node="A",
    )
    with path.open("wb") as out:
        writer = BackupWriter(out, header)
        yield writer
        writer.finish()


def read_everything(path: Path, key: str | None = None) -> None:
    """What restore and verify read: header, trailer, checksum, every record, the index."""
    with BackupReader(path, encryption_key=key) as reader:
        reader.verify_checksum()
        if reader.header.type == "snapshot":
            for _chunk in reader.file_chunks():
                pass
        else:
            for record in reader.records():
                if isinstance(record, AttachmentRecord):
                    for _chunk in record.chunks:
                        pass
        list(reader.index_entries())
