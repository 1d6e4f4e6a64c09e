"""What a backup task is: the validated definition (the task JSON of DESIGN.md).

Input is checked here, at the edge: unknown fields, bad crons, bad time
zones, no schedule, no destination all become `InvalidInput` naming the field.
Secrets (the encryption key, destination credentials) are stored but never
rendered: `public_json()` is the only form that leaves the process.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterError, croniter
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from rookdb.errors import InvalidInput
from rookdb.tasks.upload import DestinationConfig, parse_destination, public_config, reveal

BackupKind = Literal["full", "incremental"]
BackupType = Literal["backup", "snapshot"]

# Fields the server owns: accepted back on PUT (GET → edit → PUT works), never taken from input.
READ_ONLY_FIELDS = frozenset({"id", "created_at", "has_encryption_key"})

_LABELS = {
    "local": ("Local", "path"),
    "s3": ("S3", "bucket"),
    "azure": ("Azure", "container"),
    "gcs": ("Google Cloud", "bucket"),
    "glacier": ("Glacier", "vault"),
    "ftp": ("FTP", "host"),
}


# Whether a cron fires at all does not depend on when one looks: a 5-field cron
# that fires does so at least every 8 years (29 February around 2100), well
# inside the 50 years croniter searches from this fixed point.
_FIRES_FROM = datetime(2000, 1, 1, tzinfo=UTC)
# Pydantic context of a task read back from the store (see `load_task`).
_STORED = {"stored": True}


def check_cron(expression: str) -> str:
    """A standard 5-field cron expression that fires, or ValueError saying why not."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(
            f"a cron expression has 5 fields (minute hour day month weekday), got {len(fields)}"
        )
    cron = " ".join(fields)
    if not croniter.is_valid(cron):
        raise ValueError(f"{expression!r} is not a valid cron expression")
    if cron_next(cron, ZoneInfo("UTC"), _FIRES_FROM) is None:
        raise ValueError(
            f"{cron!r} never fires: no date has that day in that month (such as 31 February)"
        )
    return cron


def cron_problem(expression: str | None) -> str | None:
    """Why a cron cannot schedule anything, or None when it is fine (or not set)."""
    if not expression:
        return None
    try:
        check_cron(expression)
    except ValueError as exc:
        return str(exc)
    return None


def check_timezone(name: str) -> ZoneInfo:
    """An IANA time zone such as 'UTC' or 'Europe/Paris', or ValueError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as 'UTC')") from exc


NAME_MAX_LENGTH = 200


class Retention(BaseModel):
    """Which old chains to delete after a successful full backup (never the newest one)."""

    model_config = ConfigDict(extra="forbid")

    # Bounded so that a value always fits the store (and no one keeps 10**6 chains).
    keep_full_chains: int | None = Field(default=None, ge=1, le=100_000)
    max_age_days: float | None = Field(default=None, gt=0, le=1_000_000)


class DrillConfig(BaseModel):
    """When a task proves its newest chain restores, and from which of its destinations."""

    model_config = ConfigDict(extra="forbid")

    after_full: bool = True  # drill after each successful full backup
    cron: str | None = None  # and/or on its own schedule (read in the task's time zone)
    destination: int = Field(default=0, ge=0)  # index into the task's destinations

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _valid_cron(value, info)


class BackupTask(BaseModel):
    """A backup task definition as stored (secrets included; render with `public_json`)."""

    model_config = ConfigDict(extra="forbid")

    id: str = ""
    name: str = Field(default="", max_length=NAME_MAX_LENGTH)
    disabled: bool = False
    type: BackupType = "backup"
    full_backup_cron: str | None = None
    incremental_backup_cron: str | None = None
    timezone: str = "UTC"
    preferred_node: str | None = None
    compression: Literal["zstd", "gzip", "none"] = "zstd"
    encryption_key: str | None = None
    retention: Retention = Field(default_factory=Retention)
    destinations: list[DestinationConfig] = Field(min_length=1)
    drill: DrillConfig | None = None
    created_at: str | None = None

    @field_validator("full_backup_cron", "incremental_backup_cron")
    @classmethod
    def _cron(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _valid_cron(value, info)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            check_timezone(value)
        except ValueError as exc:
            raise PydanticCustomError("timezone", str(exc)) from None
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        # Names reach headers, logs and metric labels: no line breaks or other controls.
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise PydanticCustomError("name", "a task name must not contain control characters")
        return value.strip()

    @property
    def zone(self) -> ZoneInfo:
        """The time zone the crons are read in."""
        return ZoneInfo(self.timezone)

    def schedule_error(self) -> str | None:
        """Why some of the task's crons cannot fire (a task stored before they were refused)."""
        crons = {
            "full_backup_cron": self.full_backup_cron,
            "incremental_backup_cron": self.incremental_backup_cron,
            "drill.cron": self.drill.cron if self.drill else None,
        }
        problems = [
            f"{field}: {why}" for field, cron in crons.items() if (why := cron_problem(cron))
        ]
        if not problems:
            return None
        return "; ".join(problems) + "; edit the task to give it a schedule that fires"

    def destination_dicts(self) -> list[dict[str, Any]]:
        """The destination configs as plain dicts (secrets included: internal use only)."""
        return [reveal(d) for d in self.destinations]

    def public_json(self) -> dict[str, Any]:
        """The task as the API and CLI show it: secrets masked, the encryption key never."""
        body = self.model_dump(mode="json")
        body["encryption_key"] = None
        body["has_encryption_key"] = bool(self.encryption_key)
        body["destinations"] = [public_config(d) for d in self.destination_dicts()]
        return body

    def stored_json(self) -> dict[str, Any]:
        """The form kept in the system store (secrets included)."""
        return {**self.model_dump(mode="json"), "destinations": self.destination_dicts()}


def parse_task(payload: object) -> BackupTask:
    """Validate user input into a task; `InvalidInput` names the first bad field."""
    if not isinstance(payload, dict):
        raise InvalidInput("a backup task is a JSON object", field="task")
    fields = {k: v for k, v in payload.items() if k not in READ_ONLY_FIELDS}
    destinations = fields.get("destinations")
    if isinstance(destinations, list):
        fields["destinations"] = [_destination(i, d) for i, d in enumerate(destinations)]
    try:
        task = BackupTask.model_validate(fields)
    except ValidationError as exc:
        raise _invalid(exc) from None
    if task.full_backup_cron is None and task.incremental_backup_cron is None:
        raise InvalidInput(
            "a backup task needs a schedule: set full_backup_cron and/or incremental_backup_cron",
            field="full_backup_cron",
        )
    if task.drill is not None and task.drill.destination >= len(task.destinations):
        raise InvalidInput(
            f"drill.destination is {task.drill.destination} but the task has "
            f"{len(task.destinations)} destination(s); use an index from 0",
            field="drill.destination",
        )
    return task


def load_task(stored: dict[str, Any]) -> BackupTask:
    """A task as kept in the system store (already validated when it was stored).

    Its crons are not checked again: a task saved by an older version with a
    cron that never fires must still load, so every reader can show it (with
    `schedule_error`) instead of failing.
    """
    fields = dict(stored)
    fields["destinations"] = [parse_destination(d) for d in fields.get("destinations", [])]
    return BackupTask.model_validate(fields, context=_STORED)


def destination_label(config: dict[str, Any]) -> str:
    """How a destination reads in a generated name, e.g. 'S3 (bucket)'."""
    kind = str(config.get("kind", "?"))
    title, key = _LABELS.get(kind, (kind, ""))
    where = config.get(key) if key else None
    return f"{title} ({where})" if where else title


def generated_name(task: BackupTask) -> str:
    """The name of a task created without one, from its type and destinations.

    Cut short with an ellipsis when the destinations make it longer than a
    name may be, leaving room for the " #2" that keeps names unique.
    """
    verb = "Snapshot" if task.type == "snapshot" else "Backup"
    name = f"{verb} to " + ", ".join(destination_label(d) for d in task.destination_dicts())
    room = NAME_MAX_LENGTH - 8
    return name if len(name) <= room else name[: room - 1].rstrip(", ") + "…"


def cron_next(expression: str, zone: ZoneInfo, after: datetime) -> datetime | None:
    """The first time strictly after `after` that the cron fires, read in `zone`.

    None when it never fires (refused at the edge, but a stored task may hold one).
    """
    try:
        result: datetime = croniter(expression, after.astimezone(zone)).get_next(datetime)
    except CroniterError:
        return None
    return result


def cron_prev(expression: str, zone: ZoneInfo, before: datetime) -> datetime | None:
    """The last time at or before `before` that the cron fired, read in `zone` (None: never)."""
    start = before.astimezone(zone)
    try:
        if croniter.match(expression, start) and start.second == 0 and start.microsecond == 0:
            return start
        result: datetime = croniter(expression, start).get_prev(datetime)
    except CroniterError:
        return None
    return result


def _valid_cron(value: str | None, info: ValidationInfo) -> str | None:
    if value is None or not value.strip():
        return None
    if info.context == _STORED:
        return " ".join(value.split())
    try:
        return check_cron(value)
    except ValueError as exc:
        raise PydanticCustomError("cron", str(exc)) from None


def _destination(index: int, config: object) -> DestinationConfig:
    try:
        return parse_destination(config)
    except InvalidInput as exc:
        field = f"destinations.{index}" + (f".{exc.field}" if exc.field else "")
        raise InvalidInput(f"destinations[{index}]: {exc.message}", field=field) from None


def _invalid(exc: ValidationError) -> InvalidInput:
    # Only the location and pydantic's message: the input value may be a secret.
    error = exc.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(p) for p in error["loc"]) or "task"
    if error["type"] == "extra_forbidden":
        return InvalidInput(f"unknown field {field!r}", field=field)
    if error["type"] == "missing":
        return InvalidInput(f"{field} is required", field=field)
    if field == "destinations" and error["type"] == "too_short":
        return InvalidInput("a backup task needs at least one destination", field=field)
    return InvalidInput(f"{field}: {error['msg']}", field=field)
