"""Injected time: the scheduler and retention never call `datetime.now()` themselves."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where the tasks layer reads the current time (always timezone-aware UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        """The current time in UTC."""
        return datetime.now(UTC)


class OffsetClock:
    """The wall clock shifted by a fixed amount (end-to-end tests reach a cron minute fast)."""

    def __init__(self, offset_seconds: float) -> None:
        self.offset = timedelta(seconds=offset_seconds)

    def now(self) -> datetime:
        """The shifted current time in UTC."""
        return datetime.now(UTC) + self.offset


# Test hook: `rookdb serve` reads it so an end-to-end test can sit just before a
# cron minute instead of waiting up to a minute of real time.
CLOCK_OFFSET_ENV = "ROOKDB_CLOCK_OFFSET_SECONDS"


def clock_from_environment() -> Clock:
    """The real clock, shifted by $ROOKDB_CLOCK_OFFSET_SECONDS when set (tests only)."""
    offset = os.environ.get(CLOCK_OFFSET_ENV)
    return OffsetClock(float(offset)) if offset else SystemClock()


class ManualClock:
    """A clock that only moves when a test moves it."""

    def __init__(self, start: datetime | str) -> None:
        self._now = parse_time(start) if isinstance(start, str) else _aware(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The time the test set."""
        with self._lock:
            return self._now

    def set(self, when: datetime | str) -> None:
        """Jump to an absolute time."""
        with self._lock:
            self._now = parse_time(when) if isinstance(when, str) else _aware(when)

    def advance(self, **delta: float) -> datetime:
        """Move forward, e.g. `advance(hours=6)`; returns the new time."""
        with self._lock:
            self._now += timedelta(**delta)
            return self._now


def parse_time(text: str) -> datetime:
    """An ISO-8601 time; naive times are taken as UTC."""
    return _aware(datetime.fromisoformat(text.replace("Z", "+00:00")))


def format_time(when: datetime | None) -> str | None:
    """The status/JSON form of a time: UTC, seconds precision, trailing Z."""
    if when is None:
        return None
    return _aware(when).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _aware(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
