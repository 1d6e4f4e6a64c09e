"""Retries with exponential backoff, for retryable destination errors only."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from rookdb.errors import RookError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; ``sleep`` is injected so tests do not wait."""

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0
    # Jitter spreads retries of parallel uploads so they do not hit a recovering server at once.
    jitter: float = 0.2
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        base = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return base * (1 + random.uniform(-self.jitter, self.jitter)) if self.jitter else base


NO_RETRY = RetryPolicy(attempts=1)


def with_retry(
    action: Callable[[], T],
    policy: RetryPolicy | None = None,
    *,
    on_retry: Callable[[int, RookError], None] | None = None,
) -> T:
    """Run ``action``; on a retryable RookError wait and try again, up to ``policy.attempts``."""
    policy = policy or RetryPolicy()
    attempt = 1
    while True:
        try:
            return action()
        except RookError as exc:
            if not exc.retryable or attempt >= policy.attempts:
                raise
            if on_retry is not None:
                on_retry(attempt, exc)
            policy.sleep(policy.delay(attempt))
            attempt += 1
