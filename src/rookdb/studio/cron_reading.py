"""Cron expressions read aloud ("every day at 02:00") and their next fire times, for the task form.

Validation and fire times come from the tasks layer (`check_cron`,
`cron_next`); this module only turns a valid expression into words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rookdb.tasks.model import check_cron, check_timezone, cron_next

_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
_DAY_NAMES = {name[:3].lower(): i for i, name in enumerate(_DAYS)}
_MONTH_NAMES = {name[:3].lower(): i + 1 for i, name in enumerate(_MONTHS)}


@dataclass(frozen=True, slots=True)
class CronPreview:
    """What the form shows under a cron field."""

    valid: bool
    words: str = ""
    next: tuple[datetime, ...] = ()
    error: str = ""

    def to_json(self) -> dict[str, object]:
        """The JSON the form's script reads."""
        return {
            "valid": self.valid,
            "words": self.words,
            "next": [t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") for t in self.next],
            "error": self.error,
        }


def preview(expression: str, timezone: str, now: datetime, count: int = 3) -> CronPreview:
    """The words and the next `count` fire times of a cron read in `timezone`, or why not."""
    try:
        cron = check_cron(expression)
        zone = check_timezone(timezone or "UTC")
    except ValueError as exc:
        return CronPreview(valid=False, error=str(exc))
    times: list[datetime] = []
    after = now
    for _ in range(count):
        upcoming = cron_next(cron, zone, after)
        if upcoming is None:  # check_cron saw it fire; a None here would be croniter's limit
            break
        times.append(upcoming)
        after = upcoming
    words = describe(cron)
    if zone.key != "UTC":
        words += f" ({zone.key} time)"
    return CronPreview(valid=True, words=words, next=tuple(times))


def describe(expression: str) -> str:
    """A valid 5-field cron in plain words, e.g. '0 */6 * * *' -> 'every 6 hours, on the hour'."""
    minute, hour, dom, month, dow = expression.split()
    days = _day_words(dom, month, dow)
    time = _time_words(minute, hour)
    if time.startswith("at ") or time.startswith("at minute"):
        return f"{days or 'every day'} {time}"
    return f"{time}{', ' + days if days else ''}"


def _time_words(minute: str, hour: str) -> str:
    if minute == "*" and hour == "*":
        return "every minute"
    step_m = _step(minute)
    if step_m and hour == "*":
        return f"every {step_m} minutes"
    if minute.isdigit():
        m = int(minute)
        on = "on the hour" if m == 0 else f"at {m} minutes past"
        if hour == "*":
            return f"every hour, {on}"
        step_h = _step(hour)
        if step_h:
            return f"every {step_h} hours, {on}" if step_h > 1 else f"every hour, {on}"
        hours = _numbers(hour)
        if hours is not None:
            return "at " + _join([f"{h:02d}:{m:02d}" for h in hours])
        if "-" in hour and hour.replace("-", "").isdigit():
            start, end = (int(x) for x in hour.split("-"))
            return f"every hour from {start:02d}:{m:02d} to {end:02d}:{m:02d}"
    if step_m and hour.isdigit():
        return f"every {step_m} minutes from {int(hour):02d}:00 to {int(hour):02d}:59"
    return f"at minute {minute} of hour {hour}"


def _day_words(dom: str, month: str, dow: str) -> str:
    parts: list[str] = []
    if dow not in ("*", "?"):
        parts.append("on " + _named(dow, _DAY_NAMES, _DAYS, plural=True))
    if dom not in ("*", "?"):
        numbers = _numbers(dom)
        if numbers is not None:
            parts.append("on day " + _join([str(n) for n in numbers]) + " of the month")
        else:
            parts.append(f"on days {dom} of the month")
    if month != "*":
        month_names = [""] + _MONTHS
        if not parts:
            parts.append("every day")
        parts.append("in " + _named(month, _MONTH_NAMES, month_names, plural=False))
    return " ".join(parts)


def _named(field: str, names: dict[str, int], labels: list[str], *, plural: bool) -> str:
    # Day-of-week 7 is Sunday too; names like MON-FRI are accepted by cron.
    def label(token: str) -> str:
        value = names.get(token.lower()[:3]) if not token.isdigit() else int(token)
        if value is None:
            return token
        text = labels[value % 7] if labels is _DAYS else labels[value]
        return text + ("s" if plural else "")

    words = []
    for item in field.split(","):
        if "-" in item and "/" not in item:
            start, end = item.split("-", 1)
            words.append(f"{label(start).rstrip('s')} to {label(end).rstrip('s')}")
        elif "/" in item:
            return f"{field} (cron)"
        else:
            words.append(label(item))
    return _join(words)


def _step(field: str) -> int | None:
    if field.startswith("*/") and field[2:].isdigit():
        return int(field[2:])
    return None


def _numbers(field: str) -> list[int] | None:
    items = field.split(",")
    if all(i.isdigit() for i in items):
        return [int(i) for i in items]
    return None


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
