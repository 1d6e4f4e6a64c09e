"""Opening a backup file: its header and trailer, read and checked without touching the blocks.

Listing a folder, planning a chain and choosing where the next incremental
continues all read only the two ends of each file, so they must be
trustworthy on their own: the header's fields are type-checked, the trailer
is framed by an end marker and a CRC, and the trailer holds the SHA-256 of
the header bytes, compared here. That costs a few hundred bytes where the
whole-file SHA-256 costs a pass over the file (verify and restore make it).
A file written before the trailer signed the header is still read; only the
whole-file pass covers its header.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from typing import IO

import orjson

from rookdb.backup.format.layout import (
    END_MAGIC,
    FOOTER,
    FORMAT_VERSION,
    MAGIC,
    MAX_HEADER,
    MAX_TRAILER,
    READABLE_VERSIONS,
    U32,
    BackupHeader,
    BackupTrailer,
)
from rookdb.errors import BackupCorrupted


def corrupted(name: str, what: str) -> BackupCorrupted:
    """The error for backup file `name`, saying what is wrong with it."""
    return BackupCorrupted(f"backup file {name} is corrupted: {what}")


@dataclass(frozen=True)
class FileEnds:
    """A file's header and trailer, and where its blocks start and end."""

    header: BackupHeader
    data_start: int
    trailer: BackupTrailer
    trailer_start: int


def read_ends(file: IO[bytes], size: int, name: str) -> FileEnds:
    """Read and check the header and trailer of `file` (`size` bytes long, called `name`)."""
    header, header_bytes = _read_header(file, name)
    trailer, trailer_start = _read_trailer(file, size, len(header_bytes), name)
    # Files written before the trailer signed the header have no digest.
    signed = trailer.header_sha256
    if signed is not None and hashlib.sha256(header_bytes).hexdigest() != signed:
        raise corrupted(
            name,
            "the header does not match the SHA-256 its trailer holds for it "
            "(the header was edited or damaged)",
        )
    return FileEnds(header, len(header_bytes), trailer, trailer_start)


def header_from_tail(tail: bytes) -> bytes | None:
    """The header bytes (magic, length, JSON) a version 2 trailer carries a copy of, taken
    from the last bytes of a file; None when `tail` does not hold such a trailer whole.

    Unchecked: a reader serves them as the file's first bytes and `read_ends` then
    checks them against the trailer's digest, exactly as it checks the real header.
    """
    if len(tail) < FOOTER.size:
        return None
    length, _crc, magic = FOOTER.unpack_from(tail, len(tail) - FOOTER.size)
    if magic != END_MAGIC or length > len(tail) - FOOTER.size:
        return None
    try:
        trailer = orjson.loads(tail[len(tail) - FOOTER.size - length : len(tail) - FOOTER.size])
    except orjson.JSONDecodeError:
        return None
    text = trailer.get("header") if isinstance(trailer, dict) else None
    if not isinstance(text, str):
        return None
    encoded = text.encode()
    return MAGIC + U32.pack(len(encoded)) + encoded


def _read_header(file: IO[bytes], name: str) -> tuple[BackupHeader, bytes]:
    file.seek(0)
    start = file.read(len(MAGIC) + U32.size)
    if len(start) < len(MAGIC) + U32.size or start[: len(MAGIC)] != MAGIC:
        raise BackupCorrupted(f"{name} is not a rookdb backup file (bad magic)")
    (length,) = U32.unpack_from(start, len(MAGIC))
    if length > MAX_HEADER:
        raise corrupted(name, "header length is implausible")
    text = file.read(length)
    if len(text) < length:
        raise corrupted(name, "file is truncated inside the header")
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise corrupted(name, "unreadable header (not JSON)") from exc
    # The version first: a newer file is not damaged, only not readable here.
    version = data.get("format_version") if isinstance(data, dict) else None
    if type(version) is int and version not in READABLE_VERSIONS:
        raise BackupCorrupted(
            f"backup file {name} has format version {version}; "
            f"this rookdb reads versions {READABLE_VERSIONS[0]} to {FORMAT_VERSION}"
        )
    try:
        return BackupHeader.from_json(data), start + text
    except ValueError as exc:
        raise corrupted(name, f"bad header: {exc}") from exc


def _read_trailer(
    file: IO[bytes], size: int, data_start: int, name: str
) -> tuple[BackupTrailer, int]:
    if size < data_start + FOOTER.size:
        raise corrupted(name, "file is truncated (no trailer)")
    file.seek(size - FOOTER.size)
    footer = file.read(FOOTER.size)
    if len(footer) < FOOTER.size:
        raise corrupted(name, "file is truncated (no trailer)")
    length, crc, magic = FOOTER.unpack(footer)
    if magic != END_MAGIC:
        raise corrupted(name, "file is truncated or incomplete (no end marker)")
    start = size - FOOTER.size - length
    if length > MAX_TRAILER or start < data_start:
        raise corrupted(name, "trailer length is implausible")
    file.seek(start)
    body = file.read(length)
    if zlib.crc32(body) != crc:
        raise corrupted(name, "trailer checksum mismatch")
    try:
        trailer = BackupTrailer.from_json(orjson.loads(body))
    except orjson.JSONDecodeError as exc:
        raise corrupted(name, "unreadable trailer (not JSON)") from exc
    except ValueError as exc:
        raise corrupted(name, f"bad trailer: {exc}") from exc
    if not data_start <= trailer.index_offset <= start:
        raise corrupted(
            name,
            f"bad trailer: index_offset {trailer.index_offset} is outside the blocks "
            f"(offsets {data_start} to {start})",
        )
    catalog = trailer.catalog
    if catalog is not None and not (
        trailer.index_offset <= catalog.offset <= start
        and all(catalog.offset <= o < start for o in catalog.block_offsets)
    ):
        raise corrupted(name, "bad trailer: the catalog directory points outside the catalog")
    return trailer, start
