"""The incident state machine: one alert per incident, repeats counted, reminders spaced, recovery.

Pure (`rookdb.alerts.incidents.step`) with exact times; the property test
plays random histories and checks what a person on the receiving end would
see against a plain model of it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rookdb.alerts.events import Health, Observation
from rookdb.alerts.incidents import Incident, Notification, dismiss, step
from rookdb.tasks.clock import parse_time

START = parse_time("2026-11-22T10:00:00Z")
HOUR = timedelta(hours=1)


def seen(health: Health, occurrence: str | None = None) -> Observation:
    return Observation(
        "shop", "t-1", "Nightly", "backup-failed", health, occurrence=occurrence, summary="failed"
    )


class Player:
    """Feeds observations to `step` and keeps what it said, like the monitor does."""

    def __init__(self, every: timedelta | None = HOUR) -> None:
        self.current: Incident | None = None
        self.said: list[Notification] = []
        self.closed: list[Incident] = []
        self.every = every
        self.ids = 0

    def look(self, observation: Observation, now: datetime) -> None:
        self.ids += 1
        result = step(
            self.current, observation, now, reminder_every=self.every, new_id=f"i{self.ids}"
        )
        self.current = result.current
        if result.notify:
            self.said.append(result.notify)
        if result.closed:
            self.closed.append(result.closed)

    def phases(self) -> list[str]:
        return [n.phase for n in self.said]


def test_a_task_failing_every_minute_for_an_hour_sends_one_alert_and_the_reminders() -> None:
    player = Player(every=timedelta(minutes=20))
    for minute in range(60):
        now = START + timedelta(minutes=minute)
        player.look(seen("failing", occurrence=now.isoformat()), now)
    assert player.phases() == ["opened", "reminder", "reminder"]
    assert player.current is not None and player.current.occurrences == 60
    assert player.current.repeats == 59
    player.look(seen("healthy"), START + HOUR)
    assert player.phases()[-1] == "recovered"
    assert player.current is None
    [closed] = player.closed
    assert closed.state == "recovered" and closed.closed_at == "2026-11-22T11:00:00Z"
    assert closed.occurrences == 60


def test_without_a_reminder_interval_an_open_incident_stays_quiet() -> None:
    player = Player(every=None)
    for hour in range(48):
        player.look(seen("failing", occurrence=str(hour)), START + hour * HOUR)
    assert player.phases() == ["opened"]


def test_the_same_failure_seen_again_is_not_a_repeat() -> None:
    player = Player()
    for minute in range(10):
        player.look(seen("failing", occurrence="run-1"), START + timedelta(minutes=minute))
    assert player.current is not None and player.current.occurrences == 1


def test_unknown_changes_nothing_and_healthy_without_an_incident_says_nothing() -> None:
    player = Player()
    player.look(seen("healthy"), START)
    player.look(seen("unknown"), START)
    assert player.said == [] and player.current is None
    player.look(seen("failing", "a"), START)
    before = player.current
    player.look(seen("unknown"), START + 5 * HOUR)
    assert player.current == before


def test_a_dismissed_incident_sends_no_reminder_but_its_recovery_is_announced() -> None:
    player = Player(every=HOUR)
    player.look(seen("failing", "a"), START)
    assert player.current is not None
    player.current = dismiss(player.current, START + timedelta(minutes=5))
    assert player.current.state == "dismissed"
    for hour in range(1, 6):
        player.look(seen("failing", str(hour)), START + hour * HOUR)
    assert player.phases() == ["opened"]
    assert player.current.state == "dismissed" and player.current.occurrences == 6
    player.look(seen("healthy"), START + 7 * HOUR)
    assert player.phases() == ["opened", "recovered"]
    # The next failure is a new incident, announced again.
    player.look(seen("failing", "z"), START + 8 * HOUR)
    assert player.phases() == ["opened", "recovered", "opened"]
    assert player.current is not None and player.current.id != player.closed[0].id


def test_an_incident_survives_its_json() -> None:
    player = Player()
    player.look(seen("failing", "a"), START)
    assert player.current is not None
    assert Incident.from_json(player.current.to_json()) == player.current
    note = player.said[0]
    assert Notification.from_json(note.to_json()) == note


steps = st.lists(
    st.tuples(
        st.sampled_from(["failing", "healthy", "unknown", "dismiss"]),
        st.integers(min_value=0, max_value=3),  # occurrence: few values, so repeats recur
        st.integers(min_value=0, max_value=90),  # minutes since the previous look
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(steps, st.sampled_from([None, 15, 60]))
def test_random_histories_match_a_plain_model(
    history: list[tuple[str, int, int]], every_minutes: int | None
) -> None:
    every = timedelta(minutes=every_minutes) if every_minutes else None
    player = Player(every)
    now = START
    open_ = False  # the model: is an incident open, and what has it seen
    occurrences: list[int] = []
    expected_opened = expected_recovered = 0
    for action, occurrence, minutes in history:
        now += timedelta(minutes=minutes)
        if action == "dismiss":
            if player.current is not None:
                player.current = dismiss(player.current, now)
            continue
        health: Health = action  # type: ignore[assignment]
        player.look(seen(health, str(occurrence)), now)
        if health == "failing":
            if not open_:
                open_, occurrences = True, [occurrence]
                expected_opened += 1
            elif occurrence != occurrences[-1]:
                occurrences.append(occurrence)
        elif health == "healthy" and open_:
            open_ = False
            expected_recovered += 1
        # Invariants after every look.
        assert (player.current is not None) == open_
        if player.current is not None:
            assert player.current.occurrences == len(occurrences)
    phases = player.phases()
    assert phases.count("opened") == expected_opened
    assert phases.count("recovered") == expected_recovered == len(player.closed)
    # Reminders: only for open (not dismissed) incidents, never closer than the interval.
    last_told: dict[str, datetime] = {}
    for note in player.said:
        told = parse_time(note.at)
        if note.phase == "reminder":
            assert every is not None
            assert note.incident.state == "open"
            assert told - last_told[note.incident.id] >= every
        last_told[note.incident.id] = told
    # Each incident: opened first, recovered last, at most once each.
    by_incident: dict[str, list[str]] = {}
    for note in player.said:
        by_incident.setdefault(note.incident.id, []).append(note.phase)
    for said in by_incident.values():
        assert said[0] == "opened" and said.count("opened") == 1
        assert said.count("recovered") <= 1
        if "recovered" in said:
            assert said[-1] == "recovered"
