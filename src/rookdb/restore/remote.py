"""Run folders on a destination: list them from the listing, verify them after a download.

`backup ls URL` answers from the destination's listing alone (names, sizes,
times; no download), so it stays cheap on a bucket of many chains and on
Glacier, where reading an archive needs a retrieval. `backup verify URL`
has to read every byte, so it downloads each run folder into a temporary
folder first, exactly as a restore would.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rookdb.backup.catalog import ListedFile, ListedRunFolder, group_listing
from rookdb.backup.chain import RunFolderInfo, verify_run_folder
from rookdb.destinations import from_url
from rookdb.restore.source import DestinationSource, Notify
from rookdb.url_masking import masked_url


@dataclass(frozen=True)
class RemoteRunFolder:
    """One run folder found on a destination, with its backup files in chain order."""

    listed: ListedRunFolder
    url: str

    @property
    def name(self) -> str:
        return self.listed.name

    @property
    def files(self) -> tuple[ListedFile, ...]:
        return self.listed.files

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": masked_url(self.url),
            "files": [
                {
                    "path": f.path,
                    "size": f.size,
                    "modified": f.modified.isoformat() if f.modified else None,
                    "file": f.name,
                    "kind": f.kind,
                }
                for f in self.files
            ],
        }


def list_remote_run_folders(
    url: str, credentials: dict[str, Any] | None = None
) -> list[RemoteRunFolder]:
    """The run folders at `url`: the run folder it names, or every one below it."""
    destination, leaf = from_url(url, credentials)
    try:
        prefix = f"{leaf}/" if leaf else ""
        listed = destination.list(prefix)
        if not listed and destination.local_listing:
            # A machine that never uploaded here has no inventory of its own yet.
            destination.rebuild_listing()
            listed = destination.list(prefix)
    finally:
        destination.close()
    return [
        RemoteRunFolder(folder, _folder_url(url, leaf, folder.path))
        for folder in group_listing(listed, leaf)
    ]


def _folder_url(url: str, leaf: str, folder: str) -> str:
    """The URL of `folder` (a path from the destination's root, which is the URL's parent)."""
    base = url.split("?", 1)[0].rstrip("/")
    if folder == leaf:
        return base
    below = folder[len(leaf) + 1 :] if leaf else folder
    return f"{base}/{quote(below, safe='/')}"


def verify_remote_run_folder(
    folder: RemoteRunFolder,
    credentials: dict[str, Any] | None = None,
    *,
    encryption_key: str | None = None,
    notify: Notify | None = None,
    progress: Callable[[int], None] | None = None,
) -> RunFolderInfo:
    """Download the run folder into a temporary folder and verify every byte and the chain."""
    source = DestinationSource(folder.url, credentials, notify=notify)
    with tempfile.TemporaryDirectory(prefix="rookdb-verify-") as tmp:
        local = source.fetch(Path(tmp))
        return verify_run_folder(local, encryption_key=encryption_key, progress=progress)
