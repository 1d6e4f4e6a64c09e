"""The backups in a folder or on a destination: run folders, chains, and the current one.

Restore, drills, `backup ls`, `backup run --incremental`, retention and the
Studio all ask the same questions of a folder of run folders, so they are
answered here once:

- *What run folders are there?* On a local folder by reading each file's
  header (`scan`); on a destination from its listing alone, no download
  (`group_listing`): file names carry the kind and the time.

- *Does a run folder hold a chain?* Only when it holds at least one finished
  backup file. A folder holding nothing but partial files (``*.in-progress``,
  ``.rookdb-upload-*``: a backup or upload killed mid-way) is an abandoned
  attempt, passed over by every reader and removed by the clean-up.
- *Which chain is current?* Not simply the newest folder name: a full backup
  that failed on one destination could leave a complete-looking newer folder
  on another while the task went on with the older chain. The current chain
  is the one holding the most recently written backup file (the stamp in its
  name); a tie goes to the chain reaching the higher etag, then to the newer
  folder. Every choice says which folder it took and why, and what it passed
  over.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rookdb.backup import naming
from rookdb.backup.chain import RunFolderInfo, backup_files_in, read_run_folder
from rookdb.errors import BackupError, InvalidInput, RestoreError
from rookdb.partial import is_partial_name

if TYPE_CHECKING:  # the destinations package is heavy; the catalog only reads listings
    from rookdb.destinations.base import RemoteFile

_THE_RUN_FOLDER = "the folder is a run folder"


@dataclass(frozen=True)
class PassedOver:
    """A run folder a choice did not take, and why."""

    name: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"run_folder": self.name, "reason": self.reason}


@dataclass(frozen=True)
class ChainChoice:
    """The run folder a reader takes from a folder of run folders, and why."""

    folder: RunFolderInfo
    reason: str
    passed_over: tuple[PassedOver, ...] = ()

    @property
    def was_a_choice(self) -> bool:
        """False when the source was the run folder itself (nothing to choose from)."""
        return self.reason != _THE_RUN_FOLDER

    def describe(self) -> str:
        """One line for the user: the folder taken and why, then what was passed over."""
        text = f"using run folder {self.folder.name}: {self.reason}"
        if self.passed_over:
            others = "; ".join(f"{p.name} ({p.reason})" for p in self.passed_over)
            text += f"; passed over: {others}"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "run_folder": self.folder.name,
            "reason": self.reason,
            "passed_over": [p.to_json() for p in self.passed_over],
        }


@dataclass(frozen=True)
class ListedFile:
    """A finished backup file seen in a destination's listing (nothing downloaded)."""

    path: str  # relative to the destination's root, "/"-separated
    size: int
    modified: datetime | None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    @property
    def kind(self) -> str:
        """full, snapshot or incremental, read from the name."""
        return naming.kind_of_file_name(self.name) or "unknown"

    @property
    def is_full(self) -> bool:
        return self.kind in ("full", "snapshot")

    @property
    def taken_at(self) -> datetime | None:
        """When the backup was taken: the UTC stamp its name starts with."""
        return naming.stamp_time(self.name)


@dataclass(frozen=True)
class ListedRunFolder:
    """A run folder seen in a listing: its path on the destination and its files in order."""

    path: str  # "" when the listing's own root is the run folder
    name: str
    files: tuple[ListedFile, ...]

    @property
    def complete(self) -> bool:
        """Holds a finished full backup or snapshot, so a restore can start from it."""
        return any(f.is_full for f in self.files)

    @property
    def database(self) -> str | None:
        parsed = naming.parse_run_folder_name(self.name)
        return parsed[1] if parsed else None

    @property
    def order(self) -> tuple[str, int, bool]:
        """Creation order of run folders (see `naming.order_key`)."""
        return naming.order_key(self.name)

    @property
    def last_backup(self) -> datetime | None:
        """When the newest file of the chain was taken (the folder's stamp when none)."""
        times = [t for t in (f.taken_at for f in self.files) if t is not None]
        return max(times) if times else naming.stamp_time(self.name)

    @property
    def size_bytes(self) -> int:
        return sum(f.size for f in self.files)


def group_listing(listed: Iterable[RemoteFile], root: str = "") -> list[ListedRunFolder]:
    """Group a destination's listing below `root` into run folders, oldest first.

    A finished backup file directly in `root` makes `root` itself the run
    folder; otherwise each run folder one level below `root` is one entry.
    Partial files and anything else are left out.
    """
    prefix = f"{root.strip('/')}/" if root.strip("/") else ""
    groups: dict[str, list[ListedFile]] = {}
    for remote in listed:
        if not remote.path.startswith(prefix):
            continue
        parts = remote.path[len(prefix) :].split("/")
        if not naming.is_backup_file_name(parts[-1]) or len(parts) > 2:
            continue
        if len(parts) == 2 and not naming.is_run_folder_name(parts[0]):
            continue
        folder = prefix + parts[0] if len(parts) == 2 else prefix.rstrip("/")
        groups.setdefault(folder, []).append(ListedFile(remote.path, remote.size, remote.modified))
    folders = [
        ListedRunFolder(
            path=folder,
            name=folder.rsplit("/", 1)[-1],
            files=tuple(sorted(files, key=lambda f: naming.order_key(f.name))),
        )
        for folder, files in groups.items()
    ]
    return sorted(folders, key=lambda f: f.order)


def choose_listed(
    folders: Sequence[ListedRunFolder], until: str | None = None
) -> ListedRunFolder | None:
    """The current complete chain in a listing (as of `until`), by `choose_chain`'s rule
    without the etag, which a listing does not show: the newest backup file wins."""
    complete = [f for f in folders if f.complete]
    wanted = naming.point_in_chain(until)
    if wanted is not None:
        for folder in reversed(complete):
            if any(wanted in (f.name, f.name.split(".", 1)[0]) for f in folder.files):
                return folder
    moment = _moment(wanted)

    def newest(folder: ListedRunFolder) -> tuple[Any, ...] | None:
        names = [
            f.name
            for f in folder.files
            if moment is None or (f.taken_at is not None and f.taken_at <= moment)
        ]
        if not names:
            return None
        return (naming.order_key(max(names, key=naming.order_key))[:2], folder.order)

    ranked = [(key, folder) for folder in complete if (key := newest(folder)) is not None]
    return max(ranked, key=lambda item: item[0])[1] if ranked else None


@dataclass(frozen=True)
class BackupFolder:
    """A folder's run folders that hold chains (oldest first) and the abandoned ones."""

    root: Path
    chains: tuple[RunFolderInfo, ...]
    abandoned: tuple[PassedOver, ...]


def holds_finished_files(folder: Path) -> bool:
    """True when `folder` holds at least one finished backup file."""
    return bool(backup_files_in(folder))


def scan(root: Path, database: str | None = None) -> BackupFolder:
    """The run folders in `root` (or `root` itself when it is one), split into chains and
    abandoned attempts; `database` keeps only that database's run folders."""
    if not root.is_dir():
        raise BackupError(f"backup folder {root} does not exist")
    if holds_finished_files(root):
        return BackupFolder(root, (read_run_folder(root),), ())
    chains: list[RunFolderInfo] = []
    abandoned: list[PassedOver] = []
    for folder in _run_folders(root, database):
        if holds_finished_files(folder):
            chains.append(read_run_folder(folder))
        else:
            abandoned.append(PassedOver(folder.name, _why_abandoned(folder)))
    return BackupFolder(root, tuple(chains), tuple(abandoned))


def find_run_folders(root: Path) -> list[Path]:
    """`root` itself when it is a run folder, else its run folders holding chains (oldest
    first); abandoned attempts are left out."""
    return [chain.path for chain in scan(root).chains]


def latest_chain(out_dir: Path, database: str | None = None) -> RunFolderInfo | None:
    """The current chain in `out_dir` (optionally of one database), or None when none."""
    if not out_dir.is_dir():
        return None
    try:
        return choose_chain(out_dir, database=database).folder
    except RestoreError:
        return None


def choose_chain(root: Path, until: str | None = None, database: str | None = None) -> ChainChoice:
    """The current chain in `root` (as of `until`: a file name or an ISO time, when given)."""
    found = scan(root, database)
    if not found.chains:
        what = f"backups of {database}" if database else "backup files or run folders"
        first = found.abandoned[0] if found.abandoned else None
        detail = f" ({first.name}: {first.reason})" if first else ""
        raise RestoreError(f"{root} holds no {what}{detail}")
    if len(found.chains) == 1 and found.chains[0].path == root:
        return ChainChoice(found.chains[0], _THE_RUN_FOLDER)
    wanted = naming.point_in_chain(until)
    if wanted is not None:
        holder = _holding_file(found.chains, wanted)
        if holder is not None:
            return ChainChoice(holder, f"it holds {wanted}", found.abandoned)
    moment = _moment(wanted)
    ranked: list[tuple[tuple[Any, ...], RunFolderInfo]] = []
    passed = list(found.abandoned)
    for chain in found.chains:
        key = _rank(chain, moment)
        if key is None:
            passed.append(PassedOver(chain.name, f"it starts after {wanted}"))
        else:
            ranked.append((key, chain))
    if not ranked:
        raise RestoreError(f"no run folder in {root} starts at or before {wanted}")
    ranked.sort(key=lambda item: item[0], reverse=True)
    (best_key, best), others = ranked[0], ranked[1:]
    for key, chain in others:
        passed.append(PassedOver(chain.name, f"older: {_summary(key)}"))
    reason = f"it holds the newest backup: {_summary(best_key)}"
    return ChainChoice(best, reason, tuple(passed))


def _rank(chain: RunFolderInfo, moment: datetime | None) -> tuple[Any, ...] | None:
    """(newest file's stamp, etag reached, folder order, newest file name), or None when the
    chain has no file at or before `moment`."""
    files = list(chain.files)
    if moment is not None:
        files = [f for f in files if f.created <= moment]
        if not files:
            return None
        names = [f.file_name for f in files]
    else:
        names = [f.file_name for f in files] + list(chain.unreadable)
    if not names:
        names = [chain.name]  # nothing readable: the folder's own stamp stands in
    newest = max(names, key=naming.order_key)
    reached = max((f.last_etag for f in files), default=0)
    return (naming.order_key(newest)[:2], reached, naming.order_key(chain.name), newest)


def _summary(key: tuple[Any, ...]) -> str:
    return f"{key[3]} (etag {key[1]})"


def _holding_file(chains: tuple[RunFolderInfo, ...], name: str) -> RunFolderInfo | None:
    for chain in reversed(chains):
        names = {f.file_name for f in chain.files} | set(chain.unreadable)
        if name in names or any(n.split(".", 1)[0] == name for n in names):
            return chain
    return None


def _moment(wanted: str | None) -> datetime | None:
    if wanted is None:
        return None
    moment = naming.parse_time(wanted)
    if moment is None:
        raise InvalidInput(
            f"--until {wanted!r} is neither a backup file name nor an ISO 8601 time "
            "(such as 2026-11-22T06:00:00Z)",
            field="until",
        )
    return moment


def _run_folders(root: Path, database: str | None) -> list[Path]:
    try:
        folders = [p for p in root.iterdir() if p.is_dir()]
    except OSError as exc:
        raise BackupError(f"cannot list backup folder {root}: {exc.strerror or exc}") from exc
    chosen = []
    for folder in folders:
        parsed = naming.parse_run_folder_name(folder.name)
        if parsed is None and not holds_finished_files(folder):
            continue
        if database is not None and (parsed is None or parsed[1].lower() != database.lower()):
            continue
        chosen.append(folder)
    return sorted(chosen, key=lambda p: naming.order_key(p.name))


def _why_abandoned(folder: Path) -> str:
    try:
        partial = [p for p in folder.iterdir() if is_partial_name(p.name)]
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    if not partial:
        return "no finished backup file"
    size = sum(p.stat().st_size for p in partial if p.is_file())
    return (
        f"no finished backup file, only {len(partial)} partial file(s) of an interrupted "
        f"run ({size} bytes)"
    )
