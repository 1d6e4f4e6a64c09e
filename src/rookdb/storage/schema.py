"""The SQLite schema of one rookdb database file, and how its connections are opened."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

SCHEMA_VERSION = 1

# Every table that holds a change carries an `etag` column with an index on it,
# so the change feed can merge them in etag order without sorting. Documents use
# the etag as their rowid: a write appends to the end of the table and the
# change feed is a sequential range scan.
DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    etag INTEGER PRIMARY KEY,
    id_lower TEXT NOT NULL UNIQUE,
    id TEXT NOT NULL,
    collection TEXT NOT NULL,
    collection_lower TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    change_vector TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_collection ON documents(collection_lower, id_lower);
CREATE TABLE IF NOT EXISTS tombstones (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT,
    collection TEXT,
    etag INTEGER NOT NULL,
    deleted_at TEXT NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS tombstones_etag ON tombstones(etag);
CREATE TABLE IF NOT EXISTS attachments (
    document_lower TEXT NOT NULL,
    document_id TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    hash TEXT NOT NULL,
    etag INTEGER NOT NULL,
    PRIMARY KEY (document_lower, name)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS attachments_etag ON attachments(etag);
CREATE INDEX IF NOT EXISTS attachments_hash ON attachments(hash);
CREATE TABLE IF NOT EXISTS blobs (hash TEXT PRIMARY KEY, size INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blob_chunks (
    hash TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (hash, seq)
);
CREATE TABLE IF NOT EXISTS identities (
    name_lower TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    value INTEGER NOT NULL,
    etag INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS identities_etag ON identities(etag);
CREATE TABLE IF NOT EXISTS indexes (
    name_lower TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    collection TEXT NOT NULL,
    fields TEXT NOT NULL,
    etag INTEGER NOT NULL
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS indexes_etag ON indexes(etag);
"""

# The statement creating each of the schema's own indexes, by index name.
STORAGE_INDEXES: dict[str, str] = {
    match.group(1): match.group(0)
    for match in re.finditer(r"CREATE (?:UNIQUE )?INDEX IF NOT EXISTS (\w+)[^;]*", DDL)
}


def connect(
    path: Path,
    *,
    synchronous: str = "FULL",
    readonly: bool = False,
    journal_mode: str = "WAL",
    page_size: int | None = None,
    cache_mib: int = 64,
) -> sqlite3.Connection:
    """Open a connection with the settings every rookdb connection shares.

    `cache_mib` bounds the page cache, and with it the sorter that builds an index.

    `page_size` applies to a file not yet written (SQLite ignores it for an existing one).
    """
    if readonly:
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
    else:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    if page_size is not None and not readonly:
        # First: set after cache_size, the cache kept its page count and doubled in bytes
        # (measured: a restore's peak RSS went from 121 to 185 MB); and before the journal
        # mode, since a WAL file fixes the page size.
        conn.execute(f"PRAGMA page_size = {int(page_size)}")
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute(f"PRAGMA cache_size = {-1024 * int(cache_mib)}")
    conn.execute("PRAGMA journal_size_limit = 67108864")
    if not readonly:
        conn.execute(f"PRAGMA journal_mode = {journal_mode}")
        conn.execute(f"PRAGMA synchronous = {synchronous}")
    return conn


def initialise(conn: sqlite3.Connection, database_id: str) -> None:
    """Create the tables if missing and stamp the database's identity."""
    conn.executescript(DDL)
    conn.execute(
        "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
        (str(SCHEMA_VERSION),),
    )
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('database_id', ?)", (database_id,))
    conn.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('last_etag', '0')")
