"""Local folder destination: copy to a temporary name, then rename into place.

URLs: ``file:///backups/run-folder`` or a plain path (made absolute here, by
the process that was given it).
"""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Literal
from urllib.parse import SplitResult, unquote

from pydantic import Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from rookdb import partial
from rookdb.destinations.base import (
    Destination,
    Progress,
    RemoteFile,
    clean_remote_path,
    file_size,
)
from rookdb.destinations.registry import Backend
from rookdb.destinations.schema import ConfigModel, NonEmpty, is_input
from rookdb.errors import (
    DestinationAccessDenied,
    DestinationError,
    DestinationUnavailable,
    InvalidInput,
    NotFound,
)

# Files being written carry this marker; list() never shows them.
TEMP_MARKER = partial.UPLOAD_PREFIX
_CHUNK = 1024 * 1024


class LocalConfig(ConfigModel):
    """A folder on this machine (or a mounted share)."""

    title = "Local folder"
    label = "Local"
    label_field = "path"

    kind: Literal["local"] = "local"
    path: NonEmpty = Field(
        title="Folder",
        description="Any folder the server can write to (a mounted share works too).",
        examples=["/var/backups/rookdb"],
    )

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str, info: ValidationInfo) -> str:
        # A relative path would be read from the server's working directory, which
        # nobody chose; the CLI turns its own relative arguments into absolute ones.
        if is_input(info) and not (
            PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute()
        ):
            raise PydanticCustomError(
                "absolute_path", "must be an absolute path, e.g. /var/backups/rookdb"
            )
        return value


def parse_url(url: str, parts: SplitResult) -> tuple[dict[str, Any], str]:
    """``file:///x/run`` or the plain path ``/x/run``: folder ``/x``, leaf ``run``."""
    path = Path(unquote(parts.path)) if parts.scheme.lower() == "file" else Path(url)
    # Resolved here, by the process given the path: a local config must be absolute.
    try:
        path = path.expanduser().absolute()
    except RuntimeError as exc:  # "~someone" with no such user
        raise InvalidInput(f"cannot resolve {str(path)!r}: {exc}", field="url") from None
    return {"path": str(path.parent)}, path.name


class LocalDestination(Destination):
    """A folder; the same relative layout as every other destination."""

    kind = "local"
    parallel_reads = 8  # each read opens the file

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser()

    @property
    def name(self) -> str:
        """Display name."""
        return f"Local ({self.root})"

    def put_file(
        self, local_path: Path, remote_path: str, progress: Progress | None = None
    ) -> None:
        """Copy into a temporary file next to the target, then rename it into place."""
        target = self._path(remote_path)
        file_size(local_path)
        with self._errors(f"write {remote_path}"):
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(f"{TEMP_MARKER}{uuid.uuid4().hex}-{target.name}")
            # Locked while written, so a clean-up never removes a live upload.
            lock = partial.open_locked(temp)
            try:
                _copy(local_path, temp, progress)
                os.replace(temp, target)
            finally:
                temp.unlink(missing_ok=True)
                lock.close()

    def list(self, prefix: str = "") -> list[RemoteFile]:
        """Files under the root whose relative path starts with prefix."""
        prefix = prefix.lstrip("/")
        if not self.root.is_dir():
            if self.root.exists():
                raise DestinationAccessDenied(f"{self.name}: {self.root} is not a folder")
            return []
        # Walk only the deepest folder the prefix names, not the whole tree.
        base_dir = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
        start = self.root / base_dir
        found: list[RemoteFile] = []
        with self._errors("list files"):
            for dirpath, _dirs, files in os.walk(start):
                for filename in files:
                    if filename.startswith(TEMP_MARKER):
                        continue
                    full = Path(dirpath) / filename
                    rel = full.relative_to(self.root).as_posix()
                    if not rel.startswith(prefix):
                        continue
                    try:
                        st = full.stat()
                    except FileNotFoundError:
                        continue  # deleted while listing
                    modified = datetime.fromtimestamp(st.st_mtime, tz=UTC)
                    found.append(RemoteFile(rel, st.st_size, modified))
        return sorted(found, key=lambda f: f.path)

    def get_file(self, remote_path: str, local_path: Path) -> None:
        """Copy a file out of the folder."""
        source = self._path(remote_path)
        if not source.is_file():
            raise NotFound(f"{self.name}: no file {clean_remote_path(remote_path)}")
        local_path = Path(local_path)
        temp = local_path.with_name(f"{local_path.name}.{uuid.uuid4().hex}.part")
        with self._errors(f"read {remote_path}"):
            local_path.parent.mkdir(parents=True, exist_ok=True)
            try:
                _copy(source, temp, None)
                os.replace(temp, local_path)
            finally:
                temp.unlink(missing_ok=True)

    def read_range(self, remote_path: str, offset: int, length: int) -> bytes:
        """Bytes of a file from `offset`, read in place."""
        source = self._path(remote_path)
        if not source.is_file():
            raise NotFound(f"{self.name}: no file {clean_remote_path(remote_path)}")
        with self._errors(f"read {remote_path}"), open(source, "rb") as file:
            file.seek(offset)
            return file.read(length)

    def delete(self, remote_path: str) -> None:
        """Delete a file and any folders it leaves empty."""
        target = self._path(remote_path)
        with self._errors(f"delete {remote_path}"):
            target.unlink(missing_ok=True)
            parent = target.parent
            while parent != self.root and self.root in parent.parents:
                try:
                    parent.rmdir()
                except OSError:
                    break  # not empty: other files of the run folder remain
                parent = parent.parent

    def remove_abandoned_uploads(self, grace_seconds: float) -> tuple[str, ...]:
        """Delete uploads a killed process left half-written (and run folders left empty)."""
        if not self.root.is_dir():
            return ()
        with self._errors("clean up abandoned uploads"):
            cleanup = partial.remove_abandoned(self.root, grace_seconds=grace_seconds)
        return cleanup.files

    def _path(self, remote_path: str) -> Path:
        return self.root / clean_remote_path(remote_path)

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except PermissionError as exc:
            raise DestinationAccessDenied(
                f"{self.name}: permission denied to {action} ({exc.strerror}: {exc.filename})"
            ) from exc
        except OSError as exc:
            if exc.errno in (errno.ENOTDIR, errno.EEXIST, errno.EROFS):
                raise DestinationAccessDenied(
                    f"{self.name}: cannot {action}: {exc.filename} is not a writable folder"
                    f" ({exc.strerror})"
                ) from exc
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DestinationError(f"{self.name}: no space left to {action}") from exc
            if exc.errno in (errno.EIO, errno.ESTALE, errno.ETIMEDOUT, errno.EAGAIN):
                raise DestinationUnavailable(
                    f"{self.name}: could not {action}: {exc.strerror}"
                ) from exc
            raise DestinationError(f"{self.name}: could not {action}: {exc.strerror}") from exc


def _copy(source: Path, target: Path, progress: Progress | None) -> None:
    # Chunked copy so progress can be reported; fsync so a rename after a
    # crash never exposes a file whose bytes are not on disk.
    if progress is None:
        shutil.copyfile(source, target)  # in-kernel copy (sendfile) where the OS has one
        with open(target, "rb+") as dst:
            os.fsync(dst.fileno())
        return
    with open(source, "rb") as src, open(target, "wb") as dst:
        while chunk := src.read(_CHUNK):
            dst.write(chunk)
            progress(len(chunk))
        dst.flush()
        os.fsync(dst.fileno())


def create(config: LocalConfig, state_dir: Path | None = None) -> LocalDestination:
    """Build from a validated config (registry entry point)."""
    return LocalDestination(config.path)


BACKEND = Backend("local", ("file",), LocalConfig, parse_url, create)
