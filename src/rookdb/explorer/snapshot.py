"""The snapshot at the start of a chain, opened for look-ups: the slower path.

A snapshot is a raw database file, compressed (and maybe encrypted) into the
backup format: it has no catalog to bisect. The first question that needs it
(a document no later incremental mentions, a listing, a history, a diff)
checks the whole file against its SHA-256, decompresses it once into the
local explorer cache and opens that SQLite file read-only; its rows then
answer as catalog entries would, so the explorer replays them by the same
rules as a logical full backup. A copy is kept by the snapshot's own
checksum and reused by later questions; an encrypted snapshot is decrypted
into a private temporary folder deleted when the explorer closes, never
into the shared cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from rookdb.backup.chain import BackupFileInfo
from rookdb.backup.format import (
    AttachmentRecord,
    CatalogEntry,
    DocumentRecord,
    SeekingReader,
    TombstoneRecord,
)
from rookdb.backup.format.ends import corrupted
from rookdb.backup.format.entries import body_hash, sort_key
from rookdb.errors import BackupCorrupted, StorageError

KEPT_COPIES = 2  # snapshot copies kept in the cache; the least recently used go first

# Every change a snapshot holds that the explorer reads, as catalog-entry rows:
# (kind, id, etag, size, hash, collection, name), sorted like a catalog.
_ENTRIES = """
SELECT 'd', id, etag, length(CAST(body AS BLOB)), rookdb_body_hash(body), collection, NULL,
       id_lower
  FROM documents {documents}
UNION ALL
SELECT 't', id, etag, 0, '', collection, NULL, lower(id) FROM tombstones
  WHERE kind = 'document' {tombstones}
UNION ALL
SELECT 'a', document_id, etag, size, hash, NULL, name, document_lower FROM attachments {attachments}
UNION ALL
SELECT 'x', id, etag, 0, '', NULL, name, lower(id) FROM tombstones
  WHERE kind = 'attachment' {tombstones}
"""


def snapshot_cache_root() -> Path | None:
    """Where decompressed snapshots are kept: next to the explorer's index cache, in
    `explorer-snapshots`; None when $ROOKDB_EXPLORER_CACHE is "off" (a temporary copy)."""
    from rookdb.explorer.ranges import IndexCache

    cache = IndexCache.default()
    return None if cache is None else cache.root.parent / "explorer-snapshots"


class SnapshotFile:
    """A chain's snapshot, decompressed once and asked about ids like a catalog."""

    slow = True

    def __init__(self, info: BackupFileInfo, reader: SeekingReader) -> None:
        self.info = info
        self.reader = reader
        self._conn: sqlite3.Connection | None = None
        self._private: Path | None = None

    @property
    def name(self) -> str:
        return self.info.file_name

    @property
    def copied(self) -> bool:
        """Whether the snapshot was opened (decompressed or found in the cache)."""
        return self._conn is not None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self.reader.close()
        if self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None

    # -- the copy ----------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            path = self._copy()
            try:
                conn = sqlite3.connect(
                    f"{path.as_uri()}?mode=ro&immutable=1", uri=True, check_same_thread=False
                )
                # The hash a catalog gives a body, so diffs compare a snapshot's documents
                # with a logical backup's.
                conn.create_function(
                    "rookdb_body_hash", 1, lambda body: body_hash(body.encode()), deterministic=True
                )
                self._conn = conn
            except sqlite3.Error as exc:
                raise StorageError(f"cannot open the copy of snapshot {self.name}: {exc}") from exc
        return self._conn

    def _copy(self) -> Path:
        root = None if self.info.encrypted else snapshot_cache_root()
        if root is None:
            self._private = Path(tempfile.mkdtemp(prefix="rookdb-snapshot-"))
            root = self._private
        identity = f"{self.info.database_id}|{self.name}|{self.reader.trailer.sha256}"
        target = root / f"{hashlib.sha256(identity.encode()).hexdigest()[:32]}.sqlite"
        if target.exists():
            os.utime(target)  # recently used: kept longest
            return target
        try:
            root.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise StorageError(f"cannot create the explorer cache {root}: {exc}") from exc
        # Integrity first: the whole file against its SHA-256, then every block's own
        # checks as it is decompressed; the copy is visible only once complete.
        self.reader.verify_checksum()
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        try:
            with open(partial, "wb") as out:
                for chunk in self.reader.file_chunks():
                    out.write(chunk)
            self._check_copy(partial)
            partial.replace(target)
        except OSError as exc:
            raise StorageError(f"cannot write a copy of snapshot {self.name}: {exc}") from exc
        finally:
            partial.unlink(missing_ok=True)
        _trim(root, keep=target)
        return target

    def _check_copy(self, path: Path) -> None:
        from rookdb.storage.database_file import DatabaseFile

        try:
            with DatabaseFile(path) as copy:
                found = (copy.database_id(), copy.last_etag())
        except StorageError as exc:
            raise corrupted(self.name, f"it does not hold a rookdb database ({exc})") from exc
        expected = (self.info.database_id, self.info.last_etag)
        if found != expected:
            raise corrupted(
                self.name,
                f"the database it holds (id {found[0]}, etag {found[1]}) is not the one its "
                f"header names (id {expected[0]}, etag {expected[1]})",
            )

    def _rows(self, sql: str, params: Sequence[object] = ()) -> Iterator[CatalogEntry]:
        try:
            for kind, doc_id, etag, size, digest, collection, name, _key in self._db().execute(
                sql, params
            ):
                yield CatalogEntry(
                    kind, doc_id, etag, etag, 0, int(size or 0), digest or "", collection, name
                )
        except sqlite3.Error as exc:
            raise corrupted(self.name, f"its database cannot be read: {exc}") from exc

    # -- what ExploredFile answers ---------------------------------------------------------
    def entries_for(self, doc_id: str) -> list[CatalogEntry]:
        """What the snapshot holds for `doc_id` (any case), in etag order."""
        key = sort_key(doc_id)
        sql = _ENTRIES.format(
            documents="WHERE id_lower = ?",
            tombstones="AND lower(id) = ?",
            attachments="WHERE document_lower = ?",
        )
        return sorted(self._rows(sql, (key, key, key, key)), key=lambda e: e.etag)

    def entries_for_keys(self, keys: Sequence[str]) -> dict[str, list[CatalogEntry]]:
        """What the snapshot holds for each of `keys` (lower-cased ids)."""
        found: dict[str, list[CatalogEntry]] = {}
        for key in sorted(set(keys)):
            entries = self.entries_for(key)
            if entries:
                found[key] = entries
        return found

    def sorted_entries(self) -> Iterator[CatalogEntry]:
        """Every entry by (lower-cased id, etag), streamed from SQLite's sort of the copy."""
        # The ORDER BY (by column position) sorts the whole compound select.
        sql = _ENTRIES.format(documents="", tombstones="", attachments="") + " ORDER BY 8, 3"
        yield from self._rows(sql)

    def document(self, entry: CatalogEntry) -> DocumentRecord:
        """The document row `entry` names, as a record."""
        row = self._one(
            "SELECT id, collection, last_modified, change_vector, body FROM documents "
            "WHERE etag = ?",
            entry.etag,
        )
        if row is None or sort_key(str(row[0])) != entry.key:
            raise self._mismatch(entry)
        body = str(row[4])
        if entry.hash and body_hash(body.encode()) != entry.hash:
            raise self._mismatch(entry)
        doc_id, collection, last_modified, change_vector = map(str, row[:4])
        return DocumentRecord(
            entry.etag, doc_id, collection, last_modified, change_vector, body, None
        )

    def tombstone(self, entry: CatalogEntry) -> TombstoneRecord:
        """The tombstone row `entry` names, as a record."""
        row = self._one(
            "SELECT id, name, collection, deleted_at FROM tombstones WHERE etag = ?", entry.etag
        )
        if row is None or sort_key(str(row[0])) != entry.key:
            raise self._mismatch(entry)
        collection = None if row[2] is None else str(row[2])
        return TombstoneRecord(entry.etag, "document", str(row[0]), None, collection, str(row[3]))

    def attachment(self, entry: CatalogEntry) -> tuple[AttachmentRecord, Iterator[bytes]]:
        """The attachment row `entry` names and its content, checked against its SHA-256."""
        row = self._one(
            "SELECT document_id, name, content_type, size, hash FROM attachments WHERE etag = ?",
            entry.etag,
        )
        if row is None or sort_key(str(row[0])) != entry.key or row[1] != entry.name:
            raise self._mismatch(entry)
        document_id, name, content_type, size, digest = row
        record = AttachmentRecord(
            entry.etag, str(document_id), str(name), str(content_type), int(str(size)),
            str(digest), iter(()),
        )  # fmt: skip
        return record, self._content(record, entry)

    def _content(self, record: AttachmentRecord, entry: CatalogEntry) -> Iterator[bytes]:
        digest = hashlib.sha256()
        held: bytes | None = None
        try:
            chunks = self._db().execute(
                "SELECT data FROM blob_chunks WHERE hash = ? ORDER BY seq", (record.hash,)
            )
            for (data,) in chunks:
                digest.update(data)
                if held is not None:
                    yield held
                held = bytes(data)
        except sqlite3.Error as exc:
            raise corrupted(self.name, f"its database cannot be read: {exc}") from exc
        if digest.hexdigest() != record.hash:
            raise corrupted(
                self.name,
                f"attachment {record.name!r} of {record.document_id!r} does not match its hash",
            )
        if held is not None:
            yield held

    def _one(self, sql: str, etag: int) -> tuple[object, ...] | None:
        try:
            row: tuple[object, ...] | None = self._db().execute(sql, (etag,)).fetchone()
        except sqlite3.Error as exc:
            raise corrupted(self.name, f"its database cannot be read: {exc}") from exc
        return row

    def _mismatch(self, entry: CatalogEntry) -> BackupCorrupted:
        return corrupted(
            self.name, f"its database does not hold {entry.id!r} at etag {entry.etag} any more"
        )


def _trim(root: Path, keep: Path) -> None:
    """Keep the KEPT_COPIES most recently used copies; never an error."""
    try:
        copies = sorted(root.glob("*.sqlite"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in copies[KEPT_COPIES:]:
            if old != keep:
                old.unlink(missing_ok=True)
    except OSError:
        return
