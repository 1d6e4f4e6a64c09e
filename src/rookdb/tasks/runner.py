"""One run of a backup task: write the file, upload it everywhere, record what happened.

The chain position (run folder, last etag) comes from the status store, not
from local files, so a restart or another node continues the same chain. The
staged file is deleted once uploaded: the status is all a later run needs.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from rookdb import staging
from rookdb.backup import BackupFile, write_full_backup, write_incremental_backup
from rookdb.backup.format import RunClaim
from rookdb.errors import RookError
from rookdb.instance import Instance
from rookdb.partial import DEFAULT_GRACE_SECONDS
from rookdb.storage import Database
from rookdb.tasks import lease, retention
from rookdb.tasks.clock import Clock, format_time
from rookdb.tasks.model import BackupKind, BackupTask
from rookdb.tasks.records import (
    Attempt,
    DestinationOutcome,
    LastRun,
    Progress,
    RetentionOutcome,
    RunMarker,
)
from rookdb.tasks.status import StatusRecord, StatusStore
from rookdb.tasks.upload import (
    delete_file,
    display_name,
    remove_abandoned_uploads,
    upload_all,
)

log = logging.getLogger(__name__)

# Progress is written to the status store at most this often (seconds).
PROGRESS_INTERVAL = 1.0
# A partial upload untouched this long, and not locked by a live writer, is abandoned.
ABANDONED_GRACE_SECONDS = DEFAULT_GRACE_SECONDS


@dataclass(frozen=True, slots=True)
class RunRequest:
    """What to run: a task of a database, the kind asked for, and why."""

    database: str
    task: BackupTask
    kind: BackupKind
    manual: bool = False


def staging_root(instance: Instance) -> Path:
    """Where runs write their files before the upload: one locked work folder per run."""
    return instance.data_dir / staging.BACKUP_STAGING


def state_root(instance: Instance, task_id: str) -> Path:
    """Where destinations keep a task's local state (the Glacier archive inventory)."""
    return instance.data_dir / staging.BACKUP_STATE / task_id


def run_backup(
    instance: Instance, statuses: StatusStore, request: RunRequest, clock: Clock, node_tag: str
) -> LastRun:
    """Run one backup now and record it; returns its `LastRun` (errors included)."""
    task, database = request.task, request.database
    started = clock.now()
    db = instance.database(database)
    held = lease.claim(node_tag)

    def take(r: StatusRecord) -> None:
        # The claim: one run of a task at a time, whichever process asks (TaskBusy).
        lease.check_free(r.running, f"a backup of task {task.id}")
        kind, _ = _kind_for(instance, r, db, request.kind)
        r.running = RunMarker(kind, format_time(started), None, held)

    saved = statuses.update_versioned(database, task.id, take)
    record = saved[0] if saved is not None else StatusRecord.fresh(task.id, started)
    # Written into the file's header: which run wrote it, in the order of the task's claims.
    claim = RunClaim(task.id, node_tag, held.holder or "", saved[1]) if saved else None
    kind, full_reason = _kind_for(instance, record, db, request.kind)
    run = LastRun(
        kind=kind,
        full_reason=full_reason,
        started_at=format_time(started),
        type=task.type if kind == "full" else "backup",
        manual=request.manual,
        node=node_tag,
        last_etag=record.last_etag,
    )
    with lease.kept_alive(functools.partial(_update_lease, statuses, database, task.id)):
        return _run(instance, statuses, request, record, run, clock, node_tag, started, claim)


def _kind_for(
    instance: Instance, record: StatusRecord, db: Database, asked: BackupKind
) -> tuple[BackupKind, str | None]:
    """The kind this run takes, and why it is a full when an incremental was asked."""
    if record.run_folder is None or record.chain_database_id != db.database_id:
        return "full", None  # no chain to continue (first run, new key, database re-created)
    if asked == "full" or record.last_etag is None:
        return asked, None
    if db.last_etag < record.last_etag:
        return "full", (
            f"this node's copy holds changes up to etag {db.last_etag}, short of the chain's "
            f"last backed-up etag {record.last_etag}: a new chain starts with a full backup"
        )
    if record.chain_term is not None and instance.chain_rolled_back(
        db.name, record.chain_term, record.last_etag
    ):
        return "full", (
            f"the chain's last backed-up changes (up to etag {record.last_etag}, term "
            f"{record.chain_term}) were rolled back when another member became the write "
            "node: a new chain starts with a full backup"
        )
    return asked, None


def _update_lease(
    statuses: StatusStore, database: str, task_id: str, change: lease.LeaseChange
) -> None:
    def apply(r: StatusRecord) -> None:
        if r.running is not None:
            r.running = r.running.with_lease(change(r.running.lease))

    statuses.update(database, task_id, apply)


def _run(
    instance: Instance,
    statuses: StatusStore,
    request: RunRequest,
    record: StatusRecord,
    run: LastRun,
    clock: Clock,
    node_tag: str,
    started: datetime,
    claim: RunClaim | None,
) -> LastRun:
    """The run itself, once claimed: write, upload, retention, record the outcome."""
    task, database = request.task, request.database
    db = instance.database(database)
    destinations: tuple[DestinationOutcome, ...] = ()
    t0 = time.monotonic()
    written: BackupFile | None = None
    try:
        # A run of its own, locked: another process running a task of this data dir
        # (a CLI command beside `rookdb serve`) never removes this run's file.
        with staging.work_folder(staging_root(instance), prefix=f"{task.id}-") as folder:
            _reserve_previous_names(folder, record)
            written = _write(db, folder, task, run.kind, record, node_tag, started, statuses, claim)
            if written is None:
                run = replace(run, skipped=True)
                destinations = tuple(_skipped(d, started) for d in task.destination_dicts())
            else:
                run = replace(
                    run,
                    file=written.relative_path,
                    size_bytes=written.size_bytes,
                    documents=written.documents,
                    last_etag=written.last_etag,
                )
                destinations, error = _upload(task, written, state_root(instance, task.id))
                run = replace(run, error=error)
    except RookError as exc:
        run = replace(run, error=exc.message)
    except OSError as exc:
        run = replace(run, error=f"cannot write the backup file: {exc.strerror or exc}")
    except Exception as exc:
        # The traceback goes to the log; the status gets one line a user can act on.
        log.exception("backup task %s of %s failed", task.id, database)
        run = replace(run, error=f"unexpected {type(exc).__name__}: {exc}")
    run = replace(run, duration_ms=int((time.monotonic() - t0) * 1000))
    if run.error is None and written is not None and run.kind == "full":
        run = replace(run, retention=_apply_retention(instance, database, task, written, clock))
    cleaned = _remove_abandoned_uploads(task, state_root(instance, task.id))
    run = replace(run, cleaned_up=tuple(cleaned))
    finished = run
    superseded = False

    def finish(r: StatusRecord) -> None:
        nonlocal superseded
        # Fencing: the outcome is the task's only while this run still holds its claim.
        # A node paused or cut off past its lease finds another claim (or none, once
        # recovered as interrupted) and must not overwrite what came after it.
        if not (lease.held_here(r.running) and r.running and r.running.since == run.started_at):
            superseded = True
            return
        superseded = False
        r.running = None
        r.runs += 1
        r.last_run = finished
        r.destinations = destinations
        r.last_attempt = Attempt(started.isoformat(), finished.kind)
        if finished.error is not None:
            r.failures += 1
            return
        r.last_success = started.isoformat()
        if written is None:
            return
        r.last_etag = written.last_etag
        r.chain_term = instance.term_of_etag(database, written.last_etag)
        r.last_file = written.file_name
        if finished.kind == "full":
            r.last_full_backup = started.isoformat()
            r.run_folder = written.run_folder
            r.chain_database_id = db.database_id
        else:
            r.last_incremental_backup = started.isoformat()

    statuses.update(database, task.id, finish)
    if superseded:
        finished = replace(
            finished,
            error=(
                "superseded: this run lost its claim on the task while it ran (its node was "
                "paused or cut off past its lease); the task's status is the newer run's"
                + (f" (this run: {finished.error})" if finished.error else "")
            ),
        )
    statuses.add_history(database, task.id, finished)
    return finished


def _write(
    db: Database,
    folder: Path,
    task: BackupTask,
    kind: BackupKind,
    record: StatusRecord,
    node_tag: str,
    started: datetime,
    statuses: StatusStore,
    claim: RunClaim | None,
) -> BackupFile | None:
    progress = _ProgressReporter(statuses, db.name, task.id)
    if kind == "full":
        return write_full_backup(
            db,
            folder,
            backup_type=task.type,
            compression=task.compression,
            encryption_key=task.encryption_key,
            node_tag=node_tag,
            progress=progress,
            now=started,
            claim=claim,
        )
    assert record.run_folder is not None and record.last_etag is not None
    return write_incremental_backup(
        db,
        folder / record.run_folder,
        record.last_etag,
        compression=task.compression,
        encryption_key=task.encryption_key,
        progress=progress,
        now=started,
        claim=claim,
    )


def _reserve_previous_names(staging: Path, record: StatusRecord) -> None:
    # Staged files are gone once uploaded, so the engine cannot see that the
    # previous run used this second's name; empty stand-ins make it pick the
    # next free name instead of overwriting that file on the destinations.
    if record.run_folder is None:
        return
    folder = staging / record.run_folder
    folder.mkdir(parents=True, exist_ok=True)
    if record.last_file:
        (folder / record.last_file).touch()


def _apply_retention(
    instance: Instance, database: str, task: BackupTask, written: BackupFile, clock: Clock
) -> tuple[RetentionOutcome, ...]:
    # The backup itself succeeded: a retention problem is reported, never fatal to the run.
    try:
        results = retention.apply(
            task.destination_dicts(),
            database,
            task.retention,
            clock.now(),
            written.run_folder,
            state_dir=state_root(instance, task.id),
        )
    except Exception as exc:
        log.exception("retention of backup task %s failed", task.id)
        return (RetentionOutcome(None, (), f"{type(exc).__name__}"),)
    return tuple(
        RetentionOutcome(r.destination, tuple(r.deleted_folders), r.error) for r in results
    )


def _remove_abandoned_uploads(task: BackupTask, state_dir: Path) -> list[str]:
    # Uploads of runs killed mid-way (a server stopped with SIGKILL) stay behind as
    # partial files on folder-like destinations; every reader passes over them, and
    # the next run removes them. Best effort: a failure here never fails a backup.
    removed: list[str] = []
    for config in task.destination_dicts():
        try:
            removed += remove_abandoned_uploads(
                config, ABANDONED_GRACE_SECONDS, state_dir=state_dir
            )
        except RookError as exc:
            log.warning("cleaning up abandoned uploads of task %s: %s", task.id, exc.message)
    return removed


def _upload(
    task: BackupTask, written: BackupFile, state_dir: Path
) -> tuple[tuple[DestinationOutcome, ...], str | None]:
    configs = task.destination_dicts()
    uploaded = upload_all(configs, written.path, written.relative_path, state_dir=state_dir)
    entries = [
        DestinationOutcome.from_json(e) or _unknown(config)
        for config, e in zip(configs, uploaded, strict=True)
    ]
    failed = [e for e in entries if e.state == "failed"]
    if not failed:
        return tuple(entries), None
    names = ", ".join(f"{e.name}: {e.error}" for e in failed)
    # A failed run leaves the chain position where it was, so the file is taken
    # back off the destinations that got it: a failed incremental would overlap
    # the next one, and a failed full would leave a newer-looking chain there
    # while the task goes on with the old one (a restore of that folder would
    # then miss every later incremental). Restore still picks the chain by the
    # evidence (rookdb.backup.catalog) for when taking back fails too.
    outcomes = []
    for config, entry in zip(configs, entries, strict=True):
        if entry.state == "done":
            try:
                delete_file(config, written.relative_path, state_dir=state_dir)
                entry = replace(
                    entry, state="failed", error="removed again: another destination failed"
                )
            except RookError as exc:
                entry = replace(
                    entry, state="failed", error=f"could not remove again: {exc.message}"
                )
        outcomes.append(entry)
    return tuple(outcomes), f"{len(failed)} of {len(entries)} destinations failed ({names})"


def _unknown(config: dict[str, Any]) -> DestinationOutcome:
    return DestinationOutcome(config.get("kind"), display_name(config), "failed", "no result")


def _skipped(config: dict[str, Any], at: datetime) -> DestinationOutcome:
    return DestinationOutcome(
        kind=config.get("kind"),
        name=display_name(config),
        state="skipped",
        error="no change since the last backup",
        at=format_time(at),
    )


class _ProgressReporter:
    """Writes a run's progress into its own marker, at most every PROGRESS_INTERVAL."""

    def __init__(self, statuses: StatusStore, database: str, task_id: str) -> None:
        self._statuses, self._database, self._task_id = statuses, database, task_id
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last < PROGRESS_INTERVAL and done < total:
            return
        self._last = now
        progress = Progress.of(done, total)

        def report(r: StatusRecord) -> None:
            # Only into this run's own marker: never over another process's.
            if r.running is not None and lease.held_here(r.running):
                r.running = replace(r.running, progress=progress)

        self._statuses.update(self._database, self._task_id, report)
