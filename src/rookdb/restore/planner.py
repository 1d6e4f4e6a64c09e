"""Restore planning: from a run folder's files to the ordered list to replay, up to a point in time.

Like Litestream: take the full backup (or snapshot), then every incremental
in etag order, and stop at the file asked for — by name, or the last file
created at or before a time. Only the files that will be replayed must be
readable and chain with no gap; a damaged file after the point asked does not
stop a restore to an earlier point.
"""

from __future__ import annotations

from dataclasses import dataclass

from rookdb.backup.chain import BackupFileInfo, RunFolderInfo, chain_problems
from rookdb.backup.naming import parse_time, point_in_chain
from rookdb.errors import BackupCorrupted, ChainBroken, InvalidInput, RestoreError


@dataclass(frozen=True)
class RestorePlan:
    """The files to replay, in order; the first is a full backup or snapshot."""

    folder: RunFolderInfo
    files: tuple[BackupFileInfo, ...]

    @property
    def last_etag(self) -> int:
        return self.files[-1].last_etag

    @property
    def total_bytes(self) -> int:
        return sum(f.size_bytes for f in self.files)


def plan_restore(folder: RunFolderInfo, until: str | None = None) -> RestorePlan:
    """Choose the files to replay from `folder`, stopping at `until` (file name or ISO time)."""
    files = list(folder.files)
    if not files:
        if folder.unreadable:
            name, message = next(iter(folder.unreadable.items()))
            raise BackupCorrupted(message if name in message else f"{name}: {message}")
        raise RestoreError(f"{folder.name} holds no backup files")
    if not files[0].is_full:
        # The full file may be unreadable: report that rather than a missing full.
        for name, message in folder.unreadable.items():
            if "full-backup" in name or "snapshot" in name:
                raise BackupCorrupted(message)
        raise ChainBroken(
            f"{folder.name} has no full backup or snapshot; it starts with {files[0].file_name}"
        )
    chosen = _cut(files, until, folder)
    # Any unreadable file named (by its stamp) before the last chosen one may be a
    # missing link of the chain: refuse rather than restore around it.
    last_name = chosen[-1].file_name
    for name, message in sorted(folder.unreadable.items()):
        if name <= last_name or until is None:
            raise BackupCorrupted(message if name in message else f"{name}: {message}")
    problems = chain_problems(chosen)
    if problems:
        raise ChainBroken(f"cannot restore from {folder.name}: {problems[0]}")
    return RestorePlan(folder, tuple(chosen))


def _cut(
    files: list[BackupFileInfo], until: str | None, folder: RunFolderInfo
) -> list[BackupFileInfo]:
    wanted = point_in_chain(until)
    if wanted is None:
        return files
    for position, info in enumerate(files):
        if wanted in (info.file_name, info.file_name.split(".", 1)[0]) or info.path.name == wanted:
            return files[: position + 1]
    if wanted in folder.unreadable:
        raise BackupCorrupted(folder.unreadable[wanted])
    moment = parse_time(wanted)
    if moment is None:
        raise InvalidInput(
            f"--until {wanted!r} is neither a file of {folder.name} nor an ISO 8601 time "
            "(such as 2026-11-22T06:00:00Z)",
            field="until",
        )
    chosen = [f for f in files if f.created <= moment]
    if not chosen or not chosen[0].is_full:
        raise RestoreError(
            f"nothing to restore at or before {wanted}: the chain in {folder.name} starts "
            f"at {files[0].created_at}"
        )
    # Keep the chain's order: stop at the first file created after the time asked.
    for position, info in enumerate(files):
        if info.created > moment:
            return files[:position]
    return files
