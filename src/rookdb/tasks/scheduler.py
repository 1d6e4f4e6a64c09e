"""`BackupScheduler`: decides when tasks run and runs them, one run per task at a time.

`tick()` runs whatever is due at the clock's `now` (tests drive it with a
`ManualClock`); `start()` adds a background thread that sleeps until the
next due time or until told that tasks changed, so it never busy-loops.
Threads start only when there is work: the run pool at the first run, the
drill worker at the first drill, the loop at `start()`. A CLI command that
edits a task over a data dir builds a scheduler and starts none of them.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from rookdb.errors import TaskBusy
from rookdb.instance import Instance
from rookdb.tasks import lease
from rookdb.tasks.assignments import Assignments
from rookdb.tasks.clock import Clock, clock_from_environment, format_time
from rookdb.tasks.drill import DrillDeps, DrillHandle, TaskDrills
from rookdb.tasks.model import BackupKind, BackupTask
from rookdb.tasks.placement import Topology, place, runs_here
from rookdb.tasks.records import LastRun
from rookdb.tasks.runner import RunRequest, run_backup
from rookdb.tasks.schedule import claim, due, next_backup
from rookdb.tasks.status import StatusRecord, StatusStore
from rookdb.tasks.store import TaskStore

log = logging.getLogger(__name__)

# The longest the background thread sleeps without looking (wall clock jumps, DST).
MAX_SLEEP_SECONDS = 60.0


@dataclass
class RunHandle:
    """A run that was started: which task, which kind, and its outcome once finished."""

    database: str
    task_id: str
    kind: BackupKind
    manual: bool
    started_at: datetime
    future: Future[LastRun] = field(default_factory=Future)

    def outcome(self, timeout: float | None = None) -> LastRun:
        """Block until the run ends; what it did."""
        return self.future.result(timeout)

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        """Block until the run ends; its `last_run` entry as JSON."""
        return self.outcome(timeout).to_json()

    def done(self) -> bool:
        return self.future.done()

    def to_json(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id,
            "kind": self.kind,
            "manual": self.manual,
            "started_at": format_time(self.started_at),
        }


class BackupScheduler:
    """Runs the backup tasks of every database of an instance on their schedules."""

    def __init__(
        self,
        instance: Instance,
        *,
        clock: Clock | None = None,
        node_tag: str | None = None,
        live_nodes: set[str] | None = None,
        max_parallel_runs: int = 2,
    ) -> None:
        self.instance = instance
        self.clock: Clock = clock or clock_from_environment()
        self.node_tag = node_tag or instance.node_tag
        self.topology = Topology.of(self.node_tag, live_nodes or {self.node_tag})
        self.tasks = TaskStore(instance.system, instance.secrets)
        self.statuses = StatusStore(instance.system)
        self._max_parallel_runs = max_parallel_runs
        self._executor: ThreadPoolExecutor | None = None  # made at the first run
        self._running: dict[tuple[str, str], RunHandle] = {}
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.drills = TaskDrills(
            DrillDeps(
                instance=instance,
                statuses=self.statuses,
                tasks=self.tasks,
                clock=self.clock,
                node_tag=self.node_tag,
                runs_here=lambda database, task: self.runs_here(task, database),
                readable_tasks=self.readable_tasks,
            )
        )

    # -- who runs a task (rookdb.tasks.placement decides) ------------------------------
    @property
    def live_nodes(self) -> frozenset[str]:
        return self.topology.up

    def responsible_node(self, task: BackupTask, database: str | None = None) -> str:
        """The node that runs `task` (its preferred node when up, else a stable choice)."""
        return self.responsibility(task, database)[0]

    def responsibility(self, task: BackupTask, database: str | None = None) -> tuple[str, str]:
        """(node, reason): who runs `task` and why.

        In a cluster the observer decides and records it (`rookdb.tasks.assignments`);
        before it has, the database's write node runs it.
        """
        if database is not None and self.instance.clustered:
            assignment = Assignments(self.instance.system).get(database, task.id)
            if assignment is not None:
                return assignment.node, assignment.reason
            return self.instance.home_node(database), "write node (not placed yet)"
        placement = place(task, self.topology)
        return placement.node, placement.reason

    def runs_here(self, task: BackupTask, database: str | None = None) -> bool:
        """Whether this node runs `task` (in a cluster: as the observer placed it)."""
        if database is not None and self.instance.clustered:
            return not task.disabled and self.responsible_node(task, database) == self.node_tag
        return runs_here(task, self.topology)

    # -- running ------------------------------------------------------------------
    def tick(self) -> list[RunHandle]:
        """Start every run due at the clock's current time; the handles of those started."""
        now = self.clock.now()
        started = []
        # A process that died mid-run (SIGKILL) leaves a marker whose lease runs out
        # within LEASE_SECONDS: it is reported as interrupted here, and the task is
        # free again.
        self.recover_interrupted()
        for database, task in self.readable_tasks():
            try:
                handle = self._start_if_due(database, task, now)
            except Exception:
                log.exception("cannot start backup task %r of %r", task.id, database)
                continue
            if handle is not None:
                started.append(handle)
        self.drills.tick(now)
        return started

    def readable_tasks(self) -> Iterator[tuple[str, BackupTask]]:
        """(database, task) for every task of this node's databases whose definitions can be read.

        In a cluster, the tasks of databases held by other nodes are theirs to run.
        """
        for database in self.instance.local_database_names():
            # One database whose tasks cannot be read must not stop the others' backups.
            try:
                tasks = self.tasks.list(database)
            except Exception:
                log.exception("cannot read the backup tasks of database %r", database)
                continue
            for task in tasks:
                yield database, task

    def _start_if_due(self, database: str, task: BackupTask, now: datetime) -> RunHandle | None:
        if not self.runs_here(task, database):
            return None
        with self._lock:
            if (database.lower(), task.id) in self._running:
                return None  # the due time stays ahead of the anchor: it runs after this one
            record = self.statuses.get(database, task.id) or StatusRecord.fresh(task.id, now)
            if lease.is_live(record.running):
                return None  # running in another process: due again once it recorded its run
            state = record.schedule_state()
            kind = due(task, state, now)
            if kind is None:
                return None
            claimed = claim(task, state, now)
            self.statuses.update(database, task.id, lambda r: r.apply_schedule(claimed))
            return self._submit(database, task, kind, manual=False, now=now)

    def backup_now(self, database: str, task_id: str, *, full: bool) -> RunHandle:
        """Run a task at once, leaving its schedule alone; a run already going is returned as is."""
        with self._lock:
            running = self._running.get((database.lower(), task_id))
            if running is not None:
                return running
            task = self.tasks.get(database, task_id)
            self.instance.database(database)  # NotFound before anything starts
            record = self.statuses.get(database, task_id)
            # Another process (a server, a CLI command) running it now: say so at once.
            lease.check_free(record.running if record else None, f"a backup of task {task_id}")
            kind: BackupKind = "full" if full else "incremental"
            return self._submit(database, task, kind, manual=True, now=self.clock.now())

    def drill_now(self, database: str, task_id: str) -> DrillHandle:
        """Queue a restore drill of the task's newest chain (one already queued is returned)."""
        task = self.tasks.get(database, task_id)
        self.instance.database(database)  # NotFound before anything starts
        return self.drills.submit(database, task, "manual")

    def running(self, database: str, task_id: str) -> RunHandle | None:
        """The run of a task going on now, if any."""
        with self._lock:
            return self._running.get((database.lower(), task_id))

    def _submit(
        self, database: str, task: BackupTask, kind: BackupKind, *, manual: bool, now: datetime
    ) -> RunHandle:
        handle = RunHandle(database, task.id, kind, manual, now)
        self._running[(database.lower(), task.id)] = handle
        request = RunRequest(database, task, kind, manual)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                self._max_parallel_runs, thread_name_prefix="backup-run"
            )
        future = self._executor.submit(self._run, handle, request)
        future.add_done_callback(lambda f: _forward(f, handle.future))
        return handle

    def _run(self, handle: RunHandle, request: RunRequest) -> LastRun:
        try:
            run = run_backup(self.instance, self.statuses, request, self.clock, self.node_tag)
            self.drills.after_run(request.database, request.task, run)
            return run
        except TaskBusy as exc:
            # Not a run of ours: the process holding the lease records its own.
            return _not_run(handle, exc.message)
        except Exception as exc:
            log.exception("backup task %s of %s could not run", handle.task_id, handle.database)
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            run = replace(_not_run(handle, message), node=self.node_tag)
            self.statuses.update(handle.database, handle.task_id, lambda r: _failed(r, run))
            return run
        finally:
            with self._lock:
                self._running.pop((handle.database.lower(), handle.task_id), None)
            self._wake.set()  # a due time may have passed during the run

    # -- background thread ----------------------------------------------------------
    def start(self) -> None:
        """Recover runs interrupted by a stop, then run due tasks in a background thread."""
        if self._thread is not None:
            return
        self.recover_interrupted()
        self.drills.start()
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="backup-scheduler", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """Tasks changed: look at the schedule again now."""
        self._wake.set()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Stop the thread and wait for runs in progress."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        self.drills.stop()

    def recover_interrupted(self) -> None:
        """A run marked as going whose lease ran out was cut short (its process died).

        A live lease is another process's run (a CLI command beside the server), left alone.
        """
        for database, record in self.statuses.all():
            if record.running is None or self.running(database, record.task_id) is not None:
                continue
            if lease.is_live(record.running):
                continue
            marker = record.running
            run = LastRun(
                kind=marker.kind,
                started_at=marker.started_at,
                error="interrupted: the server stopped during the run",
                node=marker.lease.node if marker.lease else None,
            )
            self.statuses.update(database, record.task_id, functools.partial(_failed, run=run))

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick()
                delay = self.seconds_until_next()
            except Exception:
                log.exception("backup scheduler tick failed")
                delay = MAX_SLEEP_SECONDS
            self._wake.wait(delay)
            self._wake.clear()

    def seconds_until_next(self) -> float:
        """How long nothing is due (at most MAX_SLEEP_SECONDS); runs going are not waited for."""
        now = self.clock.now()
        delay = MAX_SLEEP_SECONDS
        for database in self.instance.local_database_names():
            for task in self.tasks.list(database):
                if not self.runs_here(task, database):
                    continue
                if self.running(database, task.id) is not None:
                    continue
                record = self.statuses.get(database, task.id)
                upcoming = next_backup(task, record.schedule_state()) if record else None
                if upcoming is not None:
                    delay = min(delay, (upcoming.at - now).total_seconds())
        delay = self.drills.seconds_until_next(now, delay)
        # Cron fires on whole seconds; a hair late beats waking twice for one due time.
        return max(delay, 0.0) + 0.01


def _forward(source: Future[LastRun], target: Future[LastRun]) -> None:
    exc = source.exception()
    if exc is not None:
        target.set_exception(exc)
    else:
        target.set_result(source.result())


def _not_run(handle: RunHandle, error: str) -> LastRun:
    """The outcome of a run that could not begin."""
    started = format_time(handle.started_at)
    return LastRun(kind=handle.kind, started_at=started, error=error, manual=handle.manual)


def _failed(record: StatusRecord, run: LastRun) -> None:
    if lease.is_live(record.running) and not lease.held_here(record.running):
        return  # another process took the task over meanwhile: its record stands
    record.running = None
    record.runs += 1
    record.failures += 1
    # What a run that never wrote a file did: nothing but fail (the chain stays where it was).
    record.last_run = replace(run, last_etag=record.last_etag)
