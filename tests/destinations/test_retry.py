"""Retries with exponential backoff, for retryable errors only."""

import pytest

from rookdb.destinations import RetryPolicy, with_retry
from rookdb.errors import DestinationAccessDenied, DestinationUnavailable


def test_retries_transient_errors_with_growing_delays() -> None:
    slept: list[float] = []
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 4:
            raise DestinationUnavailable("connection reset")
        return "ok"

    policy = RetryPolicy(attempts=5, base_delay=1, max_delay=3, jitter=0, sleep=slept.append)
    assert with_retry(flaky, policy) == "ok"
    assert slept == [1, 2, 3]


def test_gives_up_after_the_last_attempt() -> None:
    slept: list[float] = []
    policy = RetryPolicy(attempts=3, sleep=slept.append)

    def down() -> None:
        raise DestinationUnavailable("still down")

    with pytest.raises(DestinationUnavailable, match="still down"):
        with_retry(down, policy)
    assert len(slept) == 2


def test_permanent_errors_fail_at_once() -> None:
    slept: list[float] = []

    def denied() -> None:
        raise DestinationAccessDenied("bad key")

    with pytest.raises(DestinationAccessDenied):
        with_retry(denied, RetryPolicy(sleep=slept.append))
    assert slept == []


def test_jitter_stays_within_bounds() -> None:
    policy = RetryPolicy(base_delay=10, max_delay=100, jitter=0.2)
    for attempt in range(1, 6):
        base = min(100, 10 * 2 ** (attempt - 1))
        assert base * 0.8 <= policy.delay(attempt) <= base * 1.2
