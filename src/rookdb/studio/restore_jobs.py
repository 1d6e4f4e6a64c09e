"""Restores started from the Studio: each runs in a thread; the page polls its progress.

The restore itself is `rookdb.restore.restore_database`; this only keeps, per
job, what the progress page shows (state, a line of text, a fraction, the error),
and the sources the user listed, so that credentials typed once stay on the
server between "show backups" and "restore" instead of going back to the browser.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rookdb.errors import RookError
from rookdb.instance import Instance

# Finished jobs kept for their pages; older ones are forgotten.
KEEP_FINISHED = 20
# Listed sources (with their credentials) are forgotten after this long.
SOURCE_TTL_SECONDS = 3600.0

RestoreCall = Callable[..., Any]


@dataclass(frozen=True)
class ListedSource:
    """A backup source the user listed: where, and the credentials given for it."""

    id: str
    source: str
    credentials: dict[str, Any] | None
    listed_at: float


@dataclass
class RestoreJob:
    """One restore into a new database, as the progress page shows it."""

    id: str
    source: str
    database: str
    until: str | None
    state: str = "running"  # running | done | failed
    message: str = "Starting…"
    fraction: float | None = None
    error: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def to_json(self) -> dict[str, Any]:
        """What the progress page polls."""
        with self._lock:
            return {
                "id": self.id,
                "source": self.source,
                "database": self.database,
                "until": self.until,
                "state": self.state,
                "message": self.message,
                "fraction": self.fraction,
                "error": self.error,
            }

    def report(self, *args: Any, **kwargs: Any) -> None:
        """Progress callback: accepts (done, total), a number of bytes, or a dict of counters."""
        value = args[0] if args else kwargs
        with self._lock:
            if len(args) == 2 and all(isinstance(a, int | float) for a in args) and args[1]:
                self.fraction = min(1.0, float(args[0]) / float(args[1]))
                self.message = f"Restoring… {int(self.fraction * 100)}%"
            elif isinstance(value, dict) and value:
                done, total = value.get("done_bytes"), value.get("total_bytes")
                if isinstance(done, int | float) and isinstance(total, int | float) and total:
                    self.fraction = min(1.0, done / total)
                words = [f"{v:,} {k.replace('_', ' ')}" for k, v in value.items() if _counter(k, v)]
                stage = value.get("stage") or value.get("file")
                self.message = "Restoring… " + " · ".join([str(stage)] * bool(stage) + words[:3])


class RestoreJobs:
    """The restores this server started from the Studio."""

    def __init__(self, instance: Instance, restore: RestoreCall) -> None:
        self._instance = instance
        self._restore = restore
        self._jobs: dict[str, RestoreJob] = {}
        self._sources: dict[str, ListedSource] = {}
        self._lock = threading.Lock()

    def remember_source(self, source: str, credentials: dict[str, Any] | None) -> ListedSource:
        """Keep a listed source for the restore that follows."""
        now = time.monotonic()
        listed = ListedSource(secrets.token_hex(8), source, credentials or None, now)
        with self._lock:
            for key in [
                k for k, v in self._sources.items() if now - v.listed_at > SOURCE_TTL_SECONDS
            ]:
                del self._sources[key]
            self._sources[listed.id] = listed
        return listed

    def source(self, source_id: str) -> ListedSource | None:
        """A listed source, while it is remembered."""
        with self._lock:
            return self._sources.get(source_id)

    def start(
        self,
        source: Any,
        database: str,
        *,
        until: str | None,
        encryption_key: str | None,
        description: str,
    ) -> RestoreJob:
        """Start restoring `source` (a path, URL or BackupSource) up to `until` into `database`."""
        job = RestoreJob(secrets.token_hex(6), description, database, until)
        with self._lock:
            self._forget_old()
            self._jobs[job.id] = job
        thread = threading.Thread(
            target=self._run,
            args=(job, source, encryption_key),
            name=f"studio-restore-{job.id}",
            daemon=True,
        )
        thread.start()
        return job

    def get(self, job_id: str) -> RestoreJob | None:
        """A job by id, while it is remembered."""
        with self._lock:
            return self._jobs.get(job_id)

    def _run(self, job: RestoreJob, source: Any, encryption_key: str | None) -> None:
        try:
            self._restore(
                self._instance,
                source,
                job.database,
                until=job.until,
                encryption_key=encryption_key,
                progress=job.report,
            )
        except RookError as exc:
            with job._lock:
                job.state, job.error, job.message = "failed", exc.message, "The restore failed."
            return
        except Exception as exc:  # noqa: BLE001 - shown on the page instead of a dead thread
            with job._lock:
                job.state, job.message = "failed", "The restore failed."
                job.error = f"unexpected {type(exc).__name__}: {exc}"
            return
        with job._lock:
            job.state, job.fraction = "done", 1.0
            job.message = f"Restored into {job.database}."

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.state != "running"]
        for job in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job.id]


def _counter(key: str, value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and not key.endswith("_bytes")
