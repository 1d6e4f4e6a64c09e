"""The task form reads crons aloud and lists their next runs (pure, no browser)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rookdb.studio.cron_reading import describe, preview


@pytest.mark.parametrize(
    ("cron", "words"),
    [
        ("0 2 * * *", "every day at 02:00"),
        ("0 */6 * * *", "every 6 hours, on the hour"),
        ("*/15 * * * *", "every 15 minutes"),
        ("30 1 * * 1-5", "on Monday to Friday at 01:30"),
        ("0 3 1 * *", "on day 1 of the month at 03:00"),
        ("0 0 * * 0", "on Sundays at 00:00"),
        ("5 * * * *", "every hour, at 5 minutes past"),
        ("* * * * *", "every minute"),
        ("0 9,17 * * mon,wed", "on Mondays and Wednesdays at 09:00 and 17:00"),
        ("0 4 * 1 *", "every day in January at 04:00"),
        ("0 9-17 * * *", "every hour from 09:00 to 17:00"),
    ],
)
def test_common_crons_read_as_plain_words(cron: str, words: str) -> None:
    assert describe(cron) == words


def test_preview_lists_the_next_three_runs_in_the_task_time_zone() -> None:
    now = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)
    shown = preview("0 2 * * *", "Europe/Paris", now).to_json()
    assert shown["valid"] is True
    assert shown["words"] == "every day at 02:00 (Europe/Paris time)"
    # 02:00 in Paris is 01:00 UTC in winter: today's has passed, so tomorrow's comes first.
    assert shown["next"] == [
        "2026-11-23T01:00:00Z",
        "2026-11-24T01:00:00Z",
        "2026-11-25T01:00:00Z",
    ]


@pytest.mark.parametrize(
    ("cron", "zone", "reason"),
    [
        ("0 2 * *", "UTC", "5 fields"),
        ("0 25 * * *", "UTC", "not a valid cron"),
        ("0 2 * * *", "Mars/Olympus", "unknown time zone"),
    ],
)
def test_preview_says_why_a_cron_is_refused(cron: str, zone: str, reason: str) -> None:
    shown = preview(cron, zone, datetime(2026, 11, 22, tzinfo=UTC)).to_json()
    assert shown["valid"] is False
    assert reason in str(shown["error"])
    assert shown["next"] == []
