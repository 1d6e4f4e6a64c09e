"""A point in a backup chain: the files a restore up to it would replay, and those after it.

The explorer answers "as of X" questions by the same rules as a restore, so
the point is chosen by the restore planner itself: the current chain of a
folder of run folders (or the run folder given), cut at a file name or at
the last file taken at or before a time, with the chain checked for gaps and
unreadable files before anything is read from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rookdb.backup.catalog import choose_chain
from rookdb.backup.chain import BackupFileInfo, RunFolderInfo
from rookdb.errors import BackupError
from rookdb.restore.planner import plan_restore


@dataclass(frozen=True)
class ChainPoint:
    """The chain up to a point (full first), the files after it, and the run folder."""

    folder: RunFolderInfo
    files: tuple[BackupFileInfo, ...]
    later: tuple[BackupFileInfo, ...]

    @property
    def last(self) -> BackupFileInfo:
        return self.files[-1]

    @property
    def database(self) -> str:
        return self.files[0].database

    @property
    def database_id(self) -> str:
        return self.files[0].database_id

    @property
    def last_etag(self) -> int:
        return self.last.last_etag

    def describe(self) -> str:
        """One line for the user: which run folder, up to which file."""
        return (
            f"{self.folder.name} up to {self.last.file_name} "
            f"(etag {self.last_etag}, taken {self.last.created_at})"
        )


def locate_point(root: Path, until: str | None = None) -> ChainPoint:
    """The point `until` (a file name, a file's stamp or an ISO time; None: the newest file)
    of the current chain in `root`, a run folder or a folder of run folders."""
    choice = choose_chain(root, until)
    return point_in(choice.folder, until)


def point_in(folder: RunFolderInfo, until: str | None) -> ChainPoint:
    """The point `until` of the chain in run folder `folder`."""
    plan = plan_restore(folder, until)
    files = plan.files
    chained = list(folder.files)
    later = tuple(chained[len(files) :]) if chained[: len(files)] == list(files) else ()
    return ChainPoint(folder, files, later)


def check_same_database(first: ChainPoint, second: ChainPoint) -> None:
    """Refuse comparing points of two different databases (BackupError naming both)."""
    if first.database_id != second.database_id:
        raise BackupError(
            f"{first.folder.name} and {second.folder.name} are backups of two different "
            f"databases ({first.database}, id {first.database_id[:8]}; {second.database}, "
            f"id {second.database_id[:8]}): a diff compares points of one database"
        )
