"""Connections to one database file: a single writer, many readers.

One write connection, guarded by a lock, runs every write inside
``BEGIN IMMEDIATE``; the etag counter lives in memory and is persisted in the
same transaction, so a crash never loses or reuses an etag. Readers use their
own connection per thread and see a consistent WAL snapshot for the span of a
read transaction.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path

from rookdb.errors import NotWriteNode, StorageError
from rookdb.storage import schema


def utc_now_iso() -> str:
    """Current UTC time in ISO 8601 with milliseconds and a Z suffix."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class WriteTx:
    """One open write transaction: hands out etags and the connection to write with."""

    def __init__(self, engine: Engine, conn: sqlite3.Connection) -> None:
        self.engine = engine
        self.conn = conn
        self.start_etag = engine.last_etag
        self.etag = engine.last_etag
        self.now = utc_now_iso()

    def next_etag(self) -> int:
        self.etag += 1
        return self.etag

    def change_vector(self, etag: int) -> str:
        return f"{self.engine.node_tag}:{etag}-{self.engine.database_id[:8]}"


# Page cache of a streaming read's connection (change feeds, database copies).
STREAMING_CACHE_MIB = 8


class Engine:
    """Owns the connections to one SQLite database file."""

    def __init__(
        self,
        path: Path,
        *,
        node_tag: str = "A",
        synchronous: str = "FULL",
        journal_mode: str = "WAL",
        page_size: int | None = None,
        cache_mib: int = 64,
    ) -> None:
        self.path = path
        self._cache_mib = cache_mib
        self.node_tag = node_tag
        self._synchronous = synchronous
        self._journal_mode = journal_mode
        self._write_lock = threading.RLock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._closed = False
        # A follower's copy of a group database takes changes from its write node
        # only (inside `replicating()`); any other write is refused with this reason.
        self.read_only_reason: str | None = None
        # Told after each commit that moved the etag (a write node wakes its followers'
        # waiting requests at once instead of polling).
        self._commit_listeners: list[Callable[[int], None]] = []
        try:
            self._writer = schema.connect(
                path,
                synchronous=synchronous,
                journal_mode=journal_mode,
                page_size=page_size,
                cache_mib=cache_mib,
            )
            schema.initialise(self._writer, uuid.uuid4().hex)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open database file {path}: {exc}") from exc
        meta = dict(self._writer.execute("SELECT key, value FROM meta").fetchall())
        self.database_id: str = meta["database_id"]
        self.last_etag: int = int(meta["last_etag"])

    def adopt_database_id(self, database_id: str) -> None:
        """Take another copy's database id: the members of a group are one database.

        (A backup chain names the database it belongs to; with one id, a member
        taking over a task continues the chain another member started.)
        """
        with self.write() as tx:
            tx.conn.execute("UPDATE meta SET value = ? WHERE key = 'database_id'", (database_id,))
        self.database_id = database_id

    @contextmanager
    def replicating(self) -> Iterator[None]:
        """Writes of this thread are a write node's changes being applied: always allowed."""
        self._local.replicating = True
        try:
            yield
        finally:
            self._local.replicating = False

    @contextmanager
    def write(self) -> Iterator[WriteTx]:
        """A write transaction; commits on success, rolls back (etags too) on error."""
        with self._write_lock:
            self._check_open()
            reason = self.read_only_reason
            if reason is not None and not getattr(self._local, "replicating", False):
                raise NotWriteNode(reason)
            conn = self._writer
            # A rollback that itself failed (the disk went away) left a transaction
            # open: end it now, or no write could ever start again.
            _rollback(conn)
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StorageError(f"cannot start a write on {self.path.name}: {exc}") from exc
            tx = WriteTx(self, conn)
            try:
                yield tx
                if tx.etag != tx.start_etag:
                    conn.execute(
                        "UPDATE meta SET value = ? WHERE key = 'last_etag'", (str(tx.etag),)
                    )
                conn.execute("COMMIT")
            except BaseException as exc:
                _rollback(conn)
                if isinstance(exc, sqlite3.Error):
                    raise write_failed(self.path, exc) from exc
                raise
            if tx.etag != tx.start_etag:
                self.last_etag = tx.etag
                for listener in list(self._commit_listeners):
                    listener(tx.etag)

    def add_commit_listener(self, listener: Callable[[int], None]) -> None:
        """Call `listener(last_etag)` after every commit that changed something (keep it quick)."""
        self._commit_listeners.append(listener)

    def remove_commit_listener(self, listener: Callable[[int], None]) -> None:
        with suppress(ValueError):
            self._commit_listeners.remove(listener)

    def reader(self) -> sqlite3.Connection:
        """This thread's read connection (autocommit; wrap reads in `read()` for a snapshot)."""
        self._check_open()
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = schema.connect(
                self.path,
                synchronous=self._synchronous,
                journal_mode=self._journal_mode,
                cache_mib=self._cache_mib,
            )
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees the same committed state."""
        conn = self.reader()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("COMMIT")

    def snapshot_connection(self) -> sqlite3.Connection:
        """A fresh private connection, for long streaming reads the caller closes.

        Its page cache is small: a streaming read visits each page once, so a large
        cache only filled up (a full backup of 2,000,000 documents peaked at 150 MB
        with 64 MiB, the most any rookdb operation may take).
        """
        self._check_open()
        return schema.connect(
            self.path,
            synchronous=self._synchronous,
            journal_mode=self._journal_mode,
            cache_mib=STREAMING_CACHE_MIB,
        )

    def checkpoint(self) -> None:
        with self._write_lock:
            self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            with self._readers_lock:
                for conn in self._readers:
                    conn.close()
                self._readers.clear()
            self._writer.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError(f"database file {self.path.name} is closed")


def write_failed(path: Path, exc: sqlite3.Error) -> StorageError:
    """The StorageError for a write SQLite refused, saying what to do about it."""
    # Python 3.11+ carries SQLite's result code; the low byte is the primary code.
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_FULL:
        return StorageError(
            f"disk full while writing database file {path}: nothing of this write was saved; "
            "free space on that disk and retry"
        )
    if code == sqlite3.SQLITE_IOERR:
        return StorageError(
            f"I/O error while writing database file {path} ({exc}): nothing of this write was "
            "saved; check that the disk has room (and no file size limit) and works, then retry"
        )
    return StorageError(f"write to {path.name} failed: {exc}")


def _rollback(conn: sqlite3.Connection) -> None:
    # SQLite rolls a transaction back by itself after some failures (a full disk
    # at COMMIT): a second ROLLBACK would raise "no transaction is active" and
    # hide the real error. A rollback that fails is left for the next write to retry.
    if conn.in_transaction:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
