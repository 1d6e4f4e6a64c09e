"""Where a restore reads its run folder from: a local folder, or a destination URL.

A source only has to hand the planner a local folder holding the run
folder's files. A local folder is used in place; a URL (``s3://bucket/prefix/
run-folder``, ``ftp://...``) goes through ``rookdb.destinations`` and its
files are downloaded into the restore's staging folder first, so they are
verified from local disk before anything is built.

Cold storage (Glacier) needs two extra steps, both announced through
``notify`` because they can take hours on AWS: a machine that never wrote
to the vault first rebuilds its archive list from Glacier's inventory, and
every archive needs a retrieval job before it can be downloaded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from rookdb.backup.catalog import choose_listed, group_listing
from rookdb.errors import InvalidInput, NotFound, RestoreError
from rookdb.url_masking import masked_url

log = logging.getLogger(__name__)

Notify = Callable[[str], None]
"""Receives one line for the user about a slow step (an inventory rebuild, a retrieval)."""


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

    def __init__(
        self,
        url: str,
        credentials: dict[str, Any] | None = None,
        *,
        notify: Notify | None = None,
    ) -> None:
        self.url = url
        self.credentials = credentials
        self.description = masked_url(url)
        self.notify: Notify = notify or log.info
        # The point asked, so a folder of run folders downloads only the chain it needs.
        self.until: str | None = None

    def fetch(self, work_dir: Path) -> Path:
        from rookdb.destinations import from_url

        destination, leaf = from_url(self.url, self.credentials)
        try:
            local = work_dir / (_local_name(leaf) or "run-folder")
            prefix = f"{leaf}/" if leaf else ""
            files = self._backup_files(destination.list(prefix), leaf)
            if not files and destination.local_listing:
                self.notify(
                    f"{destination.name}: this machine has no record of {self.description}; "
                    "asking the service for its inventory (on AWS Glacier this takes hours)"
                )
                destination.rebuild_listing()
                files = self._backup_files(destination.list(prefix), leaf)
            if not files:
                raise RestoreError(f"no backup files found at {self.description}")
            waiting = destination.request_retrieval(files)
            if waiting:
                self.notify(
                    f"{destination.name}: requested the retrieval of {waiting} archive(s); "
                    "they can be downloaded once the retrieval jobs finish (minutes to hours), "
                    "waiting for them"
                )
            local.mkdir(parents=True, exist_ok=True)
            for remote in files:
                below = remote[len(prefix) :]  # "name", or "run-folder/name" for a chain below
                (local / below).parent.mkdir(parents=True, exist_ok=True)
                destination.get_file(remote, local / below)
            return local
        finally:
            destination.close()

    def _backup_files(self, listed: list[Any], leaf: str) -> list[str]:
        # The run folder's own files; for a folder of run folders, only the current
        # chain's (as of the point asked): never every chain of the bucket.
        folders = group_listing(listed, leaf)
        own = [folder for folder in folders if folder.path == leaf]
        chosen = own[0] if own else choose_listed(folders, self.until)
        return [f.path for f in chosen.files] if chosen else []


def _local_name(leaf: str) -> str:
    """The URL's last segment as a folder name inside the work dir, never a way out of it."""
    # The segment is percent-decoded: "%2E%2E" or "a%2F..%2F.." would otherwise
    # make the download folder land outside the restore's staging folder.
    if leaf in (".", "..") or any(c in leaf for c in "/\\\0"):
        raise InvalidInput(
            f"{leaf!r} is not a run folder name: the URL must end with the run folder",
            field="source",
        )
    return leaf


def is_destination_url(source: str) -> bool:
    """True for a destination URL (s3://, ftp:// ...); False for a path or a file:// URL."""
    return "://" in source and not source.startswith("file://")


def resolve_source(
    source: str | Path | BackupSource,
    credentials: dict[str, Any] | None = None,
    *,
    notify: Notify | None = None,
) -> BackupSource:
    """A BackupSource for a path, a destination URL (with `credentials` for it), a file://
    URL, or an object that already is one."""
    if isinstance(source, Path):
        return LocalFolderSource(source)
    if not isinstance(source, str):
        return source
    if is_destination_url(source):
        return DestinationSource(source, credentials, notify=notify)
    if credentials:
        raise InvalidInput("--source-option only applies to a destination URL", field="source")
    return LocalFolderSource(Path(source.removeprefix("file://")).expanduser())


def resolve_point(
    source: str | Path | BackupSource, until: str | None
) -> tuple[BackupSource, str | None]:
    """The source and the point asked; a path to one backup file means its run folder up to
    that file (unless `until` says otherwise)."""
    resolved = resolve_source(source)
    if isinstance(resolved, LocalFolderSource) and resolved.path.is_file():
        return LocalFolderSource(resolved.path.parent), until or resolved.path.name
    if isinstance(resolved, DestinationSource):
        resolved.until = until
    return resolved, until
