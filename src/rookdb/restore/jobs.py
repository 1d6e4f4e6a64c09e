"""Restore jobs: a restore started now, run in a thread, followed by its id.

A restore can take minutes or hours (a large chain, a download from cold
storage): longer than an HTTP request should stay open. So the server's
`POST /restores`, the Studio and `rookdb --url ... restore` start it as a job
here and poll its status. The restore itself is `restore_database`; a job
only keeps what a caller needs to follow it: its state, progress in bytes,
the lines announcing slow steps (``notes``), then the result or the error.

Nothing given to *reach* the backups is kept where a caller can see it: the
source options (credentials) and the encryption key live only in the job's
thread, and any message quoting one of them is scrubbed before it is shown.

Finished jobs are remembered for a while (``keep_seconds``, at most
``keep_finished`` of them), so a caller that polls late still sees the outcome.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from rookdb.errors import AlreadyExists, InvalidInput, NotFound, RestoreError, RookError
from rookdb.instance import Instance, check_database_name
from rookdb.restore.importer import RestoreResult, restore_database
from rookdb.restore.source import is_destination_url, resolve_source
from rookdb.url_masking import masked_url

log = logging.getLogger(__name__)

RestoreCall = Callable[..., RestoreResult]
Clock = Callable[[], datetime]

KEEP_FINISHED = 100
KEEP_SECONDS = 3600.0
MAX_NOTES = 50
# Credentials shorter than this are not scrubbed from messages: replacing every
# "a" or "ab" would garble the text more than it protects.
MIN_SCRUBBED = 4
SCRUBBED = "********"


class JobState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


@dataclass(frozen=True)
class RestoreJobStatus:
    """What a caller sees of a restore job at one moment (its JSON form, typed)."""

    id: str
    source: str
    database: str
    until: str | None
    state: JobState
    done_bytes: int
    total_bytes: int | None
    notes: tuple[str, ...]
    started_at: str
    finished_at: str | None
    # The RestoreResult's JSON (chain_choice included) once done; the error's JSON
    # ({"error": code, "message", "field"?}) once failed.
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @property
    def fraction(self) -> float | None:
        """How much of the restore is done, 0..1 (None until the total is known)."""
        if self.state is JobState.DONE:
            return 1.0
        if not self.total_bytes:
            return None
        return min(1.0, self.done_bytes / self.total_bytes)

    @property
    def finished(self) -> bool:
        return self.state is not JobState.RUNNING

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "database": self.database,
            "until": self.until,
            "state": self.state.value,
            "progress": {
                "done_bytes": self.done_bytes,
                "total_bytes": self.total_bytes,
                "fraction": self.fraction,
            },
            "notes": list(self.notes),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "result": self.result,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RestoreJobStatus:
        """A status from its JSON form (as `rookdb.Client` receives it)."""
        progress = data.get("progress") or {}
        return cls(
            id=str(data["id"]),
            source=str(data["source"]),
            database=str(data["database"]),
            until=data.get("until"),
            state=JobState(data["state"]),
            done_bytes=int(progress.get("done_bytes") or 0),
            total_bytes=progress.get("total_bytes"),
            notes=tuple(data.get("notes") or ()),
            started_at=str(data["started_at"]),
            finished_at=data.get("finished_at"),
            result=data.get("result"),
            error=data.get("error"),
        )


@dataclass
class _Job:
    """One running or finished restore; updated by its thread, read by pollers."""

    id: str
    source: str
    database: str
    until: str | None
    started_at: datetime
    secrets: tuple[str, ...] = ()
    state: JobState = JobState.RUNNING
    done_bytes: int = 0
    total_bytes: int | None = None
    notes: list[str] = field(default_factory=list)
    finished_at: datetime | None = None
    result: RestoreResult | None = None
    error: RookError | None = None
    ended: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def progress(self, done: int, total: int) -> None:
        with self.lock:
            self.done_bytes, self.total_bytes = done, total or None

    def note(self, line: str) -> None:
        with self.lock:
            self.notes.append(self.scrub(line))
            del self.notes[:-MAX_NOTES]

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, SCRUBBED)
        return text

    def status(self) -> RestoreJobStatus:
        with self.lock:
            error = self.error.to_dict() if self.error is not None else None
            if error is not None:
                error["message"] = self.scrub(str(error["message"]))
            result = self.result.to_json() if self.result else None
            if result is not None:
                result["source"] = self.scrub(str(result["source"]))
            return RestoreJobStatus(
                id=self.id,
                source=self.scrub(self.source),
                database=self.database,
                until=self.until,
                state=self.state,
                done_bytes=self.done_bytes,
                total_bytes=self.total_bytes,
                notes=tuple(self.notes),
                started_at=_iso(self.started_at) or "",
                finished_at=_iso(self.finished_at),
                result=result,
                error=error,
            )


class RestoreJobs:
    """The restores one instance runs in the background (one per server, on its app state)."""

    def __init__(
        self,
        instance: Instance,
        *,
        restore: RestoreCall = restore_database,
        clock: Clock = utc_now,
        keep_seconds: float = KEEP_SECONDS,
        keep_finished: int = KEEP_FINISHED,
    ) -> None:
        self._instance = instance
        self._restore = restore
        self._clock = clock
        self._keep = timedelta(seconds=keep_seconds)
        self._keep_finished = keep_finished
        self._jobs: dict[str, _Job] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._stopping = False

    def start(
        self,
        source: str,
        database: str,
        *,
        until: str | None = None,
        encryption_key: str | None = None,
        source_options: dict[str, str] | None = None,
    ) -> RestoreJobStatus:
        """Start restoring `source` (a run folder path or destination URL) into the new
        `database`, up to `until`; what can be checked at once is checked before it starts."""
        check_restore_target(self._instance, database)
        until = until or None
        check_restore_source(source, source_options)
        secrets_given = [*(source_options or {}).values(), encryption_key or ""]
        job = _Job(
            id="r-" + secrets.token_hex(8),
            source=masked_url(source) if is_destination_url(source) else source,
            database=database,
            until=until,
            started_at=self._clock(),
            secrets=tuple(s for s in secrets_given if len(s) >= MIN_SCRUBBED),
        )
        thread = threading.Thread(
            target=self._run,
            args=(job, source, dict(source_options or {}) or None, encryption_key),
            name=f"restore-{job.id}",
            daemon=True,
        )
        with self._lock:
            if self._stopping:
                raise RestoreError("the server is shutting down; start the restore again later")
            running = self._running_into(database)
            if running is not None:
                raise AlreadyExists(
                    f"a restore into {database!r} is already running (job {running.id})",
                    field="database",
                )
            self._forget_old()
            self._jobs[job.id] = job
            self._threads[job.id] = thread
        thread.start()
        return job.status()

    def status(self, job_id: str) -> RestoreJobStatus:
        """A job's status; NotFound when the id is unknown or long forgotten."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"no restore job {job_id!r} (finished jobs are kept for a while)")
        return job.status()

    def list(self) -> list[RestoreJobStatus]:
        """Every remembered job, newest first."""
        with self._lock:
            jobs = list(self._jobs.values())
        return [job.status() for job in reversed(jobs)]

    def wait(self, job_id: str, timeout: float | None = None) -> RestoreJobStatus:
        """The job's status once it has finished (or when `timeout` seconds have passed)."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFound(f"no restore job {job_id!r}")
        job.ended.wait(timeout)
        return job.status()

    def stop(self, timeout: float = 5.0) -> None:
        """Refuse new jobs and give running ones `timeout` seconds to end (server shutdown).

        A job still running after that is abandoned with its thread: a restore
        builds aside, so the data dir never shows a half-restored database.
        """
        with self._lock:
            self._stopping = True
            threads = list(self._threads.values())
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(
        self,
        job: _Job,
        source: str,
        source_options: dict[str, str] | None,
        encryption_key: str | None,
    ) -> None:
        try:
            target = resolve_source(source, source_options, notify=job.note)
            result = self._restore(
                self._instance,
                target,
                job.database,
                until=job.until,
                encryption_key=encryption_key,
                progress=job.progress,
            )
        except RookError as exc:
            self._end(job, error=exc)
        except Exception as exc:  # a bug: the job says so rather than its thread dying silently
            log.exception("restore job %s failed unexpectedly", job.id)
            self._end(job, error=RestoreError(f"unexpected {type(exc).__name__}: {exc}"))
        else:
            choice = result.chain_choice
            if choice is not None and choice.was_a_choice:
                job.note(choice.describe())
            self._end(job, result=result)

    def _end(
        self, job: _Job, *, result: RestoreResult | None = None, error: RookError | None = None
    ) -> None:
        with job.lock:
            job.result, job.error = result, error
            job.state = JobState.DONE if error is None else JobState.FAILED
            job.finished_at = self._clock()
        with self._lock:
            self._threads.pop(job.id, None)
        job.ended.set()

    def _running_into(self, database: str) -> _Job | None:
        for job in self._jobs.values():
            if job.state is JobState.RUNNING and job.database.lower() == database.lower():
                return job
        return None

    def _forget_old(self) -> None:
        now = self._clock()
        finished = [j for j in self._jobs.values() if j.finished_at is not None]
        expired = [j for j in finished if j.finished_at and now - j.finished_at > self._keep]
        excess = finished[: max(0, len(finished) - self._keep_finished)]
        for job in {j.id: j for j in [*expired, *excess]}.values():
            del self._jobs[job.id]


def check_restore_target(instance: Instance, database: str) -> None:
    """The new database's name is allowed and not taken; InvalidInput/AlreadyExists naming it."""
    try:
        check_database_name(database)
    except InvalidInput as exc:
        raise InvalidInput(exc.message, field="database") from None
    if instance.has_database(database):
        raise AlreadyExists(
            f"database {database!r} already exists; restore under a new name", field="database"
        )


def check_restore_source(source: str, source_options: dict[str, str] | None = None) -> None:
    """SOURCE is usable before anything starts: a destination URL must make a valid
    destination config (port, host, endpoint_url ...) with its options; a path must be one
    the system can look up (no NUL, not too long) and takes no options."""
    if not source:
        raise InvalidInput(
            "give the backup location: a folder or a destination URL", field="source"
        )
    if is_destination_url(source):
        # Imported here: the config models load pydantic, which a local path never needs.
        from rookdb.destinations import config_from_url
        from rookdb.destinations.registry import parse_config  # the kind's module only

        config, _leaf = config_from_url(source, source_options or None)
        parse_config(config, as_input=True)
        return
    if source_options:
        raise InvalidInput("--source-option only applies to a destination URL", field="source")
    try:
        os.stat(source.removeprefix("file://"))
    except (FileNotFoundError, NotADirectoryError):
        pass  # the restore says which backup folder is missing
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InvalidInput(f"cannot read {source!r}: {reason}", field="source") from None


def is_absolute_source(source: str) -> bool:
    """A destination URL, or an absolute local path (what a remote caller can mean)."""
    return is_destination_url(source) or Path(source.removeprefix("file://")).is_absolute()
