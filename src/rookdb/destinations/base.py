"""The one destination interface, the registry of backends and URL parsing.

A destination is a place backup files go: a local folder, an S3 bucket, an
Azure container, a GCS bucket, a Glacier vault or an FTP folder. Every
backend stores the same relative layout (``run-folder/file``) under its root
and makes a file visible as complete only once its upload finished.

Backends are imported lazily by kind, so using the local destination never
imports boto3 or the Azure SDK.
"""

from __future__ import annotations

import filecmp
import importlib
import os
import tempfile
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from rookdb.errors import DestinationError, InvalidInput
from rookdb.url_masking import masked_url

Progress = Callable[[int], None]
"""Called with the number of bytes transferred since the previous call."""

PROBE_PREFIX = ".rookdb-probe-"
ProbeStep = Literal["write", "read back", "delete"]
PROBE_STEPS: tuple[ProbeStep, ...] = ("write", "read back", "delete")


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


# Backends by kind: module path relative to this package, imported on first use.
_BACKENDS: dict[str, str] = {
    "local": "rookdb.destinations.local",
    "s3": "rookdb.destinations.s3",
    "azure": "rookdb.destinations.azure",
    "gcs": "rookdb.destinations.gcs",
    "glacier": "rookdb.destinations.glacier",
    "ftp": "rookdb.destinations.ftp",
}

# URL schemes accepted by from_url, mapped to a kind.
_SCHEMES: dict[str, str] = {
    "file": "local",
    "s3": "s3",
    "az": "azure",
    "azure": "azure",
    "abfs": "azure",
    "gs": "gcs",
    "gcs": "gcs",
    "glacier": "glacier",
    "ftp": "ftp",
    "ftps": "ftp",
}


def from_config(
    config: dict[str, Any], *, state_dir: Path | None = None, as_input: bool = False
) -> Destination:
    """Build a destination from one entry of a task's "destinations" list.

    ``state_dir`` is where a backend may keep local state (the Glacier
    inventory); the task runner passes the task's data folder. ``as_input``:
    the config was just entered, so ``parse_config``'s input-only rules apply.
    """
    from rookdb.destinations.config import parse_config

    model = parse_config(config, as_input=as_input)
    module = importlib.import_module(_BACKENDS[model.kind])
    destination: Destination = module.create(model, state_dir=state_dir)
    return destination


def from_url(
    url: str, credentials: dict[str, Any] | None = None, *, state_dir: Path | None = None
) -> tuple[Destination, str]:
    """Split a URL into (destination rooted at the URL's parent, last path segment).

    ``s3://bucket/prefix/run-folder`` gives an S3 destination rooted at
    ``prefix`` and ``"run-folder"``; ``file:///x/y`` or a plain path gives a
    local destination rooted at ``/x`` and ``"y"``. ``credentials`` holds
    the remaining config fields (keys, endpoint_url, region ...).
    """
    config, leaf = config_from_url(url, credentials)
    return from_config(config, state_dir=state_dir, as_input=True), leaf


def config_from_url(
    url: str, credentials: dict[str, Any] | None = None
) -> tuple[dict[str, Any], str]:
    """The destination config and leaf name that ``from_url`` builds from a URL."""
    extra = dict(credentials or {})
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed "[" of an IPv6 host
        raise InvalidInput(f"{masked_url(url)} is not a valid URL: {exc}", field="url") from None
    scheme = parts.scheme.lower()
    # A Windows drive letter parses as a one-letter scheme; treat it as a path.
    if not scheme or len(scheme) == 1:
        return _local_config(Path(url), extra)
    kind = _SCHEMES.get(scheme)
    if kind is None:
        allowed = ", ".join(sorted(f"{s}://" for s in _SCHEMES))
        raise InvalidInput(f"unknown destination URL scheme {scheme!r}; use {allowed}", field="url")
    if kind == "local":
        return _local_config(Path(unquote(parts.path)), extra)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    leaf = segments.pop() if segments else ""
    prefix = "/".join(segments)
    config: dict[str, Any] = {"kind": kind}
    if kind in ("s3", "gcs"):
        config.update(bucket=parts.netloc, prefix=prefix)
    elif kind == "azure":
        # az://container/prefix/leaf; the account comes from the credentials.
        config.update(container=parts.netloc, prefix=prefix)
    elif kind == "glacier":
        config.update(vault=parts.netloc, prefix=prefix)
    else:  # ftp
        config.update(host=parts.hostname or "", folder="/" + prefix, tls=scheme == "ftps")
        try:
            port = parts.port
        except ValueError:  # not a number, or not 0-65535
            raise InvalidInput(
                f"{masked_url(url)}: the port must be a number from 1 to 65535", field="url"
            ) from None
        if port:
            config["port"] = port
        if parts.username:
            config["user"] = unquote(parts.username)
        if parts.password:
            config["password"] = unquote(parts.password)
    config.update(extra)
    return config, leaf


def _local_config(path: Path, extra: dict[str, Any]) -> tuple[dict[str, Any], str]:
    # Resolved here, by the process given the path: a local config must be absolute.
    try:
        path = path.expanduser().absolute()
    except RuntimeError as exc:  # "~someone" with no such user
        raise InvalidInput(f"cannot resolve {str(path)!r}: {exc}", field="url") from None
    return {"kind": "local", "path": str(path.parent), **extra}, path.name


def public_config(config: dict[str, Any]) -> dict[str, Any]:
    """The config with every secret masked, safe for API responses and logs."""
    from rookdb.destinations.config import SECRET_FIELDS

    masked: dict[str, Any] = {}
    for key, value in config.items():
        if key in SECRET_FIELDS:
            masked[key] = "********" if value else None
        else:
            masked[key] = value
    return masked
