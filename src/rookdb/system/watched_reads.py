"""Reads of the cluster state answered from memory while a watch keeps them fresh.

A node reads the same few keys of the cluster state for nearly every request
and every background tick (the database record to route a write, the API key
to check it, the node list to find a write node, the task list for the
scheduler). Asked of etcd each time, a single document write cost some twenty
etcd round trips across the cluster. Here a read's answer is kept until the
namespace it came from changes, which the node learns in two ways:

- its own writes say so as soon as etcd has them (read-your-writes);
- everyone else's arrive over the node's etcd watch, milliseconds later.

Memory answers only while the watch is in sync: when its stream breaks, every
kept answer is dropped and reads go to etcd again until the watch is back
(events it missed meanwhile are then replayed, and each drops its namespace's
answers again). An answer read from etcd while its namespace changed is never
kept (the generation check in `read`), so a kept answer is never older than
the last change the node was told of.

A kept answer is also dropped once it is MAX_AGE_SECONDS old: an etcd member
cut off from its quorum keeps a watch stream open and silent, and the node
would otherwise never learn that it missed changes (its other requests fail
over to a member that answers; the watch notices only when its stream breaks).
So however a watch goes wrong, an answer is at most a few seconds behind.

Only reads that can be a moment behind another node's write go through here:
every decision that must not act on old state (fencing, write-node changes,
task claims) is an etcd compare-and-set, which sees the true state.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

DATABASES = "\x00databases"  # the namespace of database records
NODES = "\x00nodes"  # the namespace of node registrations
MAX_AGE_SECONDS = 5.0


class WatchedReads:
    """Answers kept per namespace; dropped when the namespace changes or the watch breaks."""

    def __init__(
        self,
        *,
        max_age: float = MAX_AGE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_age = max_age
        self._clock = clock
        self._lock = threading.Lock()
        self._answers: dict[tuple[str, Hashable], tuple[float, Any]] = {}
        self._generations: dict[str, int] = {}
        self._in_sync = False
        self._epoch = 0  # grows whenever the watch goes in or out of sync
        self.hits = 0
        self.misses = 0

    @property
    def in_sync(self) -> bool:
        return self._in_sync

    def read(self, namespace: str, key: Hashable, load: Callable[[], T]) -> T:
        """The kept answer to (namespace, key), else `load()`'s (kept if nothing changed)."""
        slot = (namespace, key)
        with self._lock:
            kept = self._answers.get(slot) if self._in_sync else None
            if kept is not None and self._clock() - kept[0] < self._max_age:
                self.hits += 1
                # Callers may change what they get: each gets its own copy.
                return copy.deepcopy(kept[1])
            self.misses += 1
            seen = (self._in_sync, self._epoch, self._generations.get(namespace, 0))
            asked_at = self._clock()
        value = load()
        with self._lock:
            now = (self._in_sync, self._epoch, self._generations.get(namespace, 0))
            if seen[0] and now == seen:
                self._answers[slot] = (asked_at, copy.deepcopy(value))
        return value

    def changed(self, namespaces: Iterable[str]) -> None:
        """These namespaces changed: their kept answers are gone."""
        wanted = set(namespaces)
        if not wanted:
            return
        with self._lock:
            for namespace in wanted:
                self._generations[namespace] = self._generations.get(namespace, 0) + 1
            for slot in [s for s in self._answers if s[0] in wanted]:
                del self._answers[slot]

    def set_in_sync(self, in_sync: bool) -> None:
        """The watch (re)started or broke: either way nothing kept so far is trusted."""
        with self._lock:
            self._in_sync = in_sync
            self._epoch += 1
            self._answers.clear()
