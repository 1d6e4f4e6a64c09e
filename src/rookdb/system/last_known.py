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
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Sequence
from typing import Any

from rookdb.errors import ClusterUnavailable
from rookdb.system.store import DatabaseRecord, Entry, SystemStore, Write

OUTBOX = "__outbox__"


class LastKnownStore(SystemStore):
    """`cluster` (etcd) with a local `copy`; status namespaces queue while etcd is away."""

    def __init__(
        self, cluster: SystemStore, copy: SystemStore, *, queued_namespaces: Sequence[str]
    ) -> None:
        self._cluster = cluster
        self._copy = copy
        self._queued = frozenset(queued_namespaces)
        self._lock = threading.RLock()
        self.stale = False  # the last read came from the copy

    # -- reads: etcd first, the copy when it does not answer ---------------------------
    def get(self, namespace: str, key: str) -> Entry | None:
        try:
            self.deliver()
            entry = self._cluster.get(namespace, key)
        except ClusterUnavailable:
            self.stale = True
            return self._copy.get(namespace, key)
        self.stale = False
        self._remember(namespace, key, entry)
        return entry

    def list(self, namespace: str, prefix: str = "") -> builtins.list[Entry]:
        try:
            self.deliver()
            entries = self._cluster.list(namespace, prefix)
        except ClusterUnavailable:
            self.stale = True
            return self._copy.list(namespace, prefix)
        self.stale = False
        with self._lock:
            known = {e.key for e in entries}
            for gone in self._copy.list(namespace, prefix):
                if gone.key not in known:
                    self._copy.delete(namespace, gone.key)
            for entry in entries:
                self._remember(namespace, entry.key, entry)
        return entries

    def get_database(self, name: str) -> DatabaseRecord | None:
        try:
            record = self._cluster.get_database(name)
        except ClusterUnavailable:
            self.stale = True
            return self._copy.get_database(name)
        self.stale = False
        return record

    def list_databases(self) -> builtins.list[DatabaseRecord]:
        try:
            records = self._cluster.list_databases()
        except ClusterUnavailable:
            self.stale = True
            return self._copy.list_databases()
        self.stale = False
        with self._lock:
            for record in records:
                if self._copy.get_database(record.name) is None:
                    self._copy.add_database(record)
        return records

    # -- cluster-wide writes: etcd or nothing -------------------------------------------
    def add_database(self, record: DatabaseRecord) -> None:
        self._cluster.add_database(record)
        self._copy.add_database(record)

    def remove_database(self, name: str) -> bool:
        removed = self._cluster.remove_database(name)
        self._copy.remove_database(name)
        return removed

    def commit(self, writes: Sequence[Write]) -> None:
        self._cluster.commit(writes)
        for write in writes:
            if write.value is None:
                self._copy.delete(write.namespace, write.key)
            else:
                self._copy.put(write.namespace, write.key, write.value)

    def delete(self, namespace: str, key: str) -> bool:
        deleted = self._cluster.delete(namespace, key)
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
            self.deliver()
            version = self._cluster.put(namespace, key, value, expected_version=expected_version)
        except ClusterUnavailable:
            if namespace not in self._queued:
                raise
            return self._queue(namespace, key, value, expected_version)
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
                self._copy.delete(OUTBOX, queued.key)
                sent += 1
            return sent

    def _remember(self, namespace: str, key: str, entry: Entry | None) -> None:
        with self._lock:
            if entry is None:
                self._copy.delete(namespace, key)
            else:
                self._copy.put(namespace, key, entry.value)

    def close(self) -> None:
        self._cluster.close()
        self._copy.close()
