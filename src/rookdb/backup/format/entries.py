"""Catalog entries: one line per document, tombstone and attachment of a file (version 2).

An entry is a record ``G`` whose meta is the JSON array
``[kind, id, etag, block_offset, block_seq, size, hash, collection, name,
attachments]``:

- ``d`` a document: its collection, body size and BLAKE2b-128 of the body text,
  and in incrementals the names of its attachments (as the record holds them);
- ``t`` a document's tombstone (its collection when known);
- ``a`` an attachment of document ``id``: its name, size and content hash;
- ``x`` an attachment's tombstone.

``block_offset`` is the data block where the entry's record starts and
``block_seq`` its number in the file (an encrypted block's nonce), so a
reader fetches and opens one block (an attachment's content continues in the blocks
after it). Entries are sorted by ``(lower-cased id, etag)``: the order lets
the explorer merge the catalogs of a chain as streams (memory flat) and find
one id by bisecting the directory in the trailer.

The writer holds entries in a ``SortedSpool``: sorted runs of a bounded size
spilled to a temporary file, merged when the catalog is written, so a backup
of any size sorts its catalog in flat memory.
"""

from __future__ import annotations

import hashlib
import tempfile
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Literal, cast

import orjson

EntryKind = Literal["d", "t", "a", "x"]
# An entry as a writer collects it, before its block's offset and number are known:
# (kind, id, etag, size, hash, collection, attachment name, attachment names).
PendingEntry = tuple[str, str, int, int, str, str | None, str | None, list[str] | None]
ENTRY_KINDS = ("d", "t", "a", "x")
_ENTRY_FIELDS = 10
_FAST_KINDS = frozenset(("d", "t"))  # no attachment name, no names list: most entries
_RUN = 50_000  # entries sorted in memory (~10-20 MB) before a run is spilled
_KEY_END = 21  # the NUL after the key and the etag's 20 digits
_CHUNK = 64 * 1024


def body_hash(body: bytes) -> str:
    """The hash a catalog records for a document body (its stored text)."""
    return hashlib.blake2b(body, digest_size=16).hexdigest()


def sort_key(doc_id: str) -> str:
    """Ids are case-insensitive: the catalog sorts and finds them lower-cased, as storage does."""
    return doc_id.lower()


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """One change a file holds, as its catalog describes it."""

    kind: EntryKind
    id: str
    etag: int
    block_offset: int
    block_seq: int = 0
    size: int = 0
    hash: str = ""
    collection: str | None = None
    name: str | None = None  # the attachment's name (kinds "a" and "x")
    attachments: tuple[str, ...] | None = None  # kind "d" in incrementals

    @property
    def key(self) -> str:
        return sort_key(self.id)

    @property
    def deleted(self) -> bool:
        return self.kind == "t"

    @property
    def is_document(self) -> bool:
        """A document's version (a put or a delete), as opposed to an attachment's."""
        return self.kind in ("d", "t")

    def to_meta(self) -> bytes:
        names = list(self.attachments) if self.attachments is not None else None
        return orjson.dumps(
            [
                self.kind,
                self.id,
                self.etag,
                self.block_offset,
                self.block_seq,
                self.size,
                self.hash,
                self.collection,
                self.name,
                names,
            ]
        )

    @classmethod
    def from_meta(cls, meta: bytes) -> CatalogEntry:
        """The entry a record's meta holds; ValueError naming what is wrong."""
        try:
            data = orjson.loads(meta)
        except orjson.JSONDecodeError:
            raise ValueError("a catalog entry is not JSON") from None
        return cls.from_fields(data)

    @classmethod
    def from_fields(cls, data: object) -> CatalogEntry:
        """The entry a catalog entry's parsed JSON holds; ValueError naming what is wrong."""
        # The usual shape checked in one pass (a listing reads every entry of a chain);
        # the slow path below only to say what is wrong.
        if type(data) is list and len(data) == _ENTRY_FIELDS:
            kind, doc_id, etag, offset, seq, size, digest, collection, name, names = data
            if (
                kind in _FAST_KINDS
                and type(doc_id) is str
                and type(etag) is int
                and type(offset) is int
                and type(seq) is int
                and type(size) is int
                and etag >= 0
                and offset >= 0
                and seq >= 0
                and size >= 0
                and type(digest) is str
                and (collection is None or type(collection) is str)
                and name is None
                and names is None
            ):
                return cls(kind, doc_id, etag, offset, seq, size, digest, collection)
        if type(data) is not list or len(data) != _ENTRY_FIELDS:
            raise ValueError(f"a catalog entry is not an array of {_ENTRY_FIELDS} fields")
        kind, doc_id, etag, offset, seq, size, digest, collection, name, names = data
        if kind not in ENTRY_KINDS:
            raise ValueError(f"a catalog entry has an unknown kind {kind!r}")
        if not (
            type(doc_id) is str
            and all(type(n) is int and n >= 0 for n in (etag, offset, seq, size))
            and type(digest) is str
            and (collection is None or type(collection) is str)
            and (name is None or type(name) is str)
            and (names is None or (type(names) is list and all(type(n) is str for n in names)))
        ):
            raise ValueError(f"the catalog entry of {doc_id!r} has a field of the wrong type")
        if kind in ("a", "x") and name is None:
            raise ValueError(f"the catalog entry of an attachment of {doc_id!r} has no name")
        return cls(
            cast(EntryKind, kind),
            doc_id,
            etag,
            offset,
            seq,
            size,
            digest,
            collection,
            name,
            tuple(names) if names is not None else None,
        )


class SortedSpool:
    """Entry metas added in any order, read back sorted by (key, etag) in flat memory.

    Each entry is held as one bytes object: the key's UTF-8 bytes, a NUL (ids hold
    no control characters), the etag as 20 decimal digits (which sort as the numbers
    do), then the meta. Plain bytes compare in (key, etag) order, so sorting and
    merging need no key function, and one object per entry keeps a run small (~200
    bytes an entry). No part holds a line break (JSON escapes them, ids have none),
    so a spilled run is its entries one per line: written with one join and read
    back with one split per chunk, not a length prefix read per entry.
    """

    def __init__(self) -> None:
        self._run: list[bytes] = []
        self._spill: IO[bytes] | None = None
        self._runs: list[tuple[int, int]] = []  # (start, length in bytes) of each spilled run
        self.count = 0

    def add(self, key: str, etag: int, meta: bytes) -> None:
        self._run.append(key.encode() + b"\0" + b"%020d" % etag + meta)
        self.count += 1
        if len(self._run) >= _RUN:
            self._spill_run()

    def add_block(self, entries: Iterable[PendingEntry], block_offset: int, block_seq: int) -> None:
        """The entries of one written block, their metas laid out as `CatalogEntry.to_meta`
        lays them out (the hot path of a backup's catalog: one expression per entry)."""
        run = self._run
        before = len(run)
        dumps = orjson.dumps
        run += [
            doc_id.lower().encode()
            + b"\0%020d" % etag
            + dumps((kind, doc_id, etag, block_offset, block_seq, size, digest, coll, name, names))
            for kind, doc_id, etag, size, digest, coll, name, names in entries
        ]
        self.count += len(run) - before
        if len(run) >= _RUN:
            self._spill_run()

    def _spill_run(self) -> None:
        if self._spill is None:
            self._spill = tempfile.TemporaryFile()  # noqa: SIM115 - closed by close()
        self._run.sort()
        text = b"\n".join(self._run) + b"\n"
        if text.count(b"\n") != len(self._run):
            raise ValueError("a catalog entry holds a line break")
        start = self._spill.seek(0, 2)
        self._spill.write(text)
        self._runs.append((start, len(text)))
        self._run = []

    def sorted(self) -> Iterator[bytes]:
        """Every meta added, by (key, etag); call once, after the last `add`."""
        for metas in self.sorted_batches():
            yield from metas

    def sorted_batches(self) -> Iterator[list[bytes]]:
        """The metas of `sorted`, in the same order, a list of them at a time."""
        if self._spill is None:
            self._run.sort()
            batches: Iterator[list[bytes]] = iter((self._run,))
        else:
            if self._run:
                self._spill_run()
            batches = _merged([self._read_run(start, n) for start, n in self._runs])
        skip = _KEY_END
        for batch in batches:
            yield [entry[entry.index(b"\0") + skip :] for entry in batch]

    def _read_run(self, start: int, length: int) -> Iterator[list[bytes]]:
        # The runs share one file and are read in turns: each keeps its own position
        # and reads a chunk at a time, split into its whole lines.
        spill = self._spill
        assert spill is not None
        position, end, rest = start, start + length, b""
        while position < end:
            spill.seek(position)
            chunk = spill.read(min(_CHUNK, end - position))
            if not chunk:
                raise ValueError("the catalog's spill file is cut short")
            position += len(chunk)
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            yield lines
        if rest:
            raise ValueError("the catalog's spill file is cut short")

    def close(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        self._run = []


def _merged(runs: list[Iterator[list[bytes]]]) -> Iterator[list[bytes]]:
    """Sorted runs, each read as a stream of sorted chunks, merged into sorted lists.

    Each turn takes from every run what is not above the smallest of the runs'
    last buffered entries (nothing still unread can come before it) and sorts
    that with `list.sort`, whose merge of the sorted pieces runs in C: no
    Python-level step per entry, as a heap merge has. At least one run's buffer
    empties each turn, so memory stays at about a chunk per run.
    """
    buffers: list[tuple[Iterator[list[bytes]], list[bytes]]] = [(run, []) for run in runs]
    while True:
        live = []
        for run, buffer in buffers:
            while not buffer:
                chunk = next(run, None)
                if chunk is None:
                    break
                buffer = chunk
            if buffer:
                live.append((run, buffer))
        if not live:
            return
        if len(live) == 1:
            run, buffer = live[0]
            yield buffer
            for chunk in run:
                yield chunk
            return
        bound = min(buffer[-1] for _run, buffer in live)
        batch: list[bytes] = []
        buffers = []
        for run, buffer in live:
            cut = bisect_right(buffer, bound)
            batch += buffer[:cut]
            buffers.append((run, buffer[cut:]))
        batch.sort()
        yield batch
