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

from rookdb.backup import naming
from rookdb.backup.chain import RunFolderInfo, verify_run_folder
from rookdb.destinations import RemoteFile, from_url
from rookdb.restore.source import DestinationSource, Notify, masked_url

_KINDS = {
    naming.FULL_SUFFIX: "full",
    naming.SNAPSHOT_SUFFIX: "snapshot",
    naming.INCREMENTAL_SUFFIX: "incremental",
}


@dataclass(frozen=True)
class RemoteRunFolder:
    """One run folder found on a destination, with its backup files in chain order."""

    name: str
    url: str
    files: list[RemoteFile]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": masked_url(self.url),
            "files": [
                {**f.to_json(), "file": file_name(f), "kind": kind_of(f)} for f in self.files
            ],
        }


def file_name(remote: RemoteFile) -> str:
    return remote.path.rsplit("/", 1)[-1]


def kind_of(remote: RemoteFile) -> str:
    """full, snapshot or incremental, read from the file's name."""
    name = file_name(remote)
    return next((kind for suffix, kind in _KINDS.items() if name.endswith(suffix)), "unknown")


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
    groups: dict[str, list[RemoteFile]] = {}
    for remote in listed:
        parts = remote.path.split("/")
        if len(parts) < 2 or not naming.is_backup_file_name(parts[-1]):
            continue
        if naming.is_run_folder_name(parts[-2]):
            groups.setdefault("/".join(parts[:-1]), []).append(remote)
    return [
        RemoteRunFolder(
            name=folder.rsplit("/", 1)[-1],
            url=_folder_url(url, leaf, folder),
            files=sorted(files, key=lambda f: naming.order_key(file_name(f))),
        )
        for folder, files in sorted(
            groups.items(), key=lambda item: naming.order_key(item[0].rsplit("/", 1)[-1])
        )
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
