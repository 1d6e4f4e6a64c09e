"""Opening a backup for exploring: SOURCE as `rookdb restore` takes it, and a point in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rookdb.explorer.explorer import BackupExplorer
from rookdb.explorer.files import local_opener
from rookdb.explorer.point import locate_point


def open_backup(
    source: str | Path,
    until: str | None = None,
    *,
    encryption_key: str | None = None,
    credentials: dict[str, Any] | None = None,
) -> BackupExplorer:
    """An explorer of SOURCE (a run folder, a folder of run folders, one backup file, or a
    destination URL) at the point `until` (a file name or an ISO time; None: the newest)."""
    from rookdb.restore.source import is_destination_url, resolve_point

    if isinstance(source, str) and is_destination_url(source):
        from rookdb.explorer.remote import open_remote

        return open_remote(source, until, encryption_key=encryption_key, credentials=credentials)
    resolved, until = resolve_point(source, until)
    root = Path(resolved.description)
    return BackupExplorer(locate_point(root, until), local_opener(encryption_key))
