"""Writing a backup file: records into ~1 MB blocks, sealed off-thread, then index and trailer.

The writer streams: records are appended to one block buffer, full blocks are
compressed (and sealed) by two worker threads while the caller keeps reading
SQLite, and at most a few blocks are in flight, so memory stays flat whatever
the database size. Block ids for the index are spooled to a temporary file
and written after the data blocks, because only then are all offsets known;
the trailer comes last for the same reason. The catalog (see entries) is
spooled the same way, sorted in bounded runs, and written after the index;
its directory goes into the trailer. The caller writes into an
``*.in-progress`` file (naming.atomic_file), so an interrupted write never
leaves anything that looks complete.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
import zlib
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import accumulate, repeat
from typing import IO, Any

import orjson

from rookdb.backup.format.codecs import BlockCodec, check_compression, new_file_cipher
from rookdb.backup.format.entries import PendingEntry, SortedSpool, sort_key
from rookdb.backup.format.heap import keep_freed_blocks
from rookdb.backup.format.layout import (
    ATTACHMENT,
    BLOCK,
    BLOCK_SIZE,
    CATALOG_BLOCK,
    CATALOG_BLOCK_SIZE,
    CHUNK,
    CHUNK_SIZE,
    DATA_BLOCK,
    DOCUMENT,
    END_MAGIC,
    FILE_CHUNK,
    FOOTER,
    IDENTITY,
    INDEX,
    INDEX_BLOCK,
    INDEX_ENTRY,
    MAGIC,
    RECORD,
    TOMBSTONE,
    U32,
    BackupHeader,
    BackupTrailer,
    CatalogDirectory,
)
from rookdb.errors import BackupCorrupted
from rookdb.storage.changes import DocumentRow


@dataclass
class FileSummary:
    """What a writer produced: header, trailer, size and whole-file SHA-256."""

    header: BackupHeader
    trailer: BackupTrailer
    size_bytes: int
    sha256: str
    extra: dict[str, Any] = field(default_factory=dict)


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
        keep_freed_blocks()
        cipher = None
        if encryption_key:
            cipher, info = new_file_cipher(encryption_key)
            header = dataclasses.replace(header, encrypted=True, encryption=info)
        self.header = header
        self._codec = BlockCodec(header.compression, cipher)
        self._out = out
        self._hash = hashlib.sha256()
        self._offset = 0
        self._buffer = bytearray()
        self._ids: list[str] = []
        # Catalog entries of the block being filled, without their block offset yet.
        self._entries: list[PendingEntry] = []
        self._catalog = SortedSpool()
        self._catalog_blocks: list[tuple[str, int, int]] = []
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
        self._pending: deque[
            tuple[Future[tuple[bytes, int]], bytes, int, int, list[str], list[PendingEntry]]
        ] = deque()
        text = orjson.dumps(header.to_json())
        head = MAGIC + U32.pack(len(text)) + text
        self._header_sha256 = hashlib.sha256(head).hexdigest()
        self._header_text = text.decode()
        self._write(head)

    # records
    def add_document(
        self,
        etag: int,
        doc_id: str,
        collection: str,
        last_modified: str,
        change_vector: str,
        body_json: str | bytes,
        attachments: list[str] | None = None,
    ) -> None:
        body = body_json.encode() if isinstance(body_json, str) else body_json
        self.add_documents(
            ((etag, doc_id, collection, last_modified, change_vector, body),), (attachments,)
        )

    def add_documents(
        self,
        rows: Iterable[DocumentRow],
        attachments: Iterable[list[str] | None] | None = None,
    ) -> None:
        """Documents as the change feed's rows; `attachments`, when given, the names of each
        one's attachments (incrementals), in the same order."""
        # The hot path of a backup: one turn of this loop per document, everything
        # it needs in locals; the block is flushed whenever it is full.
        buf = self._buffer
        ids = self._ids
        entries = self._entries
        index_ids = self._index_ids
        dumps = orjson.dumps
        pack = RECORD.pack
        digest = hashlib.blake2b
        count = 0
        # Not strict: without names, repeat(None) goes on for ever.
        names_of = repeat(None) if attachments is None else attachments
        for (etag, doc_id, collection, modified, vector, body), names in zip(
            rows, names_of, strict=False
        ):
            meta = dumps((etag, doc_id, collection, modified, vector, names))
            size = len(body)
            buf += pack(DOCUMENT, len(meta), size)
            buf += meta
            buf += body
            count += 1
            if index_ids:
                ids.append(doc_id)
                # BLAKE2b-128 of the body, as entries.body_hash computes it.
                hexed = digest(body, digest_size=16).hexdigest()
                entries.append(("d", doc_id, etag, size, hexed, collection, None, names))
            if len(buf) >= BLOCK_SIZE:
                self._flush_block()
                ids = self._ids
                entries = self._entries
        self._documents += count

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
        if self._index_ids and of in ("document", "attachment"):
            if of == "document":
                self._ids.append(doc_id)
                entry: PendingEntry = ("t", doc_id, etag, 0, "", collection, None, None)
            else:
                entry = ("x", doc_id, etag, 0, "", None, name, None)
            self._entries.append(entry)
        self._record(TOMBSTONE, meta, b"")
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
        if self._index_ids:
            self._entries.append(("a", document_id, etag, size, content_hash, None, name, None))
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
        buf += RECORD.pack(kind, len(meta), len(data))
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
        self._pending.append((future, kind, seq, len(raw), self._ids, self._entries))
        self._ids = []
        self._entries = []
        while len(self._pending) > 3:
            self._drain_one()

    def _seal(self, seq: int, kind: bytes, raw: bytes) -> tuple[bytes, int]:
        # On a worker: the CRC of a ~1 MB block releases the GIL there, off the
        # thread that reads the database.
        stored = self._codec.seal(seq, kind, raw)
        return stored, zlib.crc32(stored)

    def _drain_one(self) -> None:
        future, kind, seq, raw_len, ids, entries = self._pending.popleft()
        stored, crc = future.result()
        offset = self._offset
        self._write(BLOCK.pack(kind, len(stored), raw_len, crc) + stored)
        self._blocks += 1
        if kind == CATALOG_BLOCK:
            self._catalog_blocks.append((ids[0], offset, seq))
            return
        if ids:
            entry = orjson.dumps([offset, ids])
            self._index_spool.write(RECORD.pack(INDEX_ENTRY, len(entry), 0) + entry)
        self._catalog.add_block(entries, offset, seq)

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
            # Index blocks end between entries, so each can be read on its own
            # (files written before could split an entry across two blocks).
            self._index_spool.seek(0)
            while frame := self._index_spool.read(RECORD.size):
                _kind, meta_len, _data_len = RECORD.unpack(frame)
                self._buffer += frame
                self._buffer += self._index_spool.read(meta_len)
                if len(self._buffer) >= BLOCK_SIZE:
                    self._flush_block(INDEX_BLOCK)
            self._flush_block(INDEX_BLOCK)
            self._drain()
            catalog = self._write_catalog() if self._index_ids else None
        finally:
            self.close()
        trailer = BackupTrailer(
            dict(self.counts),
            self._blocks,
            index_offset,
            self._hash.hexdigest(),
            self._header_sha256,
            catalog,
            self._header_text if catalog is not None else None,
        )
        body = orjson.dumps(trailer.to_json())
        tail = body + FOOTER.pack(len(body), zlib.crc32(body), END_MAGIC)
        self._out.write(tail)
        self._hash.update(tail)
        return trailer, self._hash.hexdigest()

    def _write_catalog(self) -> CatalogDirectory:
        start = self._offset
        left: list[bytes] = []
        for metas in self._catalog.sorted_batches():
            left = self._full_catalog_blocks(left + metas if left else metas)
        if left:
            self._catalog_block(left)
        self._drain()
        return CatalogDirectory(
            start,
            self._catalog.count,
            tuple(key for key, _, _ in self._catalog_blocks),
            tuple(offset for _, offset, _ in self._catalog_blocks),
            tuple(seq for _, _, seq in self._catalog_blocks),
        )

    def _full_catalog_blocks(self, metas: list[bytes]) -> list[bytes]:
        """Write the catalog blocks `metas` fills; return the metas left for the next.

        A block ends with the entry that takes it to CATALOG_BLOCK_SIZE. Its length
        after n entries is the metas' lengths plus n ("[" and the commas), so the
        cuts are found by bisecting running sums, with no Python step per entry.
        """
        ends = list(accumulate(map((1).__add__, map(len, metas)), initial=0))
        first = 0
        while (cut := bisect_left(ends, ends[first] + CATALOG_BLOCK_SIZE, first + 1)) < len(ends):
            self._catalog_block(metas[first:cut])
            first = cut
        return metas[first:]

    def _catalog_block(self, metas: list[bytes]) -> None:
        # A catalog block is one JSON array of entries: a reader parses it in one call.
        # The directory keeps each block's first id: its first meta's second field.
        self._ids = [sort_key(orjson.loads(metas[0])[1])]
        self._buffer += b"["
        self._buffer += b",".join(metas)
        self._buffer += b"]"
        self._flush_block(CATALOG_BLOCK)

    def close(self) -> None:
        """Release the worker threads and spool (also after a failure)."""
        for future, *_rest in self._pending:
            future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True)
        self._index_spool.close()
        self._catalog.close()
