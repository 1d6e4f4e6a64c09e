"""Retention: which old backup chains to delete after a successful full backup.

A chain is one run folder (`{stamp}.rookdb-{db}-{node}-backup/`): a full
backup or snapshot followed by incrementals. Planning is pure; applying it
works on each destination through list/delete. The newest complete chain and
the chain the task is writing to are never deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rookdb.backup import naming
from rookdb.errors import RookError
from rookdb.tasks.model import Retention
from rookdb.tasks.upload import delete_file, display_name, list_files

_FULL_SUFFIXES = (naming.FULL_SUFFIX, naming.SNAPSHOT_SUFFIX)
_STAMP_LENGTH = len("yyyy-MM-dd-HH-mm-ss")


@dataclass
class Chain:
    """One run folder on one destination."""

    folder: str
    files: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Holds a finished full backup or snapshot, so it can be restored."""
        return any(f.rsplit("/", 1)[-1].endswith(_FULL_SUFFIXES) for f in self.files)

    @property
    def order(self) -> tuple[str, int, bool]:
        """Chronological sort key: the stamp, then the same-second counter ("-01", "-02" ...)."""
        return naming.order_key(self.folder)

    @property
    def started(self) -> datetime | None:
        return _stamp_time(self.folder)

    @property
    def last_backup(self) -> datetime | None:
        """When the newest file of the chain was taken (its name's stamp)."""
        times = [t for t in (_stamp_time(f.rsplit("/", 1)[-1]) for f in self.files) if t]
        return max(times) if times else self.started


def chains_of(paths: Iterable[str], database: str) -> list[Chain]:
    """Group a destination listing into the run folders of `database`, oldest first."""
    chains: dict[str, Chain] = {}
    for path in paths:
        folder, _, name = path.partition("/")
        if not name or _folder_database(folder) != database.lower():
            continue
        chains.setdefault(folder, Chain(folder)).files.append(path)
    return sorted(chains.values(), key=lambda c: c.order)


def plan(
    chains: list[Chain], retention: Retention, now: datetime, current_folder: str | None = None
) -> list[Chain]:
    """The chains to delete under `retention` (oldest first)."""
    keep_n, max_age = retention.keep_full_chains, retention.max_age_days
    if keep_n is None and max_age is None:
        return []
    complete = [c for c in chains if c.complete]
    if not complete:
        return []  # nothing restorable yet: deleting anything could leave no backup at all
    newest = complete[-1]
    doomed = []
    for chain in chains:
        if chain is newest or chain.folder == current_folder or chain.order > newest.order:
            continue
        newer_complete = sum(1 for c in complete if c.order > chain.order)
        beyond_count = keep_n is not None and newer_complete >= keep_n
        last = chain.last_backup
        too_old = max_age is not None and (last is None or last < now - timedelta(days=max_age))
        # "Keep at least N" protects a chain even when it is old; alone, each rule decides.
        if keep_n is not None and max_age is not None:
            delete = beyond_count and too_old
        else:
            delete = beyond_count or too_old
        if delete:
            doomed.append(chain)
    return doomed


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """What retention did on one destination."""

    destination: str
    deleted_folders: list[str]
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "deleted_folders": self.deleted_folders,
            "error": self.error,
        }


def apply(
    destinations: list[dict[str, Any]],
    database: str,
    retention: Retention,
    now: datetime,
    current_folder: str | None,
    *,
    state_dir: Path | None = None,
) -> list[RetentionResult]:
    """Delete expired chains on every destination; one failing does not stop the others."""
    results = []
    for config in destinations:
        deleted: list[str] = []
        try:
            listing = list_files(config, state_dir=state_dir)
            chains = chains_of((f.path for f in listing), database)
            for chain in plan(chains, retention, now, current_folder):
                # The full file goes last, so an interrupted deletion never leaves a
                # folder that looks like a complete chain with holes in it.
                for path in sorted(chain.files, key=lambda p: p.endswith(_FULL_SUFFIXES)):
                    delete_file(config, path, state_dir=state_dir)
                deleted.append(chain.folder)
            results.append(RetentionResult(display_name(config), deleted))
        except RookError as exc:
            results.append(RetentionResult(display_name(config), deleted, exc.message))
    return results


def _folder_database(folder: str) -> str | None:
    parsed = naming.parse_run_folder_name(folder)
    return parsed[1].lower() if parsed else None


def _stamp_time(name: str) -> datetime | None:
    try:
        return datetime.strptime(name[:_STAMP_LENGTH], "%Y-%m-%d-%H-%M-%S").replace(tzinfo=UTC)
    except ValueError:
        return None
