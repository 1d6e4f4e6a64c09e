"""The bytes of a backup file: magic, version, frames, type codes, limits, header and trailer.

Layout (all integers little-endian)::

    "ROOKBAK1"  u32 header_len  header JSON
    block*      kind(1) u32 stored_len u32 raw_len u32 crc32(stored)  stored
    trailer JSON  u32 trailer_len  u32 crc32(trailer)  "ROOKEND1"

Why it is shaped so:

* The header is JSON in clear at the start: listing a folder, planning a
  chain or `backup ls` reads a few hundred bytes and needs no key.
* The trailer is at the end because counts and checksums are known only when
  writing ends; a file without its end marker was never finished, so an
  interrupted write never looks complete.
* The trailer holds the SHA-256 of every byte before it (header and blocks)
  and the SHA-256 of the header bytes alone (``header_sha256``), which a
  reader checks when it opens the file: a listing never acts on an edited etag
  range without the whole-file pass that a verify or restore makes. Files
  written before ``header_sha256`` was added lack it and are still read: it is
  one more key in the trailer's JSON, the layout did not change, so the format
  version stays 1 (and older rookdb reads the newer files).
* Version 2 adds a *catalog* after the index: catalog blocks (kind "L"), each
  one JSON array of entries, one per document, tombstone and attachment (id,
  etag, collection, size, body hash, where its record is), sorted by
  lower-cased id, with a directory of each catalog block's first id in the
  trailer. The backup
  explorer answers "which ids, which versions, what changed" from catalogs
  alone and finds one id by a binary search of the directory and one block.
  A version 1 reader would refuse the unknown block kind, hence the bump;
  this reader reads both (version 1 files have no catalog, and the explorer
  says it reads them the slow way).
* Frames are small and fixed-size so a reader can refuse an absurd length
  before it sets aside any memory for it.

Parsing here raises ValueError saying what is wrong; the reader, which knows
the file, turns it into BackupCorrupted naming the file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

FORMAT_VERSION = 2
# Every version this rookdb reads: files written before the catalog stay readable.
READABLE_VERSIONS = (1, 2)
MAGIC = b"ROOKBAK1"
END_MAGIC = b"ROOKEND1"
COMPRESSIONS = ("zstd", "gzip", "none")
KEY_KINDS = ("raw", "passphrase")

BLOCK_SIZE = 1 << 20
# Catalog blocks are smaller: a look-up reads and parses one whole catalog block per
# file, so its size is the price of every `backup get`; the directory in the trailer
# grows instead (about 35 bytes a block: 1,500 blocks for a million documents).
CATALOG_BLOCK_SIZE = 64 << 10
CHUNK_SIZE = 1 << 20
MAX_HEADER = 1 << 20
MAX_TRAILER = 1 << 20
MAX_STORED_BLOCK = 64 << 20
# Blocks hold ~1 MB of records plus one record that may be larger (a big document):
# a claim beyond this is a hostile or broken file, refused before any memory is set aside.
MAX_RAW_BLOCK = 256 << 20

U32 = struct.Struct("<I")
BLOCK = struct.Struct("<cIII")  # kind, stored_len, raw_len, crc32(stored)
RECORD = struct.Struct("<cII")  # kind, meta_len, data_len
FOOTER = struct.Struct("<II8s")  # trailer_len, crc32(trailer), END_MAGIC

DATA_BLOCK = b"B"
INDEX_BLOCK = b"I"
CATALOG_BLOCK = b"L"
BLOCK_KINDS = (DATA_BLOCK, INDEX_BLOCK, CATALOG_BLOCK)

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
BACKUP_KINDS = ("full", "incremental")
BACKUP_TYPES = ("backup", "snapshot")

_T = TypeVar("_T")


@dataclass(frozen=True)
class RunClaim:
    """The claim of the task run that wrote a file: which node and process, and its revision.

    The revision is the version the task's status was saved as when the run
    claimed it: claims of one task only grow, so of two files for one fire time
    (a node paused past its lease wrote late), the higher revision is the run
    the cluster went on with.
    """

    task_id: str
    node: str
    holder: str
    revision: int

    def to_json(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "node": self.node,
            "holder": self.holder,
            "revision": self.revision,
        }

    @classmethod
    def from_json(cls, data: object) -> RunClaim | None:
        """None when absent (files of runs outside a task, and older files)."""
        if data is None:
            return None
        try:
            fields = Fields.of_object(data)
            return cls(
                task_id=fields.text("task_id"),
                node=fields.text("node"),
                holder=fields.text("holder"),
                revision=fields.count("revision"),
            )
        except ValueError as exc:
            raise ValueError(f"field 'claim': {exc}") from exc


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
    claim: RunClaim | None = None  # set by a backup task's run

    def to_json(self) -> dict[str, Any]:
        body = {
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
        if self.claim is not None:
            body["claim"] = self.claim.to_json()
        return body

    @classmethod
    def from_json(cls, data: object) -> BackupHeader:
        """The header a file's JSON describes; ValueError naming the first field that is wrong."""
        fields = Fields.of_object(data)
        encrypted = fields.flag("encrypted")
        return cls(
            database=fields.text("database"),
            database_id=fields.text("database_id"),
            kind=cast(BackupKind, fields.choice("kind", BACKUP_KINDS)),
            type=cast(BackupType, fields.choice("type", BACKUP_TYPES)),
            since_etag=fields.count("since_etag"),
            last_etag=fields.count("last_etag"),
            created_at=fields.text("created_at"),
            node=fields.text("node"),
            compression=fields.choice("compression", COMPRESSIONS),
            encrypted=encrypted,
            encryption=_encryption(fields.get("encryption"), encrypted),
            format_version=fields.count("format_version"),
            claim=RunClaim.from_json(fields.get("claim")),
        )


@dataclass(frozen=True)
class BackupTrailer:
    """Counts and checksums, written at the end of a complete file."""

    counts: dict[str, int]
    blocks: int
    index_offset: int
    sha256: str  # of every byte before the trailer
    # Of the header bytes alone (magic, length, JSON), checked when a file is opened;
    # None in files written before it was added.
    header_sha256: str | None = None
    # Version 2 files: where the catalog starts and its directory; None before.
    catalog: CatalogDirectory | None = None
    # Version 2 files: a copy of the header's JSON text, so one read of the file's end
    # (a single range request on object storage) gives both ends; checked against
    # header_sha256 like the header itself.
    header_text: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "counts": self.counts,
            "blocks": self.blocks,
            "index_offset": self.index_offset,
            "sha256": self.sha256,
        }
        if self.header_sha256 is not None:
            data["header_sha256"] = self.header_sha256
        if self.catalog is not None:
            data["catalog"] = self.catalog.to_json()
        if self.header_text is not None:
            data["header"] = self.header_text
        return data

    @classmethod
    def from_json(cls, data: object) -> BackupTrailer:
        """The trailer a file's JSON describes; ValueError naming the first field that is wrong."""
        fields = Fields.of_object(data)
        counts = fields.get("counts")
        if not isinstance(counts, dict) or not all(
            type(v) is int and v >= 0 for v in counts.values()
        ):
            raise ValueError("field 'counts' must map names to integers >= 0")
        signed = fields.get("header_sha256") is not None
        return cls(
            counts=dict(counts),
            blocks=fields.count("blocks"),
            index_offset=fields.count("index_offset"),
            sha256=fields.sha256("sha256"),
            header_sha256=fields.sha256("header_sha256") if signed else None,
            catalog=CatalogDirectory.from_json(fields.get("catalog")),
            header_text=fields.optional_text("header"),
        )


@dataclass(frozen=True)
class CatalogDirectory:
    """Where a file's catalog starts, how many entries it holds, and each block's first key.

    The keys are lower-cased document ids in ascending order (the catalog's
    sort order), so a reader finds the block that may hold an id by bisecting
    ``first_keys`` without reading any other block.
    """

    offset: int
    entries: int
    first_keys: tuple[str, ...]
    block_offsets: tuple[int, ...]
    block_seqs: tuple[int, ...]  # each block's number in the file (an encrypted block's nonce)

    def to_json(self) -> dict[str, Any]:
        blocks = zip(self.first_keys, self.block_offsets, self.block_seqs, strict=True)
        return {
            "offset": self.offset,
            "entries": self.entries,
            "blocks": [[k, o, n] for k, o, n in blocks],
        }

    @classmethod
    def from_json(cls, data: object) -> CatalogDirectory | None:
        if data is None:
            return None
        fields = Fields.of_object(data)
        blocks = fields.get("blocks")
        if not isinstance(blocks, list) or not all(
            type(b) is list
            and len(b) == 3
            and type(b[0]) is str
            and all(type(n) is int and n >= 0 for n in b[1:])
            for b in blocks
        ):
            raise ValueError(
                "field 'catalog' must hold a list of [first id, block offset, block number]"
            )
        keys = tuple(b[0] for b in blocks)
        offsets = tuple(b[1] for b in blocks)
        seqs = tuple(b[2] for b in blocks)
        if list(keys) != sorted(keys) or list(offsets) != sorted(set(offsets)):
            raise ValueError("field 'catalog' lists its blocks out of order")
        return cls(fields.count("offset"), fields.count("entries"), keys, offsets, seqs)


class Fields:
    """The fields of a header, a trailer or a record's meta, each checked as it is taken.

    Every check raises ValueError naming the field (and the record, for a
    record's meta), so the reader can say exactly what is wrong with a file.
    """

    def __init__(self, values: dict[str, object], what: str = "") -> None:
        self._values = values
        self._prefix = f"{what}: " if what else ""

    @classmethod
    def of_object(cls, data: object) -> Fields:
        """The fields of a JSON object (a header or a trailer)."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return cls(data)

    @classmethod
    def of_array(cls, data: object, names: tuple[str, ...], what: str) -> Fields:
        """The fields of a JSON array holding `names` in order (a record's meta)."""
        if type(data) is not list or len(data) != len(names):
            raise ValueError(f"{what}: its meta is not [{', '.join(names)}]")
        return cls(dict(zip(names, data, strict=True)), what)

    def get(self, name: str) -> object:
        return self._values.get(name)

    def text(self, name: str) -> str:
        return self._typed(name, str, "text")

    def optional_text(self, name: str) -> str | None:
        return None if self.get(name) is None else self.text(name)

    def integer(self, name: str) -> int:
        return self._typed(name, int, "an integer")

    def count(self, name: str) -> int:
        value = self._typed(name, int, "an integer >= 0")
        if value < 0:
            raise self._wrong(name, "an integer >= 0")
        return value

    def flag(self, name: str) -> bool:
        return self._typed(name, bool, "true or false")

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self._typed(name, str, f"one of {', '.join(allowed)}")
        if value not in allowed:
            raise self._wrong(name, f"one of {', '.join(allowed)}")
        return value

    def texts(self, name: str, what: str) -> list[str]:
        value = self.get(name)
        if type(value) is not list or not all(type(item) is str for item in value):
            raise self._wrong(name, f"a list of {what}")
        return cast(list[str], value)

    def sha256(self, name: str) -> str:
        value = self._typed(name, str, "a SHA-256 in hex")
        if len(value) != 64 or not _is_hex(value):
            raise self._wrong(name, "a SHA-256 in hex")
        return value

    def _typed(self, name: str, kind: type[_T], should: str) -> _T:
        if name not in self._values:
            raise ValueError(f"{self._prefix}field {name!r} is missing")
        # type(), not isinstance(): true and false are not integers here.
        if type(self._values[name]) is not kind:
            raise self._wrong(name, should)
        return cast(_T, self._values[name])

    def _wrong(self, name: str, should: str) -> ValueError:
        shown = repr(self._values.get(name))
        if len(shown) > 40:
            shown = shown[:37] + "..."
        return ValueError(f"{self._prefix}field {name!r} must be {should}, not {shown}")


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def _encryption(value: object, encrypted: bool) -> dict[str, str] | None:
    # The parameters a reader needs to rebuild the file's key; checked here so a
    # damaged header is reported as damage, never as a wrong key.
    if not encrypted:
        if value is not None:
            raise ValueError("field 'encryption' is set but 'encrypted' is false")
        return None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError("field 'encryption' must map names to text in an encrypted file")
    for name in ("key", "salt", "check"):
        if name not in value:
            raise ValueError(f"field 'encryption' lacks {name!r}")
    if value["key"] not in KEY_KINDS:
        raise ValueError(
            f"field 'encryption' names an unknown key kind (not one of {', '.join(KEY_KINDS)})"
        )
    if not value["salt"] or len(value["salt"]) % 2 or not _is_hex(value["salt"]):
        raise ValueError("field 'encryption' holds a salt that is not hex")
    return dict(value)
