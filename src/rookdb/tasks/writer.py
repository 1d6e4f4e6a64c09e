"""The tasks layer's view of the backup engine: write one full or incremental file.

A narrow seam so the runner does not depend on the engine's details. Until
`rookdb.backup` lands this writes a plain JSON-lines dump of the change feed
with the product's file names, enough to drive and test the schedule.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from rookdb.storage import Database

ProgressCallback = Callable[[dict[str, object]], None]


@dataclass(frozen=True, slots=True)
class WrittenFile:
    """One backup file in the staging folder, and what it covers."""

    path: Path
    run_folder: str  # the run folder's name: the same on every destination
    file_name: str
    kind: str  # "full" | "incremental"
    type: str  # "backup" | "snapshot"
    since_etag: int
    last_etag: int
    documents: int
    size_bytes: int

    @property
    def remote_path(self) -> str:
        """Where the file goes on every destination."""
        return f"{self.run_folder}/{self.file_name}"


def write_full(
    db: Database,
    staging: Path,
    *,
    backup_type: str,
    compression: str,
    encryption_key: str | None,
    node_tag: str,
    progress: ProgressCallback | None,
    now: datetime,
) -> WrittenFile:
    """Write a full backup (or snapshot) into a new run folder under `staging`."""
    stamp = _stamp(now)
    folder = f"{stamp}.rookdb-{db.name}-{node_tag}-backup"
    suffix = "rookdb-snapshot" if backup_type == "snapshot" else "rookdb-full-backup"
    return _dump(db, staging / folder, f"{stamp}.{suffix}", "full", backup_type, 0, progress)


def write_incremental(
    db: Database,
    run_folder: Path,
    since_etag: int,
    *,
    compression: str,
    encryption_key: str | None,
    progress: ProgressCallback | None,
    now: datetime,
) -> WrittenFile | None:
    """Write what changed after `since_etag` into `run_folder`; None when nothing changed."""
    if db.last_etag <= since_etag:
        return None
    name = f"{_stamp(now)}.rookdb-incremental-backup"
    return _dump(db, run_folder, name, "incremental", "backup", since_etag, progress)


def _dump(
    db: Database,
    folder: Path,
    name: str,
    kind: str,
    backup_type: str,
    since_etag: int,
    progress: ProgressCallback | None,
) -> WrittenFile:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    partial = folder / f"{name}.in-progress"
    documents = 0
    digest = hashlib.sha256()
    with db.changes(since_etag) as feed, partial.open("wb") as out:
        last_etag = feed.last_etag
        for change in feed:
            if change.etag > last_etag:
                break
            line = orjson.dumps({"kind": change.kind, "etag": change.etag}) + b"\n"
            digest.update(line)
            out.write(line)
            if change.kind == "document":
                documents += 1
                if progress is not None and documents % 1000 == 0:
                    progress({"documents": documents})
    os.replace(partial, target)
    return WrittenFile(
        target,
        folder.name,
        name,
        kind,
        backup_type,
        since_etag,
        last_etag,
        documents,
        target.stat().st_size,
    )


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y-%m-%d-%H-%M-%S")
