"""Leases on task runs and drills: who holds one, until when, renewed while it goes on.

A running (or drilling) marker in a task's status names the node and the
process that hold it and the time its lease ends (APScheduler 4's claimed
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from rookdb.errors import TaskBusy
from rookdb.tasks.clock import format_time, parse_time

LEASE_SECONDS = 30.0
# Renewed this often, so two renewals can fail before the lease runs out.
RENEW_EVERY_SECONDS = LEASE_SECONDS / 3

# Who this process is, in every marker it writes.
PROCESS = f"{os.getpid()}-{secrets.token_hex(4)}"

Marker = dict[str, Any]
UpdateMarker = Callable[[Callable[[Marker | None], Marker | None]], None]


def _now() -> datetime:
    return datetime.now(UTC)


def claim(marker: Marker, node: str) -> Marker:
    """`marker` (what is running) with a fresh lease held by this process on `node`."""
    return {**marker, "node": node, "holder": PROCESS, "lease_until": _until()}


def _until() -> str:
    return str(format_time(_now() + timedelta(seconds=LEASE_SECONDS)))


def is_live(marker: Marker | None) -> bool:
    """True while the marker's lease has not run out (markers without a lease never are)."""
    if not marker or not marker.get("lease_until"):
        return False
    try:
        return parse_time(str(marker["lease_until"])) > _now()
    except ValueError:
        return False


def held_here(marker: Marker | None) -> bool:
    """True when this process holds the marker."""
    return bool(marker) and marker.get("holder") == PROCESS  # type: ignore[union-attr]


def check_free(marker: Marker | None, what: str) -> None:
    """TaskBusy when another live process holds `marker`."""
    if marker and is_live(marker) and not held_here(marker):
        raise TaskBusy(
            f"{what} is already going on node {marker.get('node')} "
            f"(since {marker.get('started_at') or marker.get('requested_at')}, another "
            f"process); wait for it to end"
        )


@contextmanager
def kept_alive(update: UpdateMarker) -> Iterator[None]:
    """Renew this process's lease on a marker until the block ends.

    `update(change)` applies `change(marker) -> marker` to the stored marker.
    """
    stop = threading.Event()

    def renew(marker: Marker | None) -> Marker | None:
        if marker is None or not held_here(marker):
            return marker  # ended, or taken over: not ours to extend
        return {**marker, "lease_until": _until()}

    def loop() -> None:
        while not stop.wait(RENEW_EVERY_SECONDS):
            try:
                update(renew)
            except Exception:  # a renewal that fails is retried at the next beat
                continue

    thread = threading.Thread(target=loop, name="lease-keeper", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
