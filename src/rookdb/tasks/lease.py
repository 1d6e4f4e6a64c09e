"""Leases on task runs and drills: who holds one, until when, renewed while it goes on.

A running (or drilling) marker in a task's status carries a `Lease`: the node
and the process that hold it and the time it ends (APScheduler 4's claimed
jobs). The holder renews the lease while the work goes on, so a marker whose
lease has run out belongs to a process that died: start-up recovery marks
only those as interrupted, never a live run of another process on the same
data dir (or, in a cluster, of another node). A second process asked to run
the same task meanwhile is told who holds it (`TaskBusy`), so a task never
runs twice at once. Leases use the wall clock, not the scheduler's clock:
they measure whether a process is alive, not when a task is due.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from rookdb.errors import TaskBusy
from rookdb.tasks.clock import format_time, parse_time

LEASE_SECONDS = 30.0
# Renewed this often, so two renewals can fail before the lease runs out.
RENEW_EVERY_SECONDS = LEASE_SECONDS / 3

# Who this process is, in every lease it takes.
PROCESS = f"{os.getpid()}-{secrets.token_hex(4)}"

# The keys a lease adds to its marker's JSON (flat, as markers were written before types).
_KEYS = ("node", "holder", "lease_until")


@dataclass(frozen=True, slots=True)
class Lease:
    """Who holds a run or a drill (node, process) and until when (ISO-8601 UTC)."""

    node: str | None
    holder: str | None
    until: str | None

    def to_json(self) -> dict[str, Any]:
        return {"node": self.node, "holder": self.holder, "lease_until": self.until}

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Lease | None:
        """The lease of a marker; None for markers written before leases (no lease keys)."""
        if not any(key in body for key in _KEYS):
            return None
        node, holder, until = (body.get(key) for key in _KEYS)
        return cls(
            node=node if isinstance(node, str) else None,
            holder=holder if isinstance(holder, str) else None,
            until=until if isinstance(until, str) else None,
        )

    @property
    def live(self) -> bool:
        """True until the lease runs out (a lease without an end never is live)."""
        if not self.until:
            return False
        try:
            return parse_time(self.until) > _now()
        except ValueError:
            return False

    @property
    def held_here(self) -> bool:
        """True when this process holds the lease."""
        return self.holder == PROCESS


class Leased(Protocol):
    """A marker that may carry a lease: a run going on, a drill queued or going on."""

    @property
    def lease(self) -> Lease | None: ...

    @property
    def since(self) -> str | None: ...


LeaseChange = Callable[[Lease | None], Lease | None]
# `update(change)` applies `change` to the lease of the marker stored in the status.
UpdateLease = Callable[[LeaseChange], None]


def _now() -> datetime:
    return datetime.now(UTC)


def _until() -> str:
    return str(format_time(_now() + timedelta(seconds=LEASE_SECONDS)))


def claim(node: str) -> Lease:
    """A fresh lease held by this process on `node`."""
    return Lease(node=node, holder=PROCESS, until=_until())


def renewed(lease: Lease | None) -> Lease | None:
    """`lease` extended when this process holds it; anything else as it is (ended, taken over)."""
    if lease is None or not lease.held_here:
        return lease
    return replace(lease, until=_until())


def is_live(marker: Leased | None) -> bool:
    """True while the marker's lease has not run out (markers without a lease never are)."""
    return marker is not None and marker.lease is not None and marker.lease.live


def held_here(marker: Leased | None) -> bool:
    """True when this process holds the marker."""
    return marker is not None and marker.lease is not None and marker.lease.held_here


def check_free(marker: Leased | None, what: str) -> None:
    """TaskBusy when another live process holds `marker`."""
    if marker is None or marker.lease is None or not is_live(marker) or held_here(marker):
        return
    raise TaskBusy(
        f"{what} is already going on node {marker.lease.node} "
        f"(since {marker.since}, another process); wait for it to end"
    )


@contextmanager
def kept_alive(update: UpdateLease) -> Iterator[None]:
    """Renew this process's lease on a marker until the block ends."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(RENEW_EVERY_SECONDS):
            try:
                update(renewed)
            except Exception:  # a renewal that fails is retried at the next beat
                continue

    thread = threading.Thread(target=loop, name="lease-keeper", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
