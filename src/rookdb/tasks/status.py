"""Persisted task status: the chain position, the schedule anchors, the last run, the history.

Kept in the system store (not derived from local files), so a restart or
another node continues the same chain. Every write is a compare-and-set on
the stored version. The record is typed (`StatusRecord` and the parts in
`rookdb.tasks.records`) and stored with its layout's number, `schema`: a
process never rewrites a record laid out by a newer rookdb (it would drop
what it does not know). `rookdb.tasks.status_view` turns a record into the
status JSON of DESIGN.md.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from rookdb.errors import ConcurrencyConflict, Conflict
from rookdb.system import SystemStore
from rookdb.system.store import Write
from rookdb.tasks.clock import parse_time
from rookdb.tasks.records import (
    Attempt,
    DestinationOutcome,
    DrillMarker,
    DrillOutcome,
    LastRun,
    RunMarker,
    VerifiedPoint,
    destination_outcomes,
    integer,
    number,
    text,
)
from rookdb.tasks.schedule import ScheduleState

STATUS_NAMESPACE = "backup-task-status"
HISTORY_NAMESPACE = "backup-task-history"
HISTORY_LENGTH = 50
# Compare-and-set retries before a status write gives up (each retry re-reads).
CAS_ATTEMPTS = 20
# The layout of a stored record; records written before it was stored are layout 1.
STATUS_SCHEMA = 1


class _Record(Protocol):
    def to_json(self) -> dict[str, Any]: ...


def _json(part: _Record | None) -> dict[str, Any] | None:
    return part.to_json() if part is not None else None


@dataclass
class StatusRecord:
    """Everything remembered about a task between runs (times are ISO-8601 UTC strings).

    Stored as `to_json()` with the layout's number (`schema`); the nested parts
    are the typed records of `rookdb.tasks.records`.
    """

    task_id: str
    since: str
    full_anchor: str
    incremental_anchor: str
    last_full_backup: str | None = None
    last_incremental_backup: str | None = None
    last_success: str | None = None
    last_attempt: Attempt | None = None
    last_etag: int | None = None
    run_folder: str | None = None  # the chain the next incremental continues
    last_file: str | None = None  # the newest file of that chain (names stay unique per second)
    chain_database_id: str | None = None
    chain_term: int | None = None  # in a group: the term that wrote `last_etag`
    running: RunMarker | None = None
    last_run: LastRun | None = None
    destinations: tuple[DestinationOutcome, ...] = ()
    runs: int = 0
    failures: int = 0
    # Restore drills (see rookdb.tasks.drill).
    drill_anchor: str | None = None  # drill cron fire times up to here are consumed
    drilling: DrillMarker | None = None  # while a drill is queued or going on
    last_drill: DrillOutcome | None = None
    last_verified_restorable: VerifiedPoint | None = None
    restore_time_seconds: float | None = None  # measured by the last passed drill
    last_drill_error: str | None = None  # of the latest drill; None when it passed
    drill_failed_chain: str | None = None  # run folder whose latest drill failed
    drills: int = 0
    drill_failures: int = 0

    @classmethod
    def fresh(cls, task_id: str, now: datetime) -> StatusRecord:
        """The status of a task whose schedule starts at `now`."""
        start = now.isoformat()
        return cls(task_id=task_id, since=start, full_anchor=start, incremental_anchor=start)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> StatusRecord:
        """A stored record, of this layout or an earlier one (missing keys take defaults)."""
        since = text(body, "since") or text(body, "full_anchor")
        task_id = text(body, "task_id")
        if since is None or task_id is None:
            raise ValueError("not a backup task status record (no task_id or since)")
        return cls(
            task_id=task_id,
            since=since,
            full_anchor=text(body, "full_anchor") or since,
            incremental_anchor=text(body, "incremental_anchor") or since,
            last_full_backup=text(body, "last_full_backup"),
            last_incremental_backup=text(body, "last_incremental_backup"),
            last_success=text(body, "last_success"),
            last_attempt=Attempt.from_json(body.get("last_attempt")),
            last_etag=integer(body, "last_etag"),
            run_folder=text(body, "run_folder"),
            last_file=text(body, "last_file"),
            chain_database_id=text(body, "chain_database_id"),
            chain_term=integer(body, "chain_term"),
            running=RunMarker.from_json(body.get("running")),
            last_run=LastRun.from_json(body.get("last_run")),
            destinations=destination_outcomes(body.get("destinations")),
            runs=integer(body, "runs") or 0,
            failures=integer(body, "failures") or 0,
            drill_anchor=text(body, "drill_anchor"),
            drilling=DrillMarker.from_json(body.get("drilling")),
            last_drill=DrillOutcome.from_json(body.get("last_drill")),
            last_verified_restorable=VerifiedPoint.from_json(body.get("last_verified_restorable")),
            restore_time_seconds=number(body, "restore_time_seconds"),
            last_drill_error=text(body, "last_drill_error"),
            drill_failed_chain=text(body, "drill_failed_chain"),
            drills=integer(body, "drills") or 0,
            drill_failures=integer(body, "drill_failures") or 0,
        )

    def to_json(self) -> dict[str, Any]:
        """The stored form (the keys earlier versions wrote, and the layout's number)."""
        return {
            "schema": STATUS_SCHEMA,
            "task_id": self.task_id,
            "since": self.since,
            "full_anchor": self.full_anchor,
            "incremental_anchor": self.incremental_anchor,
            "last_full_backup": self.last_full_backup,
            "last_incremental_backup": self.last_incremental_backup,
            "last_success": self.last_success,
            "last_attempt": _json(self.last_attempt),
            "last_etag": self.last_etag,
            "run_folder": self.run_folder,
            "last_file": self.last_file,
            "chain_database_id": self.chain_database_id,
            "chain_term": self.chain_term,
            "running": _json(self.running),
            "last_run": _json(self.last_run),
            "destinations": [d.to_json() for d in self.destinations],
            "runs": self.runs,
            "failures": self.failures,
            "drill_anchor": self.drill_anchor,
            "drilling": _json(self.drilling),
            "last_drill": _json(self.last_drill),
            "last_verified_restorable": _json(self.last_verified_restorable),
            "restore_time_seconds": self.restore_time_seconds,
            "last_drill_error": self.last_drill_error,
            "drill_failed_chain": self.drill_failed_chain,
            "drills": self.drills,
            "drill_failures": self.drill_failures,
        }

    def restart_schedule(self, now: datetime) -> None:
        """Fire times before `now` are not owed (task enabled again, crons changed)."""
        self.since = self.full_anchor = self.incremental_anchor = now.isoformat()

    def reset_chain(self) -> None:
        """The next run starts a new chain with a full backup."""
        self.run_folder = None
        self.chain_database_id = None

    @property
    def chain_failed_drill(self) -> bool:
        """The chain being continued failed its latest drill: it does not count as a backup."""
        return self.run_folder is not None and self.drill_failed_chain == self.run_folder

    def schedule_state(self) -> ScheduleState:
        """The part the pure schedule functions read."""
        # A chain that did not restore is not a backup: no success since it started,
        # and the next run starts a new chain.
        failed = self.chain_failed_drill
        return ScheduleState(
            full_anchor=parse_time(self.full_anchor),
            incremental_anchor=parse_time(self.incremental_anchor),
            has_chain=self.run_folder is not None and not failed,
            since=parse_time(self.since),
            last_success=parse_time(self.last_success)
            if self.last_success and not failed
            else None,
        )

    def apply_schedule(self, state: ScheduleState) -> None:
        self.full_anchor = state.full_anchor.isoformat()
        self.incremental_anchor = state.incremental_anchor.isoformat()


def status_key(database: str, task_id: str) -> str:
    """System-store key of a task's entries; database names are case-insensitive."""
    return f"{database.lower()}/{task_id}"


class StatusStore:
    """Reads and compare-and-set writes of task status records in the system store.

    Every change is a read-modify-write that only lands when the record is still
    the version it read (`expected_version`); on a conflict (another thread, another
    process on this data dir, or later another node) the change is applied again
    to the newer record. So no update is ever lost, whoever writes.
    """

    def __init__(self, system: SystemStore) -> None:
        self._system = system
        # Fewer conflicts between this process's own threads; CAS makes it correct.
        self._lock = threading.RLock()

    def get(self, database: str, task_id: str) -> StatusRecord | None:
        entry = self._system.get(STATUS_NAMESPACE, status_key(database, task_id))
        return StatusRecord.from_json(entry.value) if entry else None

    def create(self, database: str, record: StatusRecord) -> Write:
        """The write that stores a new task's first record (committed with the task)."""
        key = status_key(database, record.task_id)
        return Write(STATUS_NAMESPACE, key, record.to_json(), expected_version=0)

    def ensure(self, database: str, record: StatusRecord) -> StatusRecord:
        """The stored record, or `record` stored when there is none yet."""
        try:
            self._system.commit([self.create(database, record)])
            return record
        except ConcurrencyConflict:
            return self.get(database, record.task_id) or record

    def update(
        self, database: str, task_id: str, change: Callable[[StatusRecord], None]
    ) -> StatusRecord | None:
        """Apply `change` to the stored record and save it; None when the task is gone.

        `change` may run more than once (after a conflict): it must only set fields.
        """
        saved = self.update_versioned(database, task_id, change)
        return saved[0] if saved is not None else None

    def update_versioned(
        self, database: str, task_id: str, change: Callable[[StatusRecord], None]
    ) -> tuple[StatusRecord, int] | None:
        """`update`, also returning the version the record was saved as.

        Versions only grow, and each save is a compare-and-set: the version a run's
        claim was saved as orders that claim among every claim of the task.
        """
        key = status_key(database, task_id)
        with self._lock:
            for _ in range(CAS_ATTEMPTS):
                entry = self._system.get(STATUS_NAMESPACE, key)
                if entry is None:
                    return None
                _check_schema(task_id, entry.value)
                record = StatusRecord.from_json(entry.value)
                change(record)
                try:
                    version = self._system.put(
                        STATUS_NAMESPACE, key, record.to_json(), expected_version=entry.version
                    )
                except ConcurrencyConflict:
                    continue
                return record, version
        raise ConcurrencyConflict(
            f"the status of backup task {task_id} kept changing; {CAS_ATTEMPTS} attempts failed"
        )

    def removal(self, database: str, task_id: str) -> list[Write]:
        """The writes that delete a task's status and history (committed with the task)."""
        key = status_key(database, task_id)
        return [Write(STATUS_NAMESPACE, key, None), Write(HISTORY_NAMESPACE, key, None)]

    def add_history(self, database: str, task_id: str, run: LastRun) -> None:
        """Remember a finished run (newest first, the last HISTORY_LENGTH only)."""
        key = status_key(database, task_id)
        with self._lock:
            for _ in range(CAS_ATTEMPTS):
                entry = self._system.get(HISTORY_NAMESPACE, key)
                runs = entry.value.get("runs", []) if entry else []
                value = {"runs": [run.to_json(), *runs][:HISTORY_LENGTH]}
                try:
                    self._system.put(
                        HISTORY_NAMESPACE,
                        key,
                        value,
                        expected_version=entry.version if entry else 0,
                    )
                except ConcurrencyConflict:
                    continue
                return

    def history(self, database: str, task_id: str) -> list[LastRun]:
        """The remembered runs, newest first."""
        entry = self._system.get(HISTORY_NAMESPACE, status_key(database, task_id))
        runs = entry.value.get("runs", []) if entry else []
        return [run for run in map(LastRun.from_json, runs) if run is not None]

    def all(self) -> list[tuple[str, StatusRecord]]:
        """Every (database, record) pair, for metrics."""
        return [
            (entry.key.rsplit("/", 1)[0], StatusRecord.from_json(entry.value))
            for entry in self._system.list(STATUS_NAMESPACE)
        ]


def _check_schema(task_id: str, stored: Mapping[str, Any]) -> None:
    schema = stored.get("schema", 1)
    if isinstance(schema, int) and schema > STATUS_SCHEMA:
        raise Conflict(
            f"the status of backup task {task_id} was written by a newer rookdb "
            f"(status layout {schema}, this one knows up to {STATUS_SCHEMA}); "
            "upgrade this node before it records runs"
        )
