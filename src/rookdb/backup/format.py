"""The rookdb backup file format: header, compressed blocks of records, index, trailer.

Layout (all integers little-endian)::

    "ROOKBAK1"  u32 header_len  header JSON            plain: `backup ls` needs no key
    block*      kind(1) u32 stored_len u32 raw_len u32 crc32(stored)  stored
    trailer JSON  u32 trailer_len  u32 crc32(trailer)  "ROOKEND1"

A block's stored bytes are its raw bytes compressed on their own (one zstd
frame, one gzip member, or as is) and then, when encrypted, sealed with
AES-256-GCM. Data blocks (kind "B") hold records; index blocks (kind "I")
come after them and map document ids to the offset of the block holding them,
so a later reader can fetch one document by seeking. The trailer holds record
counts, where the index starts and the SHA-256 of every byte before it.

A record is ``kind(1) u32 meta_len u32 data_len meta data``; ``meta`` is a
JSON array and ``data`` raw bytes (a document body's JSON text, an
attachment chunk, a chunk of a snapshot's database file).
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import tempfile
import threading
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import orjson
import zstandard

from rookdb.backup import crypto
from rookdb.errors import BackupCorrupted, EncryptionKeyError, InvalidInput
from rookdb.storage.changes import IdentityChange, IndexChange, TombstoneChange

FORMAT_VERSION = 1
MAGIC = b"ROOKBAK1"
END_MAGIC = b"ROOKEND1"
COMPRESSIONS = ("zstd", "gzip", "none")
BLOCK_SIZE = 1 << 20
CHUNK_SIZE = 1 << 20
MAX_STORED_BLOCK = 64 << 20
# Blocks hold ~1 MB of records plus one record that may be larger (a big document):
# a claim beyond this is a hostile or broken file, refused before any memory is set aside.
MAX_RAW_BLOCK = 256 << 20
ZSTD_LEVEL = 3

_U32 = struct.Struct("<I")
_BLOCK = struct.Struct("<cIII")
_RECORD = struct.Struct("<cII")
_FOOTER = struct.Struct("<II8s")

DATA_BLOCK = b"B"
INDEX_BLOCK = b"I"

# Record kinds.
DOCUMENT = b"D"
TOMBSTONE = b"T"
ATTACHMENT = b"A"
CHUNK = b"C"
IDENTITY = b"Y"
INDEX = b"X"
FILE_CHUNK = b"F"
INDEX_ENTRY = b"K"

BackupKind = Literal["full", "incremental"]
BackupType = Literal["backup", "snapshot"]


@dataclass(frozen=True)
class BackupHeader:
    """What a backup file covers; written in clear at its start."""

    database: str
    database_id: str
    kind: BackupKind
    type: BackupType
    since_etag: int
    last_etag: int
    created_at: str
    node: str
    compression: str = "zstd"
    encrypted: bool = False
    encryption: dict[str, str] | None = None
    format_version: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "database": self.database,
            "database_id": self.database_id,
            "kind": self.kind,
            "type": self.type,
            "since_etag": self.since_etag,
            "last_etag": self.last_etag,
            "created_at": self.created_at,
            "node": self.node,
            "compression": self.compression,
            "encrypted": self.encrypted,
            "encryption": self.encryption,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BackupHeader:
        return cls(
            database=str(data["database"]),
            database_id=str(data["database_id"]),
            kind=data["kind"],
            type=data["type"],
            since_etag=int(data["since_etag"]),
            last_etag=int(data["last_etag"]),
            created_at=str(data["created_at"]),
            node=str(data["node"]),
            compression=str(data["compression"]),
            encrypted=bool(data["encrypted"]),
            encryption=data.get("encryption"),
            format_version=int(data["format_version"]),
        )


@dataclass(frozen=True)
class BackupTrailer:
    """Counts and checksum, written at the end of a complete file."""

    counts: dict[str, int]
    blocks: int
    index_offset: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "blocks": self.blocks,
            "index_offset": self.index_offset,
            "sha256": self.sha256,
        }


# -- records a reader hands out --------------------------------------------------
@dataclass(frozen=True, slots=True)
class DocumentRecord:
    etag: int
    id: str
    collection: str
    last_modified: str
    change_vector: str
    body: str
    # Names of the document's attachments when the record was written
    # (incrementals only): lets a restore drop attachments that went away
    # when a document was deleted and re-created within the range.
    attachments: list[str] | None
    kind: str = "document"


@dataclass(slots=True)
class AttachmentRecord:
    etag: int
    document_id: str
    name: str
    content_type: str
    size: int
    hash: str
    chunks: Iterator[bytes]
    kind: str = "attachment"


# Deletes, identities and index definitions read back exactly as the change feed
# gave them to the writer.
TombstoneRecord = TombstoneChange
IdentityRecord = IdentityChange
IndexRecord = IndexChange

Record = DocumentRecord | TombstoneRecord | AttachmentRecord | IdentityRecord | IndexRecord


# -- codecs ----------------------------------------------------------------------
def check_compression(name: str) -> str:
    if name not in COMPRESSIONS:
        raise InvalidInput(
            f"unknown compression {name!r}; use one of {', '.join(COMPRESSIONS)}",
            field="compression",
        )
    return name


def _compressor(name: str) -> Callable[[bytes], bytes]:
    if name == "zstd":
        # One compressor per worker thread: zstandard contexts are not thread-safe.
        local = threading.local()

        def compress(data: bytes) -> bytes:
            cctx = getattr(local, "cctx", None)
            if cctx is None:
                cctx = local.cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
            return bytes(cctx.compress(data))

        return compress
    if name == "gzip":
        return lambda data: gzip.compress(data, compresslevel=6, mtime=0)
    return bytes


def _decompressor(name: str) -> Callable[[bytes, int], bytes]:
    if name == "zstd":
        dctx = zstandard.ZstdDecompressor()
        return lambda data, size: dctx.decompress(data, max_output_size=size)
    if name == "gzip":
        return _gunzip
    if name == "none":
        return lambda data, _size: data
    raise ValueError(name)


def _gunzip(data: bytes, size: int) -> bytes:
    # Bounded: a small block that inflates far beyond what it claims stops at size + 1.
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    return inflater.decompress(data, size + 1)


# -- writing ---------------------------------------------------------------------
class BackupWriter:
    """Streams records into a backup file: blocks are compressed (and sealed) off-thread."""

    def __init__(
        self,
        out: IO[bytes],
        header: BackupHeader,
        *,
        encryption_key: str | None = None,
        index_ids: bool = True,
    ) -> None:
        check_compression(header.compression)
        self._cipher: crypto.BlockCipher | None = None
        if encryption_key:
            kind = crypto.key_kind(encryption_key)
            salt = crypto.new_salt()
            file_key = crypto.derive_file_key(encryption_key, salt, kind)
            self._cipher = crypto.BlockCipher(file_key)
            header = _replace_encryption(header, kind, salt, crypto.key_check(file_key))
        self.header = header
        self._out = out
        self._hash = hashlib.sha256()
        self._offset = 0
        self._compress = _compressor(header.compression)
        self._buffer = bytearray()
        self._ids: list[str] = []
        self._index_ids = index_ids
        self._index_spool: IO[bytes] = tempfile.SpooledTemporaryFile(  # noqa: SIM115
            max_size=8 << 20
        )
        self._seq = 0
        self._blocks = 0
        self._documents = 0
        self.counts: dict[str, int] = {}
        # Compression runs in worker threads (zstd and AES release the GIL) while
        # this thread keeps reading SQLite; a bounded queue keeps memory flat.
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="rookdb-block")
        self._pending: deque[tuple[Future[bytes], bytes, int, int, list[str]]] = deque()
        head = orjson.dumps(header.to_json())
        self._write(MAGIC + _U32.pack(len(head)) + head)

    # records
    def add_document(
        self,
        etag: int,
        doc_id: str,
        collection: str,
        last_modified: str,
        change_vector: str,
        body_json: str,
        attachments: list[str] | None = None,
    ) -> None:
        # The hot path of a backup: one record per document, built inline.
        meta = orjson.dumps([etag, doc_id, collection, last_modified, change_vector, attachments])
        body = body_json.encode()
        buf = self._buffer
        buf += _RECORD.pack(DOCUMENT, len(meta), len(body))
        buf += meta
        buf += body
        if self._index_ids:
            self._ids.append(doc_id)
        self._documents += 1
        if len(buf) >= BLOCK_SIZE:
            self._flush_block()

    def add_tombstone(
        self,
        etag: int,
        of: str,
        doc_id: str,
        name: str | None,
        collection: str | None,
        deleted_at: str,
    ) -> None:
        meta = orjson.dumps([etag, of, doc_id, name, collection, deleted_at])
        self._record(TOMBSTONE, meta, b"")
        if self._index_ids and of == "document":
            self._ids.append(doc_id)
        self._count("tombstones" if of == "document" else f"{of}_tombstones")

    def add_attachment(
        self,
        etag: int,
        document_id: str,
        name: str,
        content_type: str,
        size: int,
        content_hash: str,
        chunks: Iterable[bytes],
    ) -> None:
        meta = orjson.dumps([etag, document_id, name, content_type, size, content_hash])
        self._record(ATTACHMENT, meta, b"")
        written = 0
        for chunk in chunks:
            for start in range(0, len(chunk), CHUNK_SIZE):
                part = chunk[start : start + CHUNK_SIZE]
                written += len(part)
                self._record(CHUNK, b"", bytes(part))
        if written != size:
            raise BackupCorrupted(
                f"attachment {name!r} of {document_id!r} has {written} bytes, expected {size}"
            )
        self._count("attachments")

    def add_identity(self, etag: int, name: str, value: int) -> None:
        self._record(IDENTITY, orjson.dumps([etag, name, value]), b"")
        self._count("identities")

    def add_index(self, etag: int, name: str, collection: str, fields: Iterable[str]) -> None:
        self._record(INDEX, orjson.dumps([etag, name, collection, list(fields)]), b"")
        self._count("indexes")

    def add_file_chunk(self, data: bytes) -> None:
        self._record(FILE_CHUNK, b"", data)
        self.counts["file_bytes"] = self.counts.get("file_bytes", 0) + len(data)

    def set_count(self, name: str, value: int) -> None:
        self.counts[name] = value

    def _count(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def _record(self, kind: bytes, meta: bytes, data: bytes) -> None:
        buf = self._buffer
        buf += _RECORD.pack(kind, len(meta), len(data))
        buf += meta
        buf += data
        if len(buf) >= BLOCK_SIZE:
            self._flush_block()

    # blocks
    def _flush_block(self, kind: bytes = DATA_BLOCK) -> None:
        if not self._buffer:
            return
        raw = bytes(self._buffer)
        self._buffer.clear()
        seq = self._seq
        self._seq += 1
        future = self._pool.submit(self._seal, seq, kind, raw)
        self._pending.append((future, kind, len(raw), seq, self._ids))
        self._ids = []
        while len(self._pending) > 3:
            self._drain_one()

    def _seal(self, seq: int, kind: bytes, raw: bytes) -> bytes:
        stored = self._compress(raw)
        if self._cipher is not None:
            stored = self._cipher.seal(seq, kind, stored)
        return stored

    def _drain_one(self) -> None:
        future, kind, raw_len, _seq, ids = self._pending.popleft()
        stored = future.result()
        offset = self._offset
        self._write(_BLOCK.pack(kind, len(stored), raw_len, zlib.crc32(stored)) + stored)
        self._blocks += 1
        if ids:
            entry = orjson.dumps([offset, ids])
            self._index_spool.write(_RECORD.pack(INDEX_ENTRY, len(entry), 0) + entry)

    def _drain(self) -> None:
        while self._pending:
            self._drain_one()

    def _write(self, data: bytes) -> None:
        self._out.write(data)
        self._hash.update(data)
        self._offset += len(data)

    def finish(self) -> tuple[BackupTrailer, str]:
        """Write the index and trailer; return the trailer and the whole file's SHA-256."""
        try:
            if self._documents:
                self.counts["documents"] = self.counts.get("documents", 0) + self._documents
            self._flush_block()
            self._drain()
            index_offset = self._offset
            self._index_spool.seek(0)
            while True:
                piece = self._index_spool.read(BLOCK_SIZE)
                if not piece:
                    break
                self._buffer += piece
                self._flush_block(INDEX_BLOCK)
            self._drain()
        finally:
            self.close()
        content_sha = self._hash.hexdigest()
        trailer = BackupTrailer(dict(self.counts), self._blocks, index_offset, content_sha)
        body = orjson.dumps(trailer.to_json())
        tail = body + _FOOTER.pack(len(body), zlib.crc32(body), END_MAGIC)
        self._out.write(tail)
        self._hash.update(tail)
        return trailer, self._hash.hexdigest()

    def close(self) -> None:
        """Release the worker threads and spool (also after a failure)."""
        for future, *_rest in self._pending:
            future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True)
        self._index_spool.close()


def _replace_encryption(header: BackupHeader, kind: str, salt: bytes, check: str) -> BackupHeader:
    data = header.to_json()
    data["encrypted"] = True
    data["encryption"] = {
        "cipher": "AES-256-GCM",
        "kdf": "hkdf-sha256" if kind == "raw" else "scrypt",
        "key": kind,
        "salt": salt.hex(),
        "check": check,
    }
    return BackupHeader.from_json(data)


# -- reading ---------------------------------------------------------------------
class BackupReader:
    """Reads one backup file: header and trailer at once, records streamed and verified."""

    def __init__(self, path: Path, *, encryption_key: str | None = None) -> None:
        self.path = Path(path)
        self.name = self.path.name
        try:
            self._file = open(self.path, "rb")  # noqa: SIM115 - closed by close()
        except FileNotFoundError as exc:
            raise BackupCorrupted(f"backup file {self.name} does not exist") from exc
        except OSError as exc:
            raise BackupCorrupted(f"cannot read backup file {self.name}: {exc}") from exc
        try:
            self.size = self.path.stat().st_size
            self.header, self._data_start = self._read_header()
            self.trailer, self.trailer_start = self._read_trailer()
            self._cipher = self._make_cipher(encryption_key)
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
        return BackupCorrupted(f"backup file {self.name} is corrupted: {what}")

    def _read_header(self) -> tuple[BackupHeader, int]:
        start = self._file.read(len(MAGIC) + _U32.size)
        if len(start) < len(MAGIC) + _U32.size or start[: len(MAGIC)] != MAGIC:
            raise BackupCorrupted(f"{self.name} is not a rookdb backup file (bad magic)")
        (length,) = _U32.unpack_from(start, len(MAGIC))
        if length > 1 << 20:
            raise self._corrupt("header length is implausible")
        raw = self._file.read(length)
        try:
            data = orjson.loads(raw)
            version = int(data["format_version"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise self._corrupt("unreadable header") from exc
        if version != FORMAT_VERSION:
            raise BackupCorrupted(
                f"backup file {self.name} has format version {version}; "
                f"this rookdb reads version {FORMAT_VERSION}"
            )
        try:
            header = BackupHeader.from_json(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise self._corrupt("incomplete header") from exc
        if header.compression not in COMPRESSIONS:
            raise self._corrupt(f"unknown compression {header.compression!r}")
        return header, len(MAGIC) + _U32.size + length

    def _read_trailer(self) -> tuple[BackupTrailer, int]:
        if self.size < self._data_start + _FOOTER.size:
            raise self._corrupt("file is truncated (no trailer)")
        self._file.seek(self.size - _FOOTER.size)
        length, crc, magic = _FOOTER.unpack(self._file.read(_FOOTER.size))
        if magic != END_MAGIC:
            raise self._corrupt("file is truncated or incomplete (no end marker)")
        start = self.size - _FOOTER.size - length
        if length > 1 << 20 or start < self._data_start:
            raise self._corrupt("trailer length is implausible")
        self._file.seek(start)
        body = self._file.read(length)
        if zlib.crc32(body) != crc:
            raise self._corrupt("trailer checksum mismatch")
        try:
            data = orjson.loads(body)
            trailer = BackupTrailer(
                {str(k): int(v) for k, v in data["counts"].items()},
                int(data["blocks"]),
                int(data["index_offset"]),
                str(data["sha256"]),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._corrupt("unreadable trailer") from exc
        return trailer, start

    def _make_cipher(self, user_key: str | None) -> crypto.BlockCipher | None:
        if not self.header.encrypted:
            return None
        info = self.header.encryption or {}
        if not user_key:
            raise EncryptionKeyError(
                f"backup file {self.name} is encrypted; give its key (--encryption-key)"
            )
        try:
            salt = bytes.fromhex(info["salt"])
            file_key = crypto.derive_file_key(user_key, salt, info["key"])
        except (KeyError, ValueError) as exc:
            raise self._corrupt("bad encryption parameters in header") from exc
        except EncryptionKeyError as exc:
            raise EncryptionKeyError(f"wrong encryption key for {self.name}: {exc}") from exc
        if crypto.key_check(file_key) != info.get("check"):
            raise EncryptionKeyError(f"wrong encryption key for backup file {self.name}")
        return crypto.BlockCipher(file_key)

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

    # -- blocks and records ------------------------------------------------------
    def blocks(self, *, include_index: bool = False) -> Iterator[tuple[bytes, int, bytes]]:
        """(kind, offset, raw bytes) of each block, checking CRCs and the SHA-256 on the way."""
        digest = hashlib.sha256()
        self._file.seek(0)
        digest.update(self._file.read(self._data_start))
        decompress = _decompressor(self.header.compression)
        offset = self._data_start
        seq = 0
        while offset < self.trailer_start:
            frame = self._file.read(_BLOCK.size)
            if len(frame) < _BLOCK.size:
                raise self._corrupt("file is truncated inside a block")
            kind, stored_len, raw_len, crc = _BLOCK.unpack(frame)
            if kind not in (DATA_BLOCK, INDEX_BLOCK) or stored_len > MAX_STORED_BLOCK:
                raise self._corrupt(f"bad block header at offset {offset}")
            if raw_len > MAX_RAW_BLOCK:
                raise self._corrupt(
                    f"block at offset {offset} claims {raw_len} bytes once decompressed "
                    f"(at most {MAX_RAW_BLOCK} are plausible)"
                )
            if offset + _BLOCK.size + stored_len > self.trailer_start:
                raise self._corrupt(f"block at offset {offset} runs past the trailer")
            stored = self._file.read(stored_len)
            digest.update(frame)
            digest.update(stored)
            if zlib.crc32(stored) != crc:
                raise self._corrupt(f"block at offset {offset} fails its CRC")
            block_offset = offset
            offset += _BLOCK.size + stored_len
            if kind == INDEX_BLOCK and not include_index:
                seq += 1
                continue
            raw = self._open_block(seq, kind, stored, raw_len, block_offset, decompress)
            seq += 1
            yield kind, block_offset, raw
        if digest.hexdigest() != self.trailer.sha256:
            raise self._corrupt("SHA-256 mismatch (the file was changed or damaged)")

    def _open_block(
        self,
        seq: int,
        kind: bytes,
        stored: bytes,
        raw_len: int,
        offset: int,
        decompress: Callable[[bytes, int], bytes],
    ) -> bytes:
        try:
            if self._cipher is not None:
                stored = self._cipher.open(seq, kind, stored)
            raw = decompress(stored, raw_len)
        except crypto.InvalidTag as exc:
            raise self._corrupt(f"block at offset {offset} fails authentication") from exc
        except (zstandard.ZstdError, zlib.error, OSError, EOFError) as exc:
            raise self._corrupt(f"block at offset {offset} does not decompress: {exc}") from exc
        if len(raw) != raw_len:
            raise self._corrupt(f"block at offset {offset} has the wrong size")
        return raw

    def raw_records(self) -> Iterator[tuple[bytes, bytes, bytes]]:
        """(kind, meta, data) of every record in order."""
        unpack = _RECORD.unpack_from
        size = _RECORD.size
        for _kind, offset, raw in self.blocks():
            view = memoryview(raw)
            pos = 0
            end = len(raw)
            while pos < end:
                if pos + size > end:
                    raise self._corrupt(f"record cut short in block at offset {offset}")
                kind, meta_len, data_len = unpack(raw, pos)
                pos += size
                if pos + meta_len + data_len > end:
                    raise self._corrupt(f"record cut short in block at offset {offset}")
                meta = bytes(view[pos : pos + meta_len])
                pos += meta_len
                data = bytes(view[pos : pos + data_len])
                pos += data_len
                yield kind, meta, data

    def records(self) -> Iterator[Record]:
        """Every logical record in order; an attachment's chunks must be read before the next."""
        raw = self.raw_records()
        for kind, meta, data in raw:
            try:
                fields = orjson.loads(meta) if meta else None
            except orjson.JSONDecodeError as exc:
                raise self._corrupt("unreadable record") from exc
            if kind == DOCUMENT:
                assert fields is not None
                etag, doc_id, collection, modified, vector, names = fields
                yield DocumentRecord(
                    etag, doc_id, collection, modified, vector, data.decode(), names
                )
            elif kind == TOMBSTONE:
                assert fields is not None
                yield TombstoneRecord(*fields)
            elif kind == ATTACHMENT:
                assert fields is not None
                etag, doc_id, name, content_type, size, content_hash = fields
                chunks = self._chunks(raw, int(size))
                yield AttachmentRecord(
                    etag, doc_id, name, content_type, int(size), content_hash, chunks
                )
                for _ in chunks:  # skip whatever the consumer did not read
                    pass
            elif kind == IDENTITY:
                assert fields is not None
                yield IdentityRecord(fields[0], fields[1], int(fields[2]))
            elif kind == INDEX:
                assert fields is not None
                yield IndexRecord(fields[0], fields[1], fields[2], tuple(fields[3]))
            elif kind == FILE_CHUNK:
                continue
            else:
                raise self._corrupt(f"unknown record kind {kind!r}")

    def _chunks(self, raw: Iterator[tuple[bytes, bytes, bytes]], size: int) -> Iterator[bytes]:
        remaining = size
        while remaining > 0:
            try:
                kind, _meta, data = next(raw)
            except StopIteration:
                raise self._corrupt("attachment content is cut short") from None
            if kind != CHUNK or len(data) > remaining:
                raise self._corrupt("attachment content does not match its size")
            remaining -= len(data)
            yield data

    def file_chunks(self) -> Iterator[bytes]:
        """The raw database file carried by a snapshot, chunk by chunk."""
        for kind, _meta, data in self.raw_records():
            if kind != FILE_CHUNK:
                raise self._corrupt(f"unexpected record {kind!r} in a snapshot")
            yield data

    def index_entries(self) -> Iterator[tuple[int, list[str]]]:
        """(block offset, document ids) pairs from the index, for seeking readers."""
        for kind, _offset, raw in self.blocks(include_index=True):
            if kind != INDEX_BLOCK:
                continue
            pos = 0
            while pos < len(raw):
                _k, meta_len, _d = _RECORD.unpack_from(raw, pos)
                pos += _RECORD.size
                entry = orjson.loads(raw[pos : pos + meta_len])
                pos += meta_len
                yield int(entry[0]), list(entry[1])


@dataclass
class FileSummary:
    """What a writer produced: header, trailer, size and whole-file SHA-256."""

    header: BackupHeader
    trailer: BackupTrailer
    size_bytes: int
    sha256: str
    extra: dict[str, Any] = field(default_factory=dict)
