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
  and, since this change, the SHA-256 of the header bytes alone, which a reader
  checks when it opens the file: a listing never acts on an edited etag range
  without the whole-file pass that a verify or restore makes. Files written
  before lack it and are still read (the layout did not change, so the format
  version stays 1).
* Frames are small and fixed-size so a reader can refuse an absurd length
  before it sets aside any memory for it.

Parsing here raises ValueError saying what is wrong; the reader, which knows
the file, turns it into BackupCorrupted naming the file.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

FORMAT_VERSION = 1
MAGIC = b"ROOKBAK1"
END_MAGIC = b"ROOKEND1"
COMPRESSIONS = ("zstd", "gzip", "none")
KEY_KINDS = ("raw", "passphrase")

BLOCK_SIZE = 1 << 20
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
BLOCK_KINDS = (DATA_BLOCK, INDEX_BLOCK)

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
    def from_json(cls, data: object) -> BackupHeader:
        """The header a file's JSON describes; ValueError naming the first field that is wrong."""
        fields = _object(data)
        encrypted = _field(fields, "encrypted", bool, "true or false")
        return cls(
            database=_field(fields, "database", str, "text"),
            database_id=_field(fields, "database_id", str, "text"),
            kind=cast(BackupKind, _choice(fields, "kind", BACKUP_KINDS)),
            type=cast(BackupType, _choice(fields, "type", BACKUP_TYPES)),
            since_etag=_count(fields, "since_etag"),
            last_etag=_count(fields, "last_etag"),
            created_at=_field(fields, "created_at", str, "text"),
            node=_field(fields, "node", str, "text"),
            compression=_choice(fields, "compression", COMPRESSIONS),
            encrypted=encrypted,
            encryption=_encryption(fields.get("encryption"), encrypted),
            format_version=_count(fields, "format_version"),
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

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "counts": self.counts,
            "blocks": self.blocks,
            "index_offset": self.index_offset,
            "sha256": self.sha256,
        }
        if self.header_sha256 is not None:
            data["header_sha256"] = self.header_sha256
        return data

    @classmethod
    def from_json(cls, data: object) -> BackupTrailer:
        """The trailer a file's JSON describes; ValueError naming the first field that is wrong."""
        fields = _object(data)
        counts = fields.get("counts")
        if not isinstance(counts, dict) or not all(
            type(v) is int and v >= 0 for v in counts.values()
        ):
            raise ValueError("field 'counts' must map names to integers >= 0")
        signed = fields.get("header_sha256")
        return cls(
            counts=dict(counts),
            blocks=_count(fields, "blocks"),
            index_offset=_count(fields, "index_offset"),
            sha256=_sha256(fields.get("sha256"), "sha256"),
            header_sha256=None if signed is None else _sha256(signed, "header_sha256"),
        )


def _object(data: object) -> dict[str, object]:
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return data


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _field(fields: dict[str, object], name: str, kind: type[_T], what: str) -> _T:
    if name not in fields:
        raise ValueError(f"field {name!r} is missing")
    value = fields[name]
    # type(), not isinstance(): true and false are not integers here.
    if type(value) is not kind:
        raise ValueError(f"field {name!r} must be {what}, not {_shown(value)}")
    return cast(_T, value)


def _count(fields: dict[str, object], name: str) -> int:
    value = _field(fields, name, int, "an integer >= 0")
    if value < 0:
        raise ValueError(f"field {name!r} must be an integer >= 0, not {value}")
    return value


def _choice(fields: dict[str, object], name: str, allowed: tuple[str, ...]) -> str:
    value = _field(fields, name, str, f"one of {', '.join(allowed)}")
    if value not in allowed:
        raise ValueError(f"field {name!r} must be one of {', '.join(allowed)}, not {_shown(value)}")
    return value


def _sha256(value: object, name: str) -> str:
    if not isinstance(value, str) or len(value) != 64 or not _is_hex(value):
        raise ValueError(f"field {name!r} must be a SHA-256 in hex, not {_shown(value)}")
    return value


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
            f"field 'encryption' names an unknown key kind {_shown(value['key'])} "
            f"(one of {', '.join(KEY_KINDS)})"
        )
    if not value["salt"] or len(value["salt"]) % 2 or not _is_hex(value["salt"]):
        raise ValueError("field 'encryption' holds a salt that is not hex")
    return dict(value)
