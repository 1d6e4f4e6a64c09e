"""Upload one backup file to several destinations in parallel.

One destination failing never fails the others: each gets its own result
("done", "failed" with the reason, or "skipped"), and ``missing_files`` tells
the next run what still has to go up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from rookdb.destinations.base import Destination, clean_remote_path
from rookdb.destinations.retry import RetryPolicy, with_retry
from rookdb.errors import RookError

log = logging.getLogger(__name__)

UploadState = Literal["done", "failed", "skipped"]


@dataclass(frozen=True)
class UploadResult:
    """What happened to one file on one destination (the status' "destinations" entry)."""

    kind: str
    name: str
    state: UploadState
    error: str | None
    at: datetime
    attempts: int = 1

    def to_json(self) -> dict[str, object]:
        """The JSON shape of a task status' "destinations" entry."""
        return {
            "kind": self.kind,
            "name": self.name,
            "state": self.state,
            "error": self.error,
            "at": self.at.isoformat().replace("+00:00", "Z"),
        }


def _utcnow() -> datetime:
    return datetime.now(UTC)


def upload_to_all(
    destinations: Sequence[Destination],
    local_path: Path,
    remote_path: str,
    *,
    retry: RetryPolicy | None = None,
    skip_existing: bool = False,
    clock: Callable[[], datetime] = _utcnow,
) -> list[UploadResult]:
    """Upload ``local_path`` to every destination at once; one result per destination, in order.

    With ``skip_existing`` a destination that already holds the file at the
    same size is "skipped" (a re-run uploading only what is missing).
    """
    local_path = Path(local_path)
    remote_path = clean_remote_path(remote_path)
    if not destinations:
        return []

    def one(destination: Destination) -> UploadResult:
        attempts = 0

        def upload() -> None:
            nonlocal attempts
            attempts += 1
            destination.put_file(local_path, remote_path)

        try:
            if skip_existing and _has_same_file(destination, local_path, remote_path):
                return UploadResult(destination.kind, destination.name, "skipped", None, clock(), 0)
            with_retry(
                upload,
                retry,
                on_retry=lambda n, exc: log.warning(
                    "upload of %s to %s failed (attempt %d), retrying: %s",
                    remote_path,
                    destination.name,
                    n,
                    exc.message,
                ),
            )
        except RookError as exc:
            log.warning("upload of %s to %s failed: %s", remote_path, destination.name, exc.message)
            return UploadResult(
                destination.kind, destination.name, "failed", exc.message, clock(), attempts
            )
        except Exception as exc:
            # A backend bug must not sink the other uploads; the type is enough
            # for the status, the log keeps the traceback.
            log.exception("upload of %s to %s crashed", remote_path, destination.name)
            reason = f"unexpected {type(exc).__name__} while uploading"
            return UploadResult(
                destination.kind, destination.name, "failed", reason, clock(), attempts
            )
        return UploadResult(destination.kind, destination.name, "done", None, clock(), attempts)

    with ThreadPoolExecutor(max_workers=len(destinations), thread_name_prefix="upload") as pool:
        return list(pool.map(one, destinations))


def _has_same_file(destination: Destination, local_path: Path, remote_path: str) -> bool:
    size = local_path.stat().st_size
    return any(f.path == remote_path and f.size == size for f in destination.list(remote_path))


def missing_files(destination: Destination, expected_paths: Iterable[str]) -> list[str]:
    """The expected relative paths the destination does not hold (listing each folder once)."""
    wanted = [clean_remote_path(p) for p in expected_paths]
    folders = sorted({p.rsplit("/", 1)[0] + "/" if "/" in p else "" for p in wanted})
    present: set[str] = set()
    for folder in folders:
        present.update(f.path for f in destination.list(folder))
    return [p for p in wanted if p not in present]
