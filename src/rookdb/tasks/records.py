"""The typed parts of a task's status record: runs, markers, drills, destination results.

Each is one JSON object of the record the status store keeps (and that the
status JSON of DESIGN.md shows), as a frozen dataclass with `to_json` and
`from_json`. They are the schema of task status in the system store (etcd in a
cluster), so every field is named here, once; the JSON keys are the ones
earlier rookdb versions wrote. `from_json` reads any record an earlier
version wrote: a missing key takes its default, a value of the wrong type
reads as absent, a marker written before leases has none.

    StatusRecord (rookdb.tasks.status)
    ├── running: RunMarker ── progress: Progress, lease: Lease
    ├── last_run: LastRun ── retention: RetentionOutcome*
    ├── last_attempt: Attempt
    ├── destinations: DestinationOutcome*
    ├── drilling: DrillMarker ── lease: Lease
    ├── last_drill: DrillOutcome
    └── last_verified_restorable: VerifiedPoint
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, TypeVar

from rookdb.tasks.lease import Lease
from rookdb.tasks.model import BackupKind

Json = dict[str, Any]
DrillTrigger = Literal["after_full", "cron", "manual"]
DestinationState = Literal["done", "failed", "skipped"]

_TRIGGERS: tuple[DrillTrigger, ...] = ("after_full", "cron", "manual")
_STATES: tuple[DestinationState, ...] = ("done", "failed", "skipped")


# -- tolerant readers: a value of the wrong type is read as absent ---------------------
def obj(value: object) -> Mapping[str, Any] | None:
    """`value` when it is a JSON object."""
    return value if isinstance(value, Mapping) else None


def text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) else None


def integer(body: Mapping[str, Any], key: str) -> int | None:
    value = body.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def number(body: Mapping[str, Any], key: str) -> float | None:
    value = body.get(key)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def flag(body: Mapping[str, Any], key: str) -> bool:
    return body.get(key) is True


def maybe_flag(body: Mapping[str, Any], key: str) -> bool | None:
    value = body.get(key)
    return value if isinstance(value, bool) else None


def texts(body: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = body.get(key)
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


Word = TypeVar("Word", bound=str)


def one_of(value: object, allowed: tuple[Word, ...]) -> Word | None:
    """`value` when it is one of the `allowed` words."""
    return next((word for word in allowed if word == value), None)


def backup_kind(body: Mapping[str, Any]) -> BackupKind:
    """The backup kind of a record ("full" when missing or unknown: it starts a chain)."""
    value = body.get("kind")
    return "incremental" if value == "incremental" else "full"


def _trigger(body: Mapping[str, Any]) -> DrillTrigger | None:
    return one_of(body.get("trigger"), _TRIGGERS)


def _with_lease(body: Json, lease: Lease | None) -> Json:
    return {**body, **lease.to_json()} if lease is not None else body


# -- a backup run ---------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Progress:
    """How far the file being written is (records done of total)."""

    done: int
    total: int
    percent: float

    @classmethod
    def of(cls, done: int, total: int) -> Progress:
        return cls(done, total, round(100.0 * done / total, 1) if total else 100.0)

    def to_json(self) -> Json:
        return asdict(self)

    @classmethod
    def from_json(cls, value: object) -> Progress | None:
        """None for the empty progress of a run that has not reported yet."""
        body = obj(value)
        if not body:
            return None
        done, total = integer(body, "done") or 0, integer(body, "total") or 0
        percent = number(body, "percent")
        return cls(done, total, percent) if percent is not None else cls.of(done, total)


@dataclass(frozen=True, slots=True)
class RunMarker:
    """A backup run going on: its kind, start, progress and the lease of whoever runs it."""

    kind: BackupKind
    started_at: str | None
    progress: Progress | None = None
    lease: Lease | None = None

    @property
    def since(self) -> str | None:
        return self.started_at

    def with_lease(self, lease: Lease | None) -> RunMarker:
        return replace(self, lease=lease)

    def public_json(self) -> Json:
        """The status JSON's `running` (no lease: which process holds it is internal)."""
        progress = self.progress.to_json() if self.progress else {}
        return {"kind": self.kind, "started_at": self.started_at, "progress": progress}

    def to_json(self) -> Json:
        return _with_lease(self.public_json(), self.lease)

    @classmethod
    def from_json(cls, value: object) -> RunMarker | None:
        body = obj(value)
        if body is None:
            return None
        return cls(
            kind=backup_kind(body),
            started_at=text(body, "started_at"),
            progress=Progress.from_json(body.get("progress")),
            lease=Lease.from_json(body),
        )


@dataclass(frozen=True, slots=True)
class RetentionOutcome:
    """What retention did on one destination after a full backup."""

    destination: str | None
    deleted_folders: tuple[str, ...] = ()
    error: str | None = None

    def to_json(self) -> Json:
        return {
            "destination": self.destination,
            "deleted_folders": list(self.deleted_folders),
            "error": self.error,
        }

    @classmethod
    def from_json(cls, value: object) -> RetentionOutcome | None:
        body = obj(value)
        if body is None:
            return None
        return cls(text(body, "destination"), texts(body, "deleted_folders"), text(body, "error"))


@dataclass(frozen=True, slots=True)
class LastRun:
    """One finished run (the status' `last_run`, an entry of the history).

    `retention` is there after a successful full backup only (None otherwise) and
    `cleaned_up` names partial uploads of killed runs removed after it; the JSON
    has those keys only when they are.
    """

    kind: BackupKind
    started_at: str | None
    type: str | None = None  # "backup" | "snapshot" (a full's); None when the run never began
    duration_ms: int = 0
    size_bytes: int = 0
    documents: int = 0
    error: str | None = None
    skipped: bool = False
    manual: bool = False
    node: str | None = None
    file: str | None = None  # run folder / file name, as on the destinations
    last_etag: int | None = None
    retention: tuple[RetentionOutcome, ...] | None = None
    cleaned_up: tuple[str, ...] = ()
    full_reason: str | None = None  # why a full was taken when an incremental was asked

    @property
    def succeeded(self) -> bool:
        return self.error is None

    def to_json(self) -> Json:
        body: Json = {
            "kind": self.kind,
            "type": self.type,
            "started_at": self.started_at,
            "duration_ms": self.duration_ms,
            "size_bytes": self.size_bytes,
            "documents": self.documents,
            "error": self.error,
            "skipped": self.skipped,
            "manual": self.manual,
            "node": self.node,
            "file": self.file,
            "last_etag": self.last_etag,
        }
        if self.retention is not None:
            body["retention"] = [r.to_json() for r in self.retention]
        if self.cleaned_up:
            body["cleaned_up"] = list(self.cleaned_up)
        if self.full_reason:
            body["full_reason"] = self.full_reason
        return body

    @classmethod
    def from_json(cls, value: object) -> LastRun | None:
        body = obj(value)
        if body is None:
            return None
        retention = body.get("retention")
        return cls(
            kind=backup_kind(body),
            started_at=text(body, "started_at"),
            type=text(body, "type"),
            duration_ms=integer(body, "duration_ms") or 0,
            size_bytes=integer(body, "size_bytes") or 0,
            documents=integer(body, "documents") or 0,
            error=text(body, "error"),
            skipped=flag(body, "skipped"),
            manual=flag(body, "manual"),
            node=text(body, "node"),
            file=text(body, "file"),
            last_etag=integer(body, "last_etag"),
            retention=(
                tuple(r for r in map(RetentionOutcome.from_json, retention) if r is not None)
                if isinstance(retention, list)
                else None
            ),
            cleaned_up=texts(body, "cleaned_up"),
            full_reason=text(body, "full_reason"),
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    """The last run attempted, successful or not (so a failing run is not retried at once)."""

    at: str
    kind: BackupKind

    def to_json(self) -> Json:
        return asdict(self)

    @classmethod
    def from_json(cls, value: object) -> Attempt | None:
        body = obj(value)
        if body is None or text(body, "at") is None:
            return None
        return cls(str(body["at"]), backup_kind(body))


@dataclass(frozen=True, slots=True)
class DestinationOutcome:
    """What the last run did on one destination."""

    kind: str | None
    name: str
    state: DestinationState
    error: str | None = None
    at: str | None = None

    def to_json(self) -> Json:
        return asdict(self)

    @classmethod
    def from_json(cls, value: object) -> DestinationOutcome | None:
        body = obj(value)
        if body is None:
            return None
        state = one_of(body.get("state"), _STATES) or "failed"
        return cls(
            kind=text(body, "kind"),
            name=text(body, "name") or text(body, "kind") or "?",
            state=state,
            error=text(body, "error"),
            at=text(body, "at"),
        )


def destination_outcomes(value: object) -> tuple[DestinationOutcome, ...]:
    """The outcomes of a JSON list (entries that are not objects are passed over)."""
    if not isinstance(value, list):
        return ()
    return tuple(d for d in map(DestinationOutcome.from_json, value) if d is not None)


# -- a restore drill ------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DrillMarker:
    """A drill queued or going on: when it was asked for, why, and its lease."""

    requested_at: str | None
    trigger: DrillTrigger | None
    lease: Lease | None = None

    @property
    def since(self) -> str | None:
        return self.requested_at

    def with_lease(self, lease: Lease | None) -> DrillMarker:
        return replace(self, lease=lease)

    def to_json(self) -> Json:
        return _with_lease({"requested_at": self.requested_at, "trigger": self.trigger}, self.lease)

    @classmethod
    def from_json(cls, value: object) -> DrillMarker | None:
        body = obj(value)
        if body is None:
            return None
        return cls(text(body, "requested_at"), _trigger(body), Lease.from_json(body))


@dataclass(frozen=True, slots=True)
class DrillOutcome:
    """One finished drill (the status' `last_drill`; its JSON has every field, in this order).

    `passed` is None when nothing was proved either way (skipped: no backup yet;
    interrupted). The measures (`file_failed` on) are those of a drill that ran.
    """

    at: str | None
    trigger: DrillTrigger | None
    destination: str | None = None
    run_folder: str | None = None
    file: str | None = None
    skipped: bool = False
    passed: bool | None = None
    error: str | None = None
    file_failed: str | None = None
    seconds: float | None = None
    restore_seconds: float | None = None
    check_seconds: float | None = None
    cpu_seconds: float | None = None
    bytes_read: int | None = None
    bytes_downloaded: int | None = None
    documents: int | None = None
    last_etag: int | None = None

    def to_json(self) -> Json:
        return asdict(self)

    @classmethod
    def from_json(cls, value: object) -> DrillOutcome | None:
        body = obj(value)
        if body is None:
            return None
        return cls(
            at=text(body, "at"),
            trigger=_trigger(body),
            passed=maybe_flag(body, "passed"),
            error=text(body, "error"),
            skipped=flag(body, "skipped"),
            destination=text(body, "destination"),
            run_folder=text(body, "run_folder"),
            file=text(body, "file"),
            file_failed=text(body, "file_failed"),
            seconds=number(body, "seconds"),
            restore_seconds=number(body, "restore_seconds"),
            check_seconds=number(body, "check_seconds"),
            cpu_seconds=number(body, "cpu_seconds"),
            bytes_read=integer(body, "bytes_read"),
            bytes_downloaded=integer(body, "bytes_downloaded"),
            documents=integer(body, "documents"),
            last_etag=integer(body, "last_etag"),
        )


@dataclass(frozen=True, slots=True)
class VerifiedPoint:
    """The newest backup a drill proved restorable: when, which chain, up to which file."""

    at: str | None
    run_folder: str | None
    file: str | None

    def to_json(self) -> Json:
        return asdict(self)

    @classmethod
    def from_json(cls, value: object) -> VerifiedPoint | None:
        body = obj(value)
        if body is None:
            return None
        return cls(text(body, "at"), text(body, "run_folder"), text(body, "file"))
