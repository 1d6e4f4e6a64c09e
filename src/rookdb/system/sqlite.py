"""The single-node system store: one SQLite file in the data dir."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import orjson

from rookdb.errors import AlreadyExists, ConcurrencyConflict, NotFound, RookError
from rookdb.storage.engine import write_failed
from rookdb.system.store import DatabaseRecord, Entry, SystemStore, Write

_DDL = """
CREATE TABLE IF NOT EXISTS databases (
    name_lower TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL,
    file TEXT NOT NULL, settings TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, version INTEGER NOT NULL,
    PRIMARY KEY (namespace, key)
);
"""


class SqliteSystemStore(SystemStore):
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("PRAGMA busy_timeout = 30000")
        self._conn.executescript(_DDL)

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """The connection inside one write transaction; a refused write is a StorageError.

        SQLite rolls back by itself after some failures (a full disk at COMMIT),
        so the rollback here only runs when a transaction is still open.
        """
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException as exc:
                if self._conn.in_transaction:
                    with suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.IntegrityError | RookError):
                    raise
                if isinstance(exc, sqlite3.Error):
                    raise write_failed(self.path, exc) from exc
                raise

    def add_database(self, record: DatabaseRecord) -> None:
        with self._writing() as conn:
            try:
                conn.execute(
                    "INSERT INTO databases VALUES (?, ?, ?, ?, ?)",
                    (
                        record.name.lower(),
                        record.name,
                        record.created_at,
                        record.file,
                        orjson.dumps(record.settings).decode(),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise AlreadyExists(f"database {record.name!r} already exists") from exc

    def get_database(self, name: str) -> DatabaseRecord | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT name, created_at, file, settings FROM databases WHERE name_lower = ?",
                (name.lower(),),
            ).fetchone()
        return _record(row) if row else None

    def list_databases(self) -> list[DatabaseRecord]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT name, created_at, file, settings FROM databases ORDER BY name_lower"
            ).fetchall()
        return [_record(r) for r in rows]

    def replace_database(self, expected: DatabaseRecord, new: DatabaseRecord) -> None:
        with self._writing() as conn:
            row = conn.execute(
                "SELECT name, created_at, file, settings FROM databases WHERE name_lower = ?",
                (expected.name.lower(),),
            ).fetchone()
            if row is None:
                raise NotFound(f"database {expected.name!r} does not exist")
            if _record(row) != expected:
                raise ConcurrencyConflict(
                    f"database {expected.name!r} changed meanwhile (another writer came first)"
                )
            conn.execute(
                "UPDATE databases SET settings = ? WHERE name_lower = ?",
                (orjson.dumps(new.settings).decode(), expected.name.lower()),
            )

    def remove_database(self, name: str) -> bool:
        with self._writing() as conn:
            cur = conn.execute("DELETE FROM databases WHERE name_lower = ?", (name.lower(),))
        return cur.rowcount > 0

    def put(
        self,
        namespace: str,
        key: str,
        value: dict[str, Any],
        *,
        expected_version: int | None = None,
    ) -> int:
        with self._writing() as conn:
            return _write(conn, Write(namespace, key, value, expected_version))

    def commit(self, writes: Sequence[Write]) -> None:
        with self._writing() as conn:
            for write in writes:
                _write(conn, write)

    def get(self, namespace: str, key: str) -> Entry | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT value, version FROM entries WHERE namespace = ? AND key = ?",
                (namespace, key),
            ).fetchone()
        return Entry(namespace, key, orjson.loads(row[0]), row[1]) if row else None

    def list(self, namespace: str, prefix: str = "") -> list[Entry]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT key, value, version FROM entries WHERE namespace = ? "
                "AND substr(key, 1, ?) = ? ORDER BY key",
                (namespace, len(prefix), prefix),
            ).fetchall()
        return [Entry(namespace, k, orjson.loads(v), ver) for k, v, ver in rows]

    def delete(self, namespace: str, key: str) -> bool:
        with self._writing() as conn:
            cur = conn.execute(
                "DELETE FROM entries WHERE namespace = ? AND key = ?", (namespace, key)
            )
        return cur.rowcount > 0

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _write(conn: sqlite3.Connection, write: Write) -> int:
    """One write inside the caller's transaction; the entry's new version (0: deleted)."""
    row = conn.execute(
        "SELECT version FROM entries WHERE namespace = ? AND key = ?",
        (write.namespace, write.key),
    ).fetchone()
    current = row[0] if row else 0
    if write.expected_version is not None and write.expected_version != current:
        raise ConcurrencyConflict(
            f"{write.namespace}/{write.key} changed meanwhile (version {current}, "
            f"expected {write.expected_version})"
        )
    if write.value is None:
        conn.execute(
            "DELETE FROM entries WHERE namespace = ? AND key = ?", (write.namespace, write.key)
        )
        return 0
    conn.execute(
        "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)",
        (write.namespace, write.key, orjson.dumps(write.value).decode(), current + 1),
    )
    return current + 1


def _record(row: tuple[Any, ...]) -> DatabaseRecord:
    return DatabaseRecord(row[0], row[1], row[2], orjson.loads(row[3]))
