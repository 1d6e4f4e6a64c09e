"""The cluster store as a node keeps using it when etcd has no quorum.

Wraps the etcd store with a copy on the node's own disk (a SQLite system store
in the data dir):

- Every read that etcd answers refreshes the copy; when etcd does not answer,
  reads come from the copy and `stale` says so (the last known state, which
  may be behind).
- Cluster-wide changes (databases, task definitions, keys) are refused with
  `ClusterUnavailable` (503 `cluster-unavailable`): nothing half-written.
- Task status is different: a task keeps running on its node without a
  leader, so its status writes land in the copy and in an *outbox* on the same
  disk (it survives a restart of the node), and are delivered to etcd in order
  once it answers again. A run may then be recorded twice; never lost.

While the node's etcd watch is in sync, etcd's answers are kept in memory
until their namespace changes (`WatchedReads`): most reads never leave the node.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from rookdb.errors import ClusterUnavailable, ConcurrencyConflict, StorageError
from rookdb.system.store import DatabaseRecord, Entry, SystemStore, Write
from rookdb.system.watched_reads import DATABASES, WatchedReads

log = logging.getLogger(__name__)
OUTBOX = "__outbox__"
# After etcd failed to answer, how long it is taken as away before asking it again.
RETRY_AFTER_SECONDS = 3.0
T = TypeVar("T")


class LastKnownStore(SystemStore):
    """`cluster` (etcd) with a local `copy`; status namespaces queue while etcd is away.

    Once etcd failed to answer, it is taken as away for RETRY_AFTER_SECONDS: reads
    come straight from the copy and changes are refused at once, so no request
    waits for another timeout. `check()` (a node calls it every second) notices
    etcd's return sooner and delivers the queue.
    """

    def __init__(
        self,
        cluster: SystemStore,
        copy: SystemStore,
        *,
        queued_namespaces: Sequence[str],
        reads: WatchedReads | None = None,
    ) -> None:
        self._cluster = cluster
        # Without a watch (tests of this class alone) nothing is kept: never in sync.
        self.reads = reads or WatchedReads()
        self._copy = copy
        self._queued = frozenset(queued_namespaces)
        self._lock = threading.RLock()
        self._away_until = 0.0
        self.stale = False  # the last read came from the copy
        self._copy_error: str | None = None  # why the copy could not be written, last time

    # -- is etcd there -------------------------------------------------------------------
    @property
    def away(self) -> bool:
        """Whether etcd failed to answer recently (reads then come from the copy)."""
        return time.monotonic() < self._away_until

    def _lost(self) -> None:
        self._away_until = time.monotonic() + RETRY_AFTER_SECONDS
        self.stale = True

    def _refuse_while_away(self) -> None:
        if self.away:
            raise ClusterUnavailable(
                "the cluster has no leader (etcd does not answer with a quorum): cluster-wide "
                "changes are refused until it does; reads show this node's last known copy"
            )

    def check(self) -> bool:
        """Ask etcd (a read that needs its quorum); when it answers, deliver the queue."""
        try:
            self._cluster.get(OUTBOX, "probe")
            self._away_until = 0.0
            self.deliver()
        except ClusterUnavailable:
            self._lost()
            return False
        return True

    def _read(self, from_cluster: Callable[[], T], from_copy: Callable[[], T]) -> T:
        if self.away:
            self.stale = True
            return from_copy()
        try:
            self.deliver()
            value = from_cluster()
        except ClusterUnavailable:
            self._lost()
            return from_copy()
        self.stale = False
        return value

    # -- reads: etcd first, the copy when it does not answer ---------------------------
    def get(self, namespace: str, key: str) -> Entry | None:
        def from_cluster() -> Entry | None:
            entry = self._cluster.get(namespace, key)
            self._remember(namespace, key, entry)
            return entry

        return self._read(
            lambda: self.reads.read(namespace, ("get", key), from_cluster),
            lambda: self._copy.get(namespace, key),
        )

    def list(self, namespace: str, prefix: str = "") -> builtins.list[Entry]:
        def from_cluster() -> builtins.list[Entry]:
            entries = self._cluster.list(namespace, prefix)
            with self._mirroring():
                known = {e.key for e in entries}
                for gone in self._copy.list(namespace, prefix):
                    if gone.key not in known:
                        self._copy.delete(namespace, gone.key)
                for entry in entries:
                    self._remember(namespace, entry.key, entry)
            return entries

        return self._read(
            lambda: self.reads.read(namespace, ("list", prefix), from_cluster),
            lambda: self._copy.list(namespace, prefix),
        )

    def get_database(self, name: str) -> DatabaseRecord | None:
        return self._read(
            lambda: self.reads.read(
                DATABASES, ("get", name.lower()), lambda: self._cluster.get_database(name)
            ),
            lambda: self._copy.get_database(name),
        )

    def list_databases(self) -> builtins.list[DatabaseRecord]:
        def from_cluster() -> builtins.list[DatabaseRecord]:
            records = self._cluster.list_databases()
            with self._mirroring():
                names = {r.name.lower() for r in records}
                for gone in self._copy.list_databases():
                    if gone.name.lower() not in names:
                        self._copy.remove_database(gone.name)
                for record in records:
                    if self._copy.get_database(record.name) is None:
                        self._copy.add_database(record)
            return records

        return self._read(
            lambda: self.reads.read(DATABASES, "list", from_cluster), self._copy.list_databases
        )

    # -- cluster-wide writes: etcd or nothing -------------------------------------------
    def add_database(self, record: DatabaseRecord) -> None:
        self._refuse_while_away()
        self._cluster.add_database(record)
        self.reads.changed([DATABASES])
        with self._mirroring():
            # A read on another thread may have copied it already, between the two calls.
            if self._copy.get_database(record.name) is None:
                self._copy.add_database(record)

    def remove_database(self, name: str) -> bool:
        self._refuse_while_away()
        removed = self._cluster.remove_database(name)
        self.reads.changed([DATABASES])
        with self._mirroring():
            self._copy.remove_database(name)
        return removed

    def replace_database(self, expected: DatabaseRecord, new: DatabaseRecord) -> None:
        self._refuse_while_away()
        try:
            self._cluster.replace_database(expected, new)
        finally:
            # A refused compare-and-set means ours was old: read it afresh.
            self.reads.changed([DATABASES])
        with self._mirroring():
            self._copy.remove_database(expected.name)
            self._copy.add_database(new)

    def commit(self, writes: Sequence[Write]) -> None:
        self._refuse_while_away()
        try:
            self._cluster.commit(writes)
        finally:
            self.reads.changed(w.namespace for w in writes)
        with self._mirroring():
            for write in writes:
                if write.value is None:
                    self._copy.delete(write.namespace, write.key)
                else:
                    self._copy.put(write.namespace, write.key, write.value)

    def delete(self, namespace: str, key: str) -> bool:
        self._refuse_while_away()
        deleted = self._cluster.delete(namespace, key)
        self.reads.changed([namespace])
        with self._mirroring():
            self._copy.delete(namespace, key)
        return deleted

    # -- puts: status may wait in the outbox ---------------------------------------------
    def put(
        self,
        namespace: str,
        key: str,
        value: dict[str, Any],
        *,
        expected_version: int | None = None,
    ) -> int:
        try:
            self._refuse_while_away()
            self.deliver()
            version = self._cluster.put(namespace, key, value, expected_version=expected_version)
        except ConcurrencyConflict:
            self.reads.changed([namespace])
            raise
        except ClusterUnavailable:
            if not self.away:
                self._lost()
            if namespace not in self._queued:
                raise
            return self._queue(namespace, key, value, expected_version)
        self.reads.changed([namespace])
        self._remember(namespace, key, Entry(namespace, key, value, version))
        return version

    def _queue(
        self, namespace: str, key: str, value: dict[str, Any], expected_version: int | None
    ) -> int:
        with self._lock:
            # The copy keeps the versions consistent for this node's own compare-and-set.
            version = self._copy.put(namespace, key, value, expected_version=expected_version)
            waiting = self._copy.list(OUTBOX)
            sequence = int(waiting[-1].key) + 1 if waiting else 0
            body = {"ns": namespace, "key": key, "value": value}
            self._copy.put(OUTBOX, f"{sequence:012d}", body)
            self.reads.changed([namespace])
            self.stale = True
            return version

    def pending(self) -> int:
        """How many status writes wait for etcd."""
        return len(self._copy.list(OUTBOX))

    def deliver(self) -> int:
        """Send queued writes to etcd in order; how many went (ClusterUnavailable stops it)."""
        with self._lock:
            sent = 0
            for queued in self._copy.list(OUTBOX):
                body = queued.value
                # Only this node writes the status of a task it runs: the newest wins.
                self._cluster.put(body["ns"], body["key"], body["value"])
                self.reads.changed([body["ns"]])
                self._copy.delete(OUTBOX, queued.key)
                sent += 1
            return sent

    def _remember(self, namespace: str, key: str, entry: Entry | None) -> None:
        # Reads are frequent and mostly find what the copy has: write (and fsync) the
        # copy only when the value changed.
        with self._mirroring():
            known = self._copy.get(namespace, key)
            if entry is None:
                if known is not None:
                    self._copy.delete(namespace, key)
            elif known is None or known.value != entry.value:
                self._copy.put(namespace, key, entry.value)

    @contextlib.contextmanager
    def _mirroring(self) -> Iterator[None]:
        """Bring the copy in line with what etcd holds; a copy that cannot be written is
        only older (etcd has the change): never an error for the one who changed it."""
        with self._lock:
            try:
                yield
            except StorageError as exc:
                if exc.message != self._copy_error:
                    log.warning("the last known copy of the cluster state: %s", exc.message)
                self._copy_error = exc.message
            else:
                self._copy_error = None

    def close(self) -> None:
        self._cluster.close()
        self._copy.close()
