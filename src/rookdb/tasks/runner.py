"""One run of a backup task: write the file, upload it everywhere, record what happened.

The chain position (run folder, last etag) comes from the status store, not
from local files, so a restart or another node continues the same chain. The
staged file is deleted once uploaded: the status is all a later run needs.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rookdb import staging
from rookdb.backup import BackupFile, write_full_backup, write_incremental_backup
from rookdb.errors import RookError
from rookdb.instance import Instance
from rookdb.partial import DEFAULT_GRACE_SECONDS
from rookdb.storage import Database
from rookdb.tasks import lease, retention
from rookdb.tasks.clock import Clock, format_time
from rookdb.tasks.model import BackupKind, BackupTask
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
) -> dict[str, Any]:
    """Run one backup now and record it; returns the `last_run` entry (errors included)."""
    task, database = request.task, request.database
    started = clock.now()
    db = instance.database(database)
    running = lease.claim({"kind": request.kind, "started_at": format_time(started)}, node_tag)

    def take(r: StatusRecord) -> None:
        # The claim: one run of a task at a time, whichever process asks (TaskBusy).
        lease.check_free(r.running, f"a backup of task {task.id}")
        r.running = {**running, "kind": _kind_for(r, db, request.kind), "progress": {}}

    record = statuses.update(database, task.id, take) or StatusRecord.fresh(task.id, started)
    kind = _kind_for(record, db, request.kind)
    running["kind"] = kind
    run: dict[str, Any] = {
        "kind": kind,
        "type": task.type if kind == "full" else "backup",
        "started_at": format_time(started),
        "duration_ms": 0,
        "size_bytes": 0,
        "documents": 0,
        "error": None,
        "skipped": False,
        "manual": request.manual,
        "node": node_tag,
        "file": None,
        "last_etag": record.last_etag,
    }
    with lease.kept_alive(functools.partial(_update_running, statuses, database, task.id)):
        return _run(instance, statuses, request, record, run, running, clock, node_tag, started)


def _kind_for(record: StatusRecord, db: Database, asked: BackupKind) -> BackupKind:
    if record.run_folder is None or record.chain_database_id != db.database_id:
        return "full"  # no chain to continue (first run, new key, database re-created)
    return asked


def _update_running(
    statuses: StatusStore,
    database: str,
    task_id: str,
    change: Callable[[dict[str, Any] | None], dict[str, Any] | None],
) -> None:
    statuses.update(database, task_id, lambda r: setattr(r, "running", change(r.running)))


def _run(
    instance: Instance,
    statuses: StatusStore,
    request: RunRequest,
    record: StatusRecord,
    run: dict[str, Any],
    running: dict[str, Any],
    clock: Clock,
    node_tag: str,
    started: datetime,
) -> dict[str, Any]:
    """The run itself, once claimed: write, upload, retention, record the outcome."""
    task, database = request.task, request.database
    db = instance.database(database)
    kind: BackupKind = run["kind"]
    destinations: list[dict[str, Any]] = []
    t0 = time.monotonic()
    written: BackupFile | None = None
    try:
        # A run of its own, locked: another process running a task of this data dir
        # (a CLI command beside `rookdb serve`) never removes this run's file.
        with staging.work_folder(staging_root(instance), prefix=f"{task.id}-") as folder:
            _reserve_previous_names(folder, record)
            written = _write(db, folder, task, kind, record, node_tag, started, statuses, running)
            if written is None:
                run["skipped"] = True
                destinations = [_skipped(d, started) for d in task.destination_dicts()]
            else:
                run.update(
                    file=written.relative_path,
                    size_bytes=written.size_bytes,
                    documents=written.documents,
                    last_etag=written.last_etag,
                )
                destinations, run["error"] = _upload(task, written, state_root(instance, task.id))
    except RookError as exc:
        run["error"] = exc.message
    except OSError as exc:
        run["error"] = f"cannot write the backup file: {exc.strerror or exc}"
    except Exception as exc:
        # The traceback goes to the log; the status gets one line a user can act on.
        log.exception("backup task %s of %s failed", task.id, database)
        run["error"] = f"unexpected {type(exc).__name__}: {exc}"
    run["duration_ms"] = int((time.monotonic() - t0) * 1000)
    if run["error"] is None and written is not None and kind == "full":
        run["retention"] = _apply_retention(instance, database, task, written, clock)
    cleaned = _remove_abandoned_uploads(task, state_root(instance, task.id))
    if cleaned:
        run["cleaned_up"] = cleaned

    def finish(r: StatusRecord) -> None:
        if lease.held_here(r.running):
            r.running = None
        r.runs += 1
        r.last_run = run
        r.destinations = destinations
        r.last_attempt = {"at": started.isoformat(), "kind": kind}
        if run["error"] is not None:
            r.failures += 1
            return
        r.last_success = started.isoformat()
        if written is None:
            return
        r.last_etag = written.last_etag
        r.last_file = written.file_name
        if kind == "full":
            r.last_full_backup = started.isoformat()
            r.run_folder = written.run_folder
            r.chain_database_id = db.database_id
        else:
            r.last_incremental_backup = started.isoformat()

    statuses.update(database, task.id, finish)
    statuses.add_history(database, task.id, run)
    return run


def _write(
    db: Database,
    folder: Path,
    task: BackupTask,
    kind: BackupKind,
    record: StatusRecord,
    node_tag: str,
    started: datetime,
    statuses: StatusStore,
    running: dict[str, Any],
) -> BackupFile | None:
    progress = _progress_reporter(statuses, db.name, task.id, running)
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
) -> list[dict[str, Any]]:
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
        return [{"destination": None, "deleted_folders": [], "error": f"{type(exc).__name__}"}]
    return [r.to_json() for r in results]


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
) -> tuple[list[dict[str, Any]], str | None]:
    configs = task.destination_dicts()
    entries = upload_all(configs, written.path, written.relative_path, state_dir=state_dir)
    failed = [e for e in entries if e["state"] == "failed"]
    if not failed:
        return entries, None
    names = ", ".join(f"{e['name']}: {e['error']}" for e in failed)
    # A failed run leaves the chain position where it was, so the file is taken
    # back off the destinations that got it: a failed incremental would overlap
    # the next one, and a failed full would leave a newer-looking chain there
    # while the task goes on with the old one (a restore of that folder would
    # then miss every later incremental). Restore still picks the chain by the
    # evidence (rookdb.backup.catalog) for when taking back fails too.
    for config, entry in zip(configs, entries, strict=True):
        if entry["state"] == "done":
            try:
                delete_file(config, written.relative_path, state_dir=state_dir)
                entry.update(state="failed", error="removed again: another destination failed")
            except RookError as exc:
                entry.update(state="failed", error=f"could not remove again: {exc.message}")
    return entries, f"{len(failed)} of {len(entries)} destinations failed ({names})"


def _skipped(config: dict[str, Any], at: datetime) -> dict[str, Any]:
    return {
        "kind": config.get("kind"),
        "name": display_name(config),
        "state": "skipped",
        "error": "no change since the last backup",
        "at": format_time(at),
    }


class _ProgressReporter:
    def __init__(
        self, statuses: StatusStore, database: str, task_id: str, running: dict[str, Any]
    ) -> None:
        self._statuses, self._database, self._task_id = statuses, database, task_id
        self._running = running
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self._last < PROGRESS_INTERVAL and done < total:
            return
        self._last = now
        percent = round(100.0 * done / total, 1) if total else 100.0
        progress = {"done": done, "total": total, "percent": percent}

        def report(marker: dict[str, Any] | None) -> dict[str, Any] | None:
            # Only into this run's own marker: never over another process's.
            if marker is None or not lease.held_here(marker):
                return marker
            return {**marker, "progress": progress}

        _update_running(self._statuses, self._database, self._task_id, report)


def _progress_reporter(
    statuses: StatusStore, database: str, task_id: str, running: dict[str, Any]
) -> _ProgressReporter:
    return _ProgressReporter(statuses, database, task_id, running)
