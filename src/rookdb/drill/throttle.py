"""Keeping drills cheap for the server: one at a time, in a low-priority thread.

A server has one `DrillWorker`: a single thread, so drills queue instead of
running side by side, and on Linux that thread lowers its own scheduling
priority (a thread is its own task there, so ``setpriority`` on its id
leaves the request threads and backup runs at normal priority). Where that
is not possible the drill still runs, one at a time, at normal priority.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
DRILL_NICENESS = 10


def lower_thread_priority(niceness: int = DRILL_NICENESS) -> bool:
    """Make the calling thread yield the CPU to others (Linux); whether it worked."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        tid = threading.get_native_id()
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, max(current, niceness))
    except OSError:
        return False
    return True


class DrillWorker:
    """Runs drills one after another in one low-priority thread."""

    def __init__(self) -> None:
        self.niced = False
        self._executor = ThreadPoolExecutor(
            1, thread_name_prefix="restore-drill", initializer=self._init_thread
        )

    def _init_thread(self) -> None:
        self.niced = lower_thread_priority()

    def submit(self, work: Callable[[], T]) -> Future[T]:
        """Queue a drill; it starts when the one before it has finished."""
        return self._executor.submit(work)

    def shutdown(self) -> None:
        """Wait for the drill going on; queued ones that have not started are dropped."""
        with contextlib.suppress(RuntimeError):
            self._executor.shutdown(wait=True, cancel_futures=True)
