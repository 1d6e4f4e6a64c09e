"""Where a restore reads its run folder from: a local folder, or a destination URL.

A source only has to hand the planner a local folder holding the run
folder's files. A local folder is used in place; a URL (``s3://bucket/prefix/
run-folder``, ``ftp://...``) goes through ``rookdb.destinations`` and its
files are downloaded into the restore's staging folder first, so they are
verified from local disk before anything is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from rookdb.backup import naming
from rookdb.errors import NotFound, RestoreError


class BackupSource(Protocol):
    """Anything that can put a run folder's files in a local folder."""

    description: str

    def fetch(self, work_dir: Path) -> Path:
        """A local folder holding the run folder's backup files."""
        ...


class LocalFolderSource:
    """A run folder on the local file system, read in place."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.description = str(self.path)

    def fetch(self, work_dir: Path) -> Path:
        if not self.path.is_dir():
            raise NotFound(f"backup folder {self.path} does not exist")
        return self.path


class DestinationSource:
    """A run folder on a backup destination, downloaded before the restore."""

    def __init__(self, url: str, credentials: dict[str, Any] | None = None) -> None:
        self.url = url
        self.credentials = credentials
        self.description = url

    def fetch(self, work_dir: Path) -> Path:
        from rookdb.destinations import from_url

        destination, leaf = from_url(self.url, self.credentials)
        prefix = f"{leaf}/" if leaf else ""
        files = [
            f
            for f in destination.list(prefix)
            if naming.is_backup_file_name(f.path.rsplit("/", 1)[-1])
            and f.path[len(prefix) :].count("/") == 0
        ]
        if not files:
            raise RestoreError(f"no backup files found at {self.url}")
        local = work_dir / (leaf or "run-folder")
        local.mkdir(parents=True, exist_ok=True)
        for remote in files:
            destination.get_file(remote.path, local / remote.path.rsplit("/", 1)[-1])
        return local


def resolve_source(source: str | Path | BackupSource) -> BackupSource:
    """A BackupSource for a path, a URL, or an object that already is one."""
    if isinstance(source, Path):
        return LocalFolderSource(source)
    if isinstance(source, str):
        if "://" in source and not source.startswith("file://"):
            return DestinationSource(source)
        if source.startswith("file://"):
            return LocalFolderSource(Path(source[len("file://") :]))
        return LocalFolderSource(Path(source))
    return source
