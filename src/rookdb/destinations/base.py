"""The one destination interface, and the small path helpers every backend shares.

A destination is a place backup files go: a local folder, an S3 bucket, an
Azure container, a GCS bucket, a Glacier vault or an FTP folder. Every
backend stores the same relative layout (``run-folder/file``) under its root
and makes a file visible as complete only once its upload finished. Backends
are found by kind or URL scheme through ``registry``.
"""

from __future__ import annotations

import filecmp
import os
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from rookdb.errors import DestinationError, InvalidInput

Progress = Callable[[int], None]
"""Called with the number of bytes transferred since the previous call."""

PROBE_PREFIX = ".rookdb-probe-"
ProbeStep = Literal["write", "read back", "delete"]
PROBE_STEPS: tuple[ProbeStep, ...] = ("write", "read back", "delete")


RetrievalState = Literal["not-requested", "in-progress", "ready", "failed"]


class ArchiveNeedsRetrieval(DestinationError):
    """A file in cold storage (Glacier) that must be retrieved before any of it is read."""

    http_status = 409
    code = "needs-retrieval"


@dataclass(frozen=True)
class RemoteFile:
    """One file on a destination; ``path`` is relative to its root, "/"-separated."""

    path: str
    size: int
    modified: datetime | None

    def to_json(self) -> dict[str, object]:
        """The JSON shape used by the API and ``--json`` output."""
        return {
            "path": self.path,
            "size": self.size,
            "modified": self.modified.isoformat() if self.modified else None,
        }


class Destination(ABC):
    """A place backup files are uploaded to and restored from."""

    kind: str = ""

    @property
    @abstractmethod
    def name(self) -> str:
        """Display name, e.g. "Local (/backups)" or "S3 (bucket)"."""

    @abstractmethod
    def put_file(
        self, local_path: Path, remote_path: str, progress: Progress | None = None
    ) -> None:
        """Upload a local file; it becomes visible only when complete."""

    @abstractmethod
    def list(self, prefix: str = "") -> list[RemoteFile]:
        """Every file whose relative path starts with ``prefix``, sorted by path."""

    @abstractmethod
    def get_file(self, remote_path: str, local_path: Path) -> None:
        """Download a file; raises NotFound when it does not exist."""

    @abstractmethod
    def delete(self, remote_path: str) -> None:
        """Delete a file; deleting a missing file is not an error."""

    def read_range(self, remote_path: str, offset: int, length: int) -> bytes:
        """Bytes ``[offset, offset + length)`` of a file (fewer at its end), nothing else
        downloaded: the backup explorer reads a catalog block and a data block this way."""
        raise DestinationError(f"{self.name}: reading part of a file is not supported")

    # How many `read_range` calls one destination object may serve at once from several
    # threads: the explorer reads the ends of a chain's files side by side, as the
    # latency of a request, not its size, is what a look-up waits for. 1 where the SDK's
    # client is not known to be safe to share between threads.
    parallel_reads: int = 1

    def check_access(self) -> None:
        """Write, read back and delete a probe file; raise a specific DestinationError."""
        probe = f"{PROBE_PREFIX}{uuid.uuid4().hex}"
        payload = f"rookdb access probe {probe}\n".encode()
        with tempfile.TemporaryDirectory(prefix="rookdb-probe-") as tmp:
            sent = Path(tmp) / "sent"
            received = Path(tmp) / "received"
            sent.write_bytes(payload)
            probe_step(self, "write", lambda: self.put_file(sent, probe))
            try:
                probe_step(self, "read back", lambda: self._read_back(probe, sent, received))
            finally:
                probe_step(self, "delete", lambda: self.delete(probe))

    def _read_back(self, probe: str, sent: Path, received: Path) -> None:
        self.get_file(probe, received)
        if not filecmp.cmp(sent, received, shallow=False):
            raise DestinationError(
                f"{self.name}: the probe file read back differs from what was written"
            )

    # True when list() answers from a record kept on this machine (Glacier's archive
    # inventory) rather than from the server: a fresh machine must rebuild it first.
    local_listing: bool = False

    def rebuild_listing(self) -> int:
        """Recreate the local record of files from the service; how many files it now holds."""
        return len(self.list())

    def request_retrieval(self, remote_paths: Sequence[str]) -> int:
        """Ask cold storage to make these files readable; how many wait for a retrieval.

        Most destinations read at once and return 0. Glacier starts (or reuses) one
        retrieval job per archive here, so a restore waits for all of them at once.
        """
        return 0

    def retrieval_states(self, remote_paths: Sequence[str]) -> dict[str, RetrievalState]:
        """Where each file stands before it can be read: "ready" on destinations that read at
        once; on cold storage also "not-requested", "in-progress" or "failed"."""
        return dict.fromkeys(remote_paths, "ready")

    def remove_abandoned_uploads(self, grace_seconds: float) -> tuple[str, ...]:
        """Delete partial uploads of killed processes, untouched for `grace_seconds`.

        Object stores never show a partial upload (it is not an object until it
        completes), so only backends that write under a temporary name clean up.
        """
        return ()

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release connections held by the destination."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


def probe_step(destination: Destination, step: ProbeStep, action: Callable[[], None]) -> None:
    """Run one step of ``check_access``; a failure says (and records) which step it was."""
    # The error keeps its class (access denied vs unavailable) so callers can still
    # tell them apart; `failed_step` reads the step back for "test connection".
    try:
        action()
    except DestinationError as exc:
        failure = type(exc)(f"check access: could not {step} a probe file: {exc.message}")
        failure.probe_step = step  # type: ignore[attr-defined]
        raise failure from exc


def failed_step(error: BaseException) -> ProbeStep | None:
    """Which step of ``check_access`` raised ``error`` ("write", "read back", "delete")."""
    step = getattr(error, "probe_step", None)
    return step if step in PROBE_STEPS else None


def clean_remote_path(remote_path: str, *, allow_empty: bool = False) -> str:
    """Normalise a relative remote path; reject absolute paths and ".."."""
    parts = [p for p in remote_path.replace("\\", "/").split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise InvalidInput(f"remote path {remote_path!r} must not contain '..'", field="path")
    if not parts and not allow_empty:
        raise InvalidInput("remote path must not be empty", field="path")
    return "/".join(parts)


def join_key(root: str, remote_path: str) -> str:
    """Join an object-store prefix and a relative path with exactly one "/"."""
    root = root.strip("/")
    return f"{root}/{remote_path}" if root else remote_path


def file_size(local_path: Path) -> int:
    """The size of a local file to upload (raises a clear error when missing)."""
    try:
        return os.stat(local_path).st_size
    except FileNotFoundError as exc:
        raise InvalidInput(f"local file {local_path} does not exist", field="path") from exc
