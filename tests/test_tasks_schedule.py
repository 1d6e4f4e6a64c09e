"""Scheduling rules as pure functions: exact times, no sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rookdb.tasks.clock import parse_time
from rookdb.tasks.model import parse_task
from rookdb.tasks.schedule import ScheduleState, claim, due, next_backup, overdue

DEST = [{"kind": "local", "path": "/backups"}]


def task(full: str | None = None, incremental: str | None = None, tz: str = "UTC"):
    return parse_task(
        {
            "full_backup_cron": full,
            "incremental_backup_cron": incremental,
            "timezone": tz,
            "destinations": DEST,
        }
    )


def state(anchor: str, *, has_chain: bool = True, last_success: str | None = None):
    at = parse_time(anchor)
    return ScheduleState(at, at, has_chain, at, parse_time(last_success) if last_success else None)


def t(text: str) -> datetime:
    return parse_time(text)


def test_nothing_due_before_the_first_fire_time() -> None:
    s = state("2026-11-22T10:00:00Z", has_chain=False)
    assert due(task(full="0 2 * * *"), s, t("2026-11-23T01:59:59Z")) is None
    assert due(task(full="0 2 * * *"), s, t("2026-11-23T02:00:00Z")) == "full"


def test_only_incremental_cron_first_run_is_full_then_incrementals() -> None:
    tk = task(incremental="0 */6 * * *")
    s = state("2026-11-22T10:00:00Z", has_chain=False)
    assert next_backup(tk, s) is not None
    assert next_backup(tk, s).kind == "full"  # type: ignore[union-attr]
    assert due(tk, s, t("2026-11-22T12:00:00Z")) == "full"
    s = claim(tk, s, t("2026-11-22T12:00:00Z"))
    chained = ScheduleState(s.full_anchor, s.incremental_anchor, True, s.since)
    assert due(tk, chained, t("2026-11-22T17:59:00Z")) is None
    assert due(tk, chained, t("2026-11-22T18:00:00Z")) == "incremental"
    assert next_backup(tk, chained).kind == "incremental"  # type: ignore[union-attr]


def test_full_and_incremental_due_the_same_minute_run_one_full() -> None:
    tk = task(full="0 0 * * *", incremental="0 */6 * * *")
    s = state("2026-11-22T19:00:00Z")
    now = t("2026-11-23T00:00:00Z")
    assert due(tk, s, now) == "full"
    nb = next_backup(tk, s)
    assert nb is not None and nb.kind == "full" and nb.at == now
    after = claim(tk, s, now)
    assert due(tk, after, now) is None  # the incremental was consumed by the full
    assert due(tk, after, t("2026-11-23T06:00:00Z")) == "incremental"


def test_missed_fire_times_run_once() -> None:
    tk = task(incremental="*/10 * * * *")
    s = state("2026-11-22T00:00:00Z")
    now = t("2026-11-22T05:03:00Z")  # 30 fire times passed while down
    assert due(tk, s, now) == "incremental"
    after = claim(tk, s, now)
    assert due(tk, after, now) is None
    assert due(tk, after, t("2026-11-22T05:09:59Z")) is None
    assert due(tk, after, t("2026-11-22T05:10:00Z")) == "incremental"


def test_a_failed_run_waits_for_the_next_fire_time() -> None:
    tk = task(full="0 2 * * *")
    s = state("2026-11-21T03:00:00Z")
    now = t("2026-11-22T02:00:00Z")
    after = claim(tk, s, now)  # the run fails: nothing else changes
    for minutes in (1, 60, 60 * 23):
        assert due(tk, after, now + timedelta(minutes=minutes)) is None
    assert due(tk, after, t("2026-11-23T02:00:00Z")) == "full"


def test_a_fire_time_during_a_run_is_not_lost() -> None:
    tk = task(incremental="*/5 * * * *")
    s = claim(tk, state("2026-11-22T00:00:00Z"), t("2026-11-22T00:05:00Z"))
    # The run takes 7 minutes: 00:10 passed meanwhile and is still due at the end.
    assert due(tk, s, t("2026-11-22T00:12:00Z")) == "incremental"


def test_timezone_is_honoured() -> None:
    tk = task(full="0 2 * * *", tz="Europe/Paris")
    s = state("2026-11-22T10:00:00Z")
    nb = next_backup(tk, s)
    assert nb is not None and nb.at.astimezone(UTC) == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def test_overdue_when_the_last_success_is_older_than_the_schedule_allows() -> None:
    tk = task(full="0 2 * * *")
    fresh = state("2026-11-20T10:00:00Z")
    # The first fire time was 2026-11-21 02:00; 15 minutes of grace.
    assert not overdue(tk, fresh, t("2026-11-21T02:10:00Z"))
    assert overdue(tk, fresh, t("2026-11-21T02:20:00Z"))
    ok = state("2026-11-20T10:00:00Z", last_success="2026-11-21T02:00:05Z")
    assert not overdue(tk, ok, t("2026-11-21T23:00:00Z"))
    assert overdue(tk, ok, t("2026-11-22T03:00:00Z"))


def test_not_overdue_before_the_first_fire_time_since_creation() -> None:
    tk = task(full="0 2 * * *")
    assert not overdue(tk, state("2026-11-22T10:00:00Z"), t("2026-11-22T23:00:00Z"))
