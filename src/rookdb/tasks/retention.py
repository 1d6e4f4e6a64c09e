"""Retention: which old backup chains to delete after a successful full backup.

A chain is one run folder (`{stamp}.rookdb-{db}-{node}-backup/`): a full
backup or snapshot followed by incrementals. Planning is pure; applying it
works on each destination through list/delete. The newest complete chain and
the chain the task is writing to are never deleted.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rookdb.backup.catalog import ListedRunFolder, group_listing
from rookdb.destinations import RemoteFile
from rookdb.errors import RookError
from rookdb.tasks.model import Retention
from rookdb.tasks.upload import delete_file, display_name, list_files


def chains_of(listing: Iterable[RemoteFile], database: str) -> list[ListedRunFolder]:
    """The run folders of `database` in a destination's listing, oldest first."""
    return [f for f in group_listing(listing) if (f.database or "").lower() == database.lower()]


def plan(
    chains: list[ListedRunFolder],
    retention: Retention,
    now: datetime,
    current_folder: str | None = None,
) -> list[ListedRunFolder]:
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
        if chain is newest or chain.name == current_folder or chain.order > newest.order:
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
            for chain in plan(chains_of(listing, database), retention, now, current_folder):
                # The full file goes last, so an interrupted deletion never leaves a
                # folder that looks like a complete chain with holes in it.
                for file in sorted(chain.files, key=lambda f: f.is_full):
                    delete_file(config, file.path, state_dir=state_dir)
                deleted.append(chain.name)
            results.append(RetentionResult(display_name(config), deleted))
        except RookError as exc:
            results.append(RetentionResult(display_name(config), deleted, exc.message))
    return results
