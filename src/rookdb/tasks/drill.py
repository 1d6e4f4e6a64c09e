"""Restore drills of backup tasks: when they are due, running them, recording the outcome.

A task with a ``drill`` restores its newest chain (the one its status
continues) from one of its destinations after each successful full backup
and/or on the drill's own cron, through ``rookdb.drill``. Drills run one at a
time per server in a low-priority thread (``DrillWorker``). A drill that
fails marks its chain: the status then counts no backup since that chain
started (so the task turns overdue) and the next run starts a new chain.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from rookdb.drill import (
    DestinationChainSource,
    DrillReport,
    DrillWorker,
    clean_leftovers,
    run_drill,
    scratch_root,
)
from rookdb.errors import RookError
from rookdb.instance import Instance
from rookdb.tasks import lease
from rookdb.tasks.clock import Clock, format_time, parse_time
from rookdb.tasks.model import BackupTask, DrillConfig
from rookdb.tasks.records import DrillMarker, DrillOutcome, DrillTrigger, LastRun, VerifiedPoint
from rookdb.tasks.runner import state_root
from rookdb.tasks.schedule import next_drill
from rookdb.tasks.status import StatusRecord, StatusStore
from rookdb.tasks.store import TaskStore
from rookdb.tasks.upload import display_name

log = logging.getLogger(__name__)


@dataclass
class DrillHandle:
    """A drill that was queued or started, and its `last_drill` entry once finished."""

    database: str
    task_id: str
    trigger: DrillTrigger
    requested_at: datetime
    future: Future[DrillOutcome] = field(default_factory=Future)

    def outcome(self, timeout: float | None = None) -> DrillOutcome:
        """Block until the drill ends; what it found."""
        return self.future.result(timeout)

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        """Block until the drill ends; its `last_drill` entry as JSON."""
        return self.outcome(timeout).to_json()

    def to_json(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "trigger": self.trigger,
            "requested_at": format_time(self.requested_at),
        }


@dataclass(frozen=True)
class DrillDeps:
    """What drills need from the backup side: narrow, so drills never import the scheduler."""

    instance: Instance
    statuses: StatusStore
    tasks: TaskStore
    clock: Clock
    node_tag: str
    runs_here: Callable[[str, BackupTask], bool]  # (database, task): does this node run it
    readable_tasks: Callable[[], Iterator[tuple[str, BackupTask]]]


def _next_drill(task: BackupTask, record: StatusRecord) -> datetime | None:
    return next_drill(task, parse_time(record.drill_anchor or record.since))


def drill_task(
    deps: DrillDeps, database: str, task: BackupTask, trigger: DrillTrigger
) -> DrillOutcome:
    """Drill the task's newest chain now and record it; its `DrillOutcome`."""
    config = task.drill or DrillConfig()
    started = deps.clock.now()
    record = deps.statuses.get(database, task.id)
    destinations = task.destination_dicts()
    target = destinations[min(config.destination, len(destinations) - 1)]
    planned = DrillOutcome(
        at=format_time(started),
        trigger=trigger,
        destination=display_name(target),
        run_folder=record.run_folder if record else None,
        file=record.last_file if record else None,
    )
    if record is None or record.run_folder is None or record.last_file is None:
        skipped = replace(planned, skipped=True, error="no backup to drill yet")
        _record(deps, database, task.id, skipped, None)
        return skipped
    source = DestinationChainSource(
        target,
        record.run_folder,
        until=record.last_file,
        label=planned.destination,
        state_dir=state_root(deps.instance, task.id),
    )
    report = run_drill(
        source,
        scratch_root(deps.instance.data_dir),
        until=record.last_file,
        encryption_key=task.encryption_key,
    )
    outcome = _measured(planned, report)
    _record(deps, database, task.id, outcome, report)
    return outcome


def _measured(planned: DrillOutcome, report: DrillReport) -> DrillOutcome:
    return replace(
        planned,
        passed=report.passed,
        error=report.error,
        file=report.last_file or planned.file,
        file_failed=report.file_failed,
        seconds=round(report.seconds, 3),
        restore_seconds=round(report.restore_seconds, 3),
        check_seconds=round(report.check_seconds, 3),
        cpu_seconds=round(report.cpu_seconds, 3),
        bytes_read=report.bytes_read,
        bytes_downloaded=report.bytes_downloaded,
        documents=report.totals.get("documents"),
        last_etag=report.last_etag_found,
    )


def _record(
    deps: DrillDeps,
    database: str,
    task_id: str,
    outcome: DrillOutcome,
    report: DrillReport | None,
) -> None:
    def change(r: StatusRecord) -> None:
        r.drilling = None
        r.last_drill = outcome
        if report is None:
            return
        r.drills += 1
        if report.passed:
            r.last_drill_error = None
            r.restore_time_seconds = round(report.restore_seconds, 3)
            r.last_verified_restorable = VerifiedPoint(
                outcome.at, outcome.run_folder, report.last_file
            )
            if r.drill_failed_chain == outcome.run_folder:
                r.drill_failed_chain = None
            return
        r.drill_failures += 1
        r.last_drill_error = report.error
        if outcome.run_folder == r.run_folder:
            r.drill_failed_chain = r.run_folder
            r.chain_database_id = None  # the runner's cue that the next run is a full

    deps.statuses.update(database, task_id, change)


class TaskDrills:
    """The scheduler's drill side: after-full and cron drills, Drill Now, one at a time."""

    def __init__(self, deps: DrillDeps) -> None:
        self._deps = deps
        self._worker: DrillWorker | None = None
        self._queued: dict[tuple[str, str], DrillHandle] = {}
        self._lock = threading.Lock()

    def start(self) -> list[str]:
        """Server start: remove what killed drills left behind, forget drills marked going."""
        removed = clean_leftovers(scratch_root(self._deps.instance.data_dir))
        for database, record in self._deps.statuses.all():
            if lease.is_live(record.drilling):
                continue  # a drill of another process on this data dir, going on
            if record.drilling is not None and self.queued(database, record.task_id) is None:
                self._deps.statuses.update(
                    database, record.task_id, functools.partial(_interrupted, at=record.drilling)
                )
        return removed

    def stop(self) -> None:
        """Wait for the drill going on (queued ones are dropped)."""
        with self._lock:
            worker, self._worker = self._worker, None
        if worker is not None:
            worker.shutdown()

    def queued(self, database: str, task_id: str) -> DrillHandle | None:
        with self._lock:
            return self._queued.get((database.lower(), task_id))

    def after_run(self, database: str, task: BackupTask, run: LastRun) -> None:
        """A backup run ended: drill its chain when it was a successful full backup."""
        if task.drill is None or not task.drill.after_full:
            return
        if run.kind == "full" and run.error is None and not run.skipped:
            self.submit(database, task, "after_full")

    def tick(self, now: datetime) -> list[DrillHandle]:
        """Queue the drills whose cron is due at `now`."""
        started = []
        for database, task, record in self._drill_tasks():
            upcoming = _next_drill(task, record)
            if upcoming is None or upcoming > now or self.queued(database, task.id):
                continue
            self._deps.statuses.update(
                database, task.id, functools.partial(_claim, at=now.isoformat())
            )
            started.append(self.submit(database, task, "cron"))
        return started

    def seconds_until_next(self, now: datetime, ceiling: float) -> float:
        """Seconds until the next drill cron fire time (at most `ceiling`)."""
        delay = ceiling
        for database, task, record in self._drill_tasks():
            upcoming = _next_drill(task, record)
            if upcoming is not None and self.queued(database, task.id) is None:
                delay = min(delay, (upcoming - now).total_seconds())
        return delay

    def submit(self, database: str, task: BackupTask, trigger: DrillTrigger) -> DrillHandle:
        """Queue a drill of the task (a drill already queued for it is returned instead)."""
        key = (database.lower(), task.id)
        with self._lock:
            existing = self._queued.get(key)
            if existing is not None:
                return existing
            if self._worker is None:
                self._worker = DrillWorker()
            handle = DrillHandle(database, task.id, trigger, self._deps.clock.now())
            self._queued[key] = handle
            worker = self._worker
        marker = DrillMarker(
            format_time(handle.requested_at), trigger, lease.claim(self._deps.node_tag)
        )
        self._deps.statuses.update(database, task.id, lambda r: setattr(r, "drilling", marker))
        future = worker.submit(functools.partial(self._run, handle))
        future.add_done_callback(functools.partial(_forward, target=handle.future))
        return handle

    def _run(self, handle: DrillHandle) -> DrillOutcome:
        statuses = self._deps.statuses

        def update(change: lease.LeaseChange) -> None:
            def apply(r: StatusRecord) -> None:
                if r.drilling is not None:
                    r.drilling = r.drilling.with_lease(change(r.drilling.lease))

            statuses.update(handle.database, handle.task_id, apply)

        try:
            task = self._deps.tasks.get(handle.database, handle.task_id)
            with lease.kept_alive(update):
                return drill_task(self._deps, handle.database, task, handle.trigger)
        except Exception as exc:
            if not isinstance(exc, RookError):
                log.exception(
                    "drill of backup task %s of %s failed", handle.task_id, handle.database
                )
            message = getattr(exc, "message", None) or f"unexpected {type(exc).__name__}: {exc}"
            at = format_time(handle.requested_at)
            outcome = DrillOutcome(at, handle.trigger, passed=False, error=message)
            self._deps.statuses.update(
                handle.database, handle.task_id, functools.partial(_errored, outcome=outcome)
            )
            return outcome
        finally:
            with self._lock:
                self._queued.pop((handle.database.lower(), handle.task_id), None)

    def _drill_tasks(self) -> list[tuple[str, BackupTask, StatusRecord]]:
        deps = self._deps
        found = []
        for database, task in deps.readable_tasks():
            if task.drill is None or task.drill.cron is None or not deps.runs_here(database, task):
                continue
            record = deps.statuses.get(database, task.id)
            if record is not None:
                found.append((database, task, record))
        return found


def _claim(record: StatusRecord, at: str) -> None:
    record.drill_anchor = at  # drill fire times up to now are consumed, whatever the outcome


def _errored(record: StatusRecord, outcome: DrillOutcome) -> None:
    record.drilling = None
    record.last_drill = outcome
    record.last_drill_error = outcome.error
    record.drills += 1
    record.drill_failures += 1


def _interrupted(record: StatusRecord, at: DrillMarker) -> None:
    record.drilling = None
    error = "interrupted: the server stopped during the drill"
    record.last_drill = DrillOutcome(at.requested_at, at.trigger, error=error)


def _forward(source: Future[DrillOutcome], target: Future[DrillOutcome]) -> None:
    if source.cancelled():  # dropped from the queue at shutdown
        target.cancel()
        return
    exc = source.exception()
    if exc is not None:
        target.set_exception(exc)
    else:
        target.set_result(source.result())
