"""The rookdb backup file format: header, compressed blocks of records, index, trailer.

Layout (all integers little-endian)::

    "ROOKBAK1"  u32 header_len  header JSON            plain: `backup ls` needs no key
    block*      kind(1) u32 stored_len u32 raw_len u32 crc32(stored)  stored
    trailer JSON  u32 trailer_len  u32 crc32(trailer)  "ROOKEND1"

A block's stored bytes are its raw bytes compressed on their own (one zstd
frame, one gzip member, or as is) and then, when encrypted, sealed with
AES-256-GCM. Data blocks (kind "B") hold records; index blocks (kind "I")
come after them and map document ids to the offset of the block holding them,
so a reader can fetch one document by seeking. Version 2 adds catalog
blocks (kind "L") after the index: one sorted entry per document, tombstone
and attachment, with a directory in the trailer (see layout and entries). The trailer holds record
counts, where the index starts, the SHA-256 of every byte before it and the
SHA-256 of the header alone.

One module per job: ``layout`` (the bytes: magic, version, frames, codes,
limits, header and trailer), ``codecs`` (compression and the encryption
hook), ``records`` (what each record holds), ``entries`` (what a catalog
entry holds, and the sorted spool the writer builds the catalog in), ``writer``, ``ends`` (opening a
file: its header and trailer, checked) and ``reader`` (blocks and records,
streamed and checked). The names below are the format's public API; import
them from here.
"""

from typing import TYPE_CHECKING

from rookdb.lazy_exports import lazy_exports

__all__ = [
    "ATTACHMENT",
    "BLOCK_SIZE",
    "CATALOG_BLOCK",
    "CHUNK",
    "CHUNK_SIZE",
    "COMPRESSIONS",
    "DATA_BLOCK",
    "DOCUMENT",
    "END_MAGIC",
    "FILE_CHUNK",
    "FORMAT_VERSION",
    "IDENTITY",
    "INDEX",
    "INDEX_BLOCK",
    "INDEX_ENTRY",
    "MAGIC",
    "MAX_RAW_BLOCK",
    "MAX_STORED_BLOCK",
    "READABLE_VERSIONS",
    "TOMBSTONE",
    "ZSTD_LEVEL",
    "AttachmentRecord",
    "BackupHeader",
    "RunClaim",
    "BackupKind",
    "BackupReader",
    "BackupTrailer",
    "BackupType",
    "BackupWriter",
    "CatalogDirectory",
    "CatalogEntry",
    "DocumentRecord",
    "FileSummary",
    "IdentityRecord",
    "IndexRecord",
    "Record",
    "SeekingReader",
    "TombstoneRecord",
    "check_compression",
]

if TYPE_CHECKING:
    from rookdb.backup.format.codecs import ZSTD_LEVEL, check_compression
    from rookdb.backup.format.entries import CatalogEntry
    from rookdb.backup.format.layout import (
        ATTACHMENT,
        BLOCK_SIZE,
        CATALOG_BLOCK,
        CHUNK,
        CHUNK_SIZE,
        COMPRESSIONS,
        DATA_BLOCK,
        DOCUMENT,
        END_MAGIC,
        FILE_CHUNK,
        FORMAT_VERSION,
        IDENTITY,
        INDEX,
        INDEX_BLOCK,
        INDEX_ENTRY,
        MAGIC,
        MAX_RAW_BLOCK,
        MAX_STORED_BLOCK,
        READABLE_VERSIONS,
        TOMBSTONE,
        BackupHeader,
        BackupKind,
        BackupTrailer,
        BackupType,
        CatalogDirectory,
        RunClaim,
    )
    from rookdb.backup.format.reader import BackupReader
    from rookdb.backup.format.records import (
        AttachmentRecord,
        DocumentRecord,
        IdentityRecord,
        IndexRecord,
        Record,
        TombstoneRecord,
    )
    from rookdb.backup.format.seeking import SeekingReader
    from rookdb.backup.format.writer import BackupWriter, FileSummary
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "codecs": ["ZSTD_LEVEL", "check_compression"],
            "entries": ["CatalogEntry"],
            "layout": [
                "ATTACHMENT",
                "BLOCK_SIZE",
                "CATALOG_BLOCK",
                "CHUNK",
                "CHUNK_SIZE",
                "COMPRESSIONS",
                "DATA_BLOCK",
                "DOCUMENT",
                "END_MAGIC",
                "FILE_CHUNK",
                "FORMAT_VERSION",
                "IDENTITY",
                "INDEX",
                "INDEX_BLOCK",
                "INDEX_ENTRY",
                "MAGIC",
                "MAX_RAW_BLOCK",
                "MAX_STORED_BLOCK",
                "READABLE_VERSIONS",
                "TOMBSTONE",
                "BackupHeader",
                "BackupKind",
                "BackupTrailer",
                "BackupType",
                "CatalogDirectory",
                "RunClaim",
            ],
            "reader": ["BackupReader"],
            "records": [
                "AttachmentRecord",
                "DocumentRecord",
                "IdentityRecord",
                "IndexRecord",
                "Record",
                "TombstoneRecord",
            ],
            "seeking": ["SeekingReader"],
            "writer": ["BackupWriter", "FileSummary"],
        },
    )
