"""Persisted task status: the chain position, the schedule anchors, the last run, the history.

Kept in the system store (not derived from local files), so a restart or
another node continues the same chain. `render` turns a record into the
status JSON of DESIGN.md.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from rookdb.errors import ConcurrencyConflict
from rookdb.system import SystemStore
from rookdb.system.store import Write
from rookdb.tasks.clock import format_time, parse_time
from rookdb.tasks.model import BackupTask
from rookdb.tasks.schedule import ScheduleState, next_backup, overdue

STATUS_NAMESPACE = "backup-task-status"
HISTORY_NAMESPACE = "backup-task-history"
HISTORY_LENGTH = 50
# Compare-and-set retries before a status write gives up (each retry re-reads).
CAS_ATTEMPTS = 20


@dataclass
class StatusRecord:
    """Everything remembered about a task between runs (times are ISO-8601 UTC strings)."""

    task_id: str
    since: str
    full_anchor: str
    incremental_anchor: str
    last_full_backup: str | None = None
    last_incremental_backup: str | None = None
    last_success: str | None = None
    last_attempt: dict[str, Any] | None = None  # {"at", "kind"}
    last_etag: int | None = None
    run_folder: str | None = None  # the chain the next incremental continues
    last_file: str | None = None  # the newest file of that chain (names stay unique per second)
    chain_database_id: str | None = None
    running: dict[str, Any] | None = None  # {"kind", "started_at", "progress", "manual"}
    last_run: dict[str, Any] | None = None
    destinations: list[dict[str, Any]] = field(default_factory=list)
    runs: int = 0
    failures: int = 0
    # Restore drills (see rookdb.tasks.drill).
    drill_anchor: str | None = None  # drill cron fire times up to here are consumed
    drilling: dict[str, Any] | None = None  # {"started_at", "trigger"} while a drill runs
    last_drill: dict[str, Any] | None = None
    last_verified_restorable: dict[str, Any] | None = None  # {"at", "run_folder", "file"}
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
    def from_json(cls, body: dict[str, Any]) -> StatusRecord:
        known = {k: v for k, v in body.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

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
        key = status_key(database, task_id)
        with self._lock:
            for _ in range(CAS_ATTEMPTS):
                entry = self._system.get(STATUS_NAMESPACE, key)
                if entry is None:
                    return None
                record = StatusRecord.from_json(entry.value)
                change(record)
                try:
                    self._system.put(
                        STATUS_NAMESPACE, key, record.to_json(), expected_version=entry.version
                    )
                except ConcurrencyConflict:
                    continue
                return record
        raise ConcurrencyConflict(
            f"the status of backup task {task_id} kept changing; {CAS_ATTEMPTS} attempts failed"
        )

    def removal(self, database: str, task_id: str) -> list[Write]:
        """The writes that delete a task's status and history (committed with the task)."""
        key = status_key(database, task_id)
        return [Write(STATUS_NAMESPACE, key, None), Write(HISTORY_NAMESPACE, key, None)]

    def add_history(self, database: str, task_id: str, run: dict[str, Any]) -> None:
        """Remember a finished run (newest first, the last HISTORY_LENGTH only)."""
        key = status_key(database, task_id)
        with self._lock:
            for _ in range(CAS_ATTEMPTS):
                entry = self._system.get(HISTORY_NAMESPACE, key)
                runs = entry.value.get("runs", []) if entry else []
                value = {"runs": [run, *runs][:HISTORY_LENGTH]}
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

    def history(self, database: str, task_id: str) -> list[dict[str, Any]]:
        entry = self._system.get(HISTORY_NAMESPACE, status_key(database, task_id))
        return list(entry.value.get("runs", [])) if entry else []

    def all(self) -> list[tuple[str, StatusRecord]]:
        """Every (database, record) pair, for metrics."""
        return [
            (entry.key.rsplit("/", 1)[0], StatusRecord.from_json(entry.value))
            for entry in self._system.list(STATUS_NAMESPACE)
        ]


def task_state(task: BackupTask, node: str, responsible: str) -> str:
    """'active', 'disabled' or 'not-on-this-node'."""
    if task.disabled:
        return "disabled"
    return "active" if responsible == node else "not-on-this-node"


def render(
    task: BackupTask, record: StatusRecord, *, node: str, responsible: str, now: datetime
) -> dict[str, Any]:
    """The status JSON of DESIGN.md."""
    state = task_state(task, node, responsible)
    schedule = record.schedule_state()
    upcoming = next_backup(task, schedule) if state == "active" else None
    return {
        "task_id": record.task_id,
        "state": state,
        "node": responsible,
        "last_full_backup": _display(record.last_full_backup),
        "last_incremental_backup": _display(record.last_incremental_backup),
        "last_etag": record.last_etag,
        "next_backup": (
            {"at": format_time(upcoming.at), "kind": upcoming.kind} if upcoming else None
        ),
        "overdue": state == "active" and overdue(task, schedule, now),
        "schedule_error": task.schedule_error(),
        "running": _running(record.running),
        "last_run": record.last_run,
        "destinations": record.destinations,
        "run_folder": record.run_folder,
        "runs": record.runs,
        "failures": record.failures,
        "last_verified_restorable": _verified(record.last_verified_restorable),
        "restore_time_seconds": record.restore_time_seconds,
        "last_drill_error": record.last_drill_error,
        "last_drill": record.last_drill,
        "drilling": record.drilling,
    }


def _verified(entry: dict[str, Any] | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {
        "at": _display(entry.get("at")),
        "run_folder": entry.get("run_folder"),
        "file": entry.get("file"),
    }


def _running(running: dict[str, Any] | None) -> dict[str, Any] | None:
    if running is None:
        return None
    return {k: running.get(k) for k in ("kind", "started_at", "progress")}


def _display(value: str | None) -> str | None:
    return format_time(parse_time(value)) if value else None
