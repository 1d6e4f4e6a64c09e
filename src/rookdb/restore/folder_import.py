"""Import a folder of periodic backup or export files: `smuggler in URL FOLDER --incremental`.

RavenDB's periodic backups leave a folder of incremental exports, restored by
importing every file of it, in order, into a database on a running server.
`rookdb import FOLDER DB [--incremental]` does the same, on a data dir or over
--url. The folder may hold:

- backup or export files directly, under any name (`rookdb export` writes the
  name it is given): a file is taken when its name is a backup file name or it
  starts with the backup format's magic; any other file is skipped and named;
- run folders: the current chain is taken by the catalog's rule
  (`choose_chain`), and the choice is reported as a restore reports it.

Files apply in chain order (`order_chain`: the full first, then incrementals by
the etag range they cover) and nothing is applied until the whole chain checks
out: every file readable, the ranges chained with no gap (the refusal names
the gap), every checksum verified. Then each file is applied as `import_file`
applies one: a missing database is created from the full, the incrementals
follow (deletes with ``incremental``). Over --url the client plans and checks
the folder the same way and sends the files one by one (`rookdb.Client`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rookdb.backup import naming
from rookdb.backup.catalog import ChainChoice, choose_chain
from rookdb.backup.chain import BackupFileInfo, chain_problems, order_chain, read_file_info
from rookdb.backup.format import MAGIC, BackupReader
from rookdb.errors import BackupCorrupted, BackupError, ChainBroken, NotFound, RestoreError
from rookdb.instance import Instance, check_database_name
from rookdb.partial import is_partial_name
from rookdb.restore.importer import RestoreResult, import_file

Progress = Callable[[int, int], None]
# Applies one file of the chain to the target database (embedded: `import_file`;
# remote: an upload), reporting its own progress(done, total).
ImportOne = Callable[[BackupFileInfo, Progress], RestoreResult]


@dataclass(frozen=True)
class FolderImportPlan:
    """The files of a folder to apply, in chain order, and what was left aside."""

    folder: Path
    files: tuple[BackupFileInfo, ...]
    skipped: tuple[str, ...] = ()
    # Set when the folder held run folders and one chain was chosen among them.
    chain_choice: ChainChoice | None = None

    @property
    def total_bytes(self) -> int:
        return sum(f.size_bytes for f in self.files)

    def name_of(self, info: BackupFileInfo) -> str:
        """The file's path relative to the folder ("run-folder/file" for a chosen chain)."""
        try:
            return info.path.relative_to(self.folder).as_posix()
        except ValueError:
            return info.file_name


@dataclass(frozen=True)
class AppliedFile:
    """One file of the chain, as it was applied."""

    name: str
    kind: str
    since_etag: int
    last_etag: int
    counts: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.name,
            "kind": self.kind,
            "since_etag": self.since_etag,
            "last_etag": self.last_etag,
            "counts": self.counts,
        }


@dataclass(frozen=True)
class FolderImportResult:
    """What importing a folder did: the files applied in order, and the database after."""

    database: str
    folder: str
    applied: tuple[AppliedFile, ...]
    skipped: tuple[str, ...]
    chain_choice: ChainChoice | None
    last_etag: int
    documents: int
    counts: dict[str, int]
    duration_ms: int

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "folder": self.folder,
            "files": [f.to_json() for f in self.applied],
            "skipped": list(self.skipped),
            "chain_choice": self.chain_choice.to_json() if self.chain_choice else None,
            "last_etag": self.last_etag,
            "documents": self.documents,
            "counts": self.counts,
            "duration_ms": self.duration_ms,
        }


def import_folder(
    instance: Instance,
    folder: Path,
    db_name: str,
    *,
    incremental: bool = False,
    encryption_key: str | None = None,
    progress: Progress | None = None,
) -> FolderImportResult:
    """Apply every backup or export file of `folder`, in chain order, to `db_name`."""
    started = time.monotonic()
    check_database_name(db_name)
    plan = plan_folder_import(Path(folder))

    def apply(info: BackupFileInfo, file_progress: Progress) -> RestoreResult:
        return import_file(
            instance,
            info.path,
            db_name,
            incremental=incremental,
            encryption_key=encryption_key,
            progress=file_progress,
        )

    exists = instance.has_database(db_name)
    return import_chain(
        plan,
        apply,
        database_exists=exists,
        encryption_key=encryption_key,
        progress=progress,
        started=started,
    )


def plan_folder_import(folder: Path) -> FolderImportPlan:
    """The chain of `folder` in order; refused, naming the file or the gap, when it is
    unreadable or does not chain (nothing is applied then)."""
    if not folder.is_dir():
        raise NotFound(f"backup folder {folder} does not exist", field="file")
    loose, skipped = _loose_files(folder)
    choice: ChainChoice | None = None
    if loose:
        infos, unreadable = _read_infos(loose)
    else:
        choice = choose_chain(folder)
        infos, unreadable = list(choice.folder.files), dict(choice.folder.unreadable)
        skipped = []
    if unreadable:
        name, message = min(unreadable.items())
        what = message if name in message else f"{name}: {message}"
        raise BackupCorrupted(f"cannot import {folder}: {what}; nothing was applied")
    ordered = order_chain(infos)
    problems = chain_problems(ordered)
    if problems:
        raise ChainBroken(f"cannot import {folder}: {problems[0]}; nothing was applied")
    taken = choice if choice is not None and choice.was_a_choice else None
    return FolderImportPlan(folder, tuple(ordered), tuple(skipped), taken)


def import_chain(
    plan: FolderImportPlan,
    apply: ImportOne,
    *,
    database_exists: bool,
    encryption_key: str | None = None,
    progress: Progress | None = None,
    started: float | None = None,
) -> FolderImportResult:
    """Verify every file of the plan, then apply them in order with `apply`."""
    started = time.monotonic() if started is None else started
    snapshots = [f.file_name for f in plan.files if f.type == "snapshot"]
    if database_exists and snapshots:
        raise RestoreError(
            f"{snapshots[0]} is a snapshot; import the folder into a new database instead"
        )
    # Two passes over the bytes (verification, then applying), as a restore counts them.
    tracker = _ChainProgress(2 * plan.total_bytes, progress)
    for info in plan.files:
        with BackupReader(info.path, encryption_key=encryption_key) as reader:
            reader.verify_checksum(tracker.advance)
    applied: list[AppliedFile] = []
    last: RestoreResult | None = None
    totals: dict[str, int] = {}
    for info in plan.files:
        last = apply(info, tracker.part(info.size_bytes))
        tracker.finish_part()
        applied.append(
            AppliedFile(plan.name_of(info), info.kind, info.since_etag, info.last_etag, last.counts)
        )
        for key, value in last.counts.items():
            totals[key] = totals.get(key, 0) + value
    assert last is not None  # a plan holds at least its full file
    return FolderImportResult(
        database=last.database,
        folder=str(plan.folder),
        applied=tuple(applied),
        skipped=plan.skipped,
        chain_choice=plan.chain_choice,
        last_etag=last.last_etag,
        documents=last.documents,
        counts=totals,
        duration_ms=int((time.monotonic() - started) * 1000),
    )


def _loose_files(folder: Path) -> tuple[list[Path], list[str]]:
    """Backup or export files directly in `folder`, and the names of the other files."""
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise BackupError(f"cannot list folder {folder}: {exc.strerror or exc}") from exc
    taken: list[Path] = []
    skipped: list[str] = []
    for path in entries:
        if not path.is_file() or is_partial_name(path.name):
            continue  # run folders are looked at when there are no loose files
        if naming.is_backup_file_name(path.name) or _starts_with_magic(path):
            taken.append(path)
        else:
            skipped.append(path.name)
    return taken, skipped


def _starts_with_magic(path: Path) -> bool:
    try:
        with open(path, "rb") as file:
            return file.read(len(MAGIC)) == MAGIC
    except OSError:
        return True  # taken, so that reading it reports why it cannot be read


def _read_infos(paths: list[Path]) -> tuple[list[BackupFileInfo], dict[str, str]]:
    infos: list[BackupFileInfo] = []
    unreadable: dict[str, str] = {}
    for path in paths:
        try:
            infos.append(read_file_info(path))
        except BackupError as exc:
            unreadable[path.name] = exc.message
    return infos, unreadable


class _ChainProgress:
    """Turns per-step byte counts and per-file progress into one progress(done, total)."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total = total
        self.done = 0
        self.progress = progress
        self._part = 0

    def advance(self, amount: int) -> None:
        self.done += amount
        self._report(self.done)

    def part(self, size: int) -> Progress:
        """A progress(done, total) for one file that moves this bar by `size` bytes in all."""
        self._part = size

        def report(done: int, total: int) -> None:
            if total:
                self._report(self.done + int(size * min(done, total) / total))

        return report

    def finish_part(self) -> None:
        self.advance(self._part)
        self._part = 0

    def _report(self, done: int) -> None:
        if self.progress is not None:
            self.progress(min(done, self.total), self.total)
