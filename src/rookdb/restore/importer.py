"""Restore a run folder into a new database, and import export files.

A restore never shows a half-built database: it checks the chain and every
checksum first, builds the database file in the instance's staging folder,
and only then moves it in under the new name (``Instance.adopt_database``).
Any failure removes the staging folder and leaves the data dir as it was.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rookdb.backup.catalog import ChainChoice, choose_chain
from rookdb.backup.chain import BackupFileInfo
from rookdb.backup.format import BackupReader
from rookdb.backup.naming import fsync_dir
from rookdb.durability import fsync_path
from rookdb.errors import AlreadyExists, BackupCorrupted, RestoreError, StorageError
from rookdb.instance import Instance, check_database_name
from rookdb.restore.apply import Applier, ApplyCounts
from rookdb.restore.planner import RestorePlan, plan_restore
from rookdb.restore.source import BackupSource, resolve_point
from rookdb.storage import Database
from rookdb.storage.bulk import open_staging
from rookdb.storage.database_file import DatabaseFile

Progress = Callable[[int, int], None]
# Called after each file of a plan is in the staged database: the file, what was
# applied from it (None for a snapshot, which is copied, not replayed) and the
# staged database file. Restore drills check each file's trailer through it.
FileApplied = Callable[[BackupFileInfo, ApplyCounts | None, Path], None]
STAGED_FILE = "restore.rookdb"


@dataclass(frozen=True)
class RestoreResult:
    """What a restore or import produced."""

    database: str
    source: str
    files: tuple[str, ...]
    last_etag: int
    documents: int
    duration_ms: int
    counts: dict[str, int] = field(default_factory=dict)
    # Which run folder a folder of run folders gave, and why (None for an import).
    chain_choice: ChainChoice | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "source": self.source,
            "files": list(self.files),
            "last_etag": self.last_etag,
            "documents": self.documents,
            "duration_ms": self.duration_ms,
            "counts": self.counts,
            "chain_choice": self.chain_choice.to_json() if self.chain_choice else None,
        }


class _ByteProgress:
    """Turns per-step byte counts into progress(done, total) calls over the whole restore."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total = total
        self.done = 0
        self.progress = progress

    def __call__(self, amount: int) -> None:
        self.done += amount
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)


def restore_database(
    instance: Instance,
    source: str | Path | BackupSource,
    new_name: str,
    *,
    until: str | None = None,
    encryption_key: str | None = None,
    progress: Progress | None = None,
) -> RestoreResult:
    """Create database `new_name` from a run folder (path or URL), up to `until`."""
    started = time.monotonic()
    check_database_name(new_name)
    if instance.has_database(new_name):
        raise AlreadyExists(f"database {new_name!r} already exists; restore under a new name")
    backup_source, until = resolve_point(source, until)
    with instance.staging() as staging:
        choice = choose_chain(backup_source.fetch(staging / "download"), until)
        plan = plan_restore(choice.folder, until)
        built, counts = build_database(staging, plan, encryption_key, progress)
        db = instance.adopt_database(new_name, built)
    result = _result(
        db, backup_source.description, tuple(f.file_name for f in plan.files), counts, started
    )
    return dataclasses.replace(result, chain_choice=choice)


def build_database(
    staging: Path,
    plan: RestorePlan,
    encryption_key: str | None,
    progress: Progress | None,
    on_file: FileApplied | None = None,
) -> tuple[Path, ApplyCounts]:
    """Verify every file of the plan, then build the database file in `staging`."""
    readers = [_open_reader(info, encryption_key) for info in plan.files]
    try:
        # Verification reads every file once; building reads them again. Both
        # passes count toward progress so the bar moves steadily.
        tracker = _ByteProgress(2 * plan.total_bytes, progress)
        for reader in readers:
            reader.verify_checksum(tracker)
        target = staging / STAGED_FILE
        first = readers[0]
        if first.header.type == "snapshot":
            _extract_snapshot(first, target, tracker)
            if on_file is not None:
                on_file(plan.files[0], None, target)
            rest = readers[1:]
            fresh = False
        else:
            rest = readers
            fresh = True
        # Built without durability (see open_staging); fsync'd below before it is moved in.
        engine = open_staging(target)
        totals = ApplyCounts()
        try:
            applier = Applier(engine, keep_etags=True)
            replayed = plan.files[len(plan.files) - len(rest) :]
            for info, reader in zip(replayed, rest, strict=True):
                size = reader.size
                counts = applier.apply(reader, fresh=fresh)
                totals.add(counts)
                if on_file is not None:
                    on_file(info, counts, target)
                # The SHA-256 covers every byte before the trailer, not the trailer's
                # own counts: a file whose counts disagree was rewritten or damaged.
                mismatches = counts.trailer_mismatches(reader.trailer.counts)
                if mismatches:
                    raise BackupCorrupted(
                        f"{info.file_name}: its records differ from its trailer "
                        f"({'; '.join(mismatches)})"
                    )
                tracker(size)
                fresh = False
            engine.checkpoint()
        finally:
            engine.close()
        _fsync(target)
        return target, totals
    finally:
        for reader in readers:
            reader.close()


def _open_reader(info: BackupFileInfo, encryption_key: str | None) -> BackupReader:
    return BackupReader(info.path, encryption_key=encryption_key)


def _extract_snapshot(reader: BackupReader, target: Path, tracker: _ByteProgress) -> None:
    try:
        with open(target, "wb") as out:
            for chunk in reader.file_chunks():
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        raise StorageError(f"cannot write the restored database: {exc.strerror}") from exc
    tracker(reader.size)
    # A restored database is a new database: give it its own id, so its backups
    # never chain with the source's.
    try:
        with DatabaseFile(target) as restored:
            restored.reset_database_id()
    except StorageError as exc:
        raise BackupCorrupted(
            f"snapshot {reader.name} does not hold a rookdb database ({exc.message})"
        ) from exc


def _fsync(path: Path) -> None:
    fsync_path(path)
    fsync_dir(path.parent)


def _result(
    db: Database, source: str, files: tuple[str, ...], counts: ApplyCounts, started: float
) -> RestoreResult:
    return RestoreResult(
        database=db.name,
        source=source,
        files=files,
        last_etag=db.last_etag,
        documents=db.count(),
        duration_ms=int((time.monotonic() - started) * 1000),
        counts=counts.result_counts(),
    )


def import_file(
    instance: Instance,
    file: Path,
    db_name: str,
    *,
    incremental: bool = False,
    encryption_key: str | None = None,
    progress: Progress | None = None,
) -> RestoreResult:
    """Import an export (or backup) file into `db_name`.

    A missing database is created from the file (built aside, then moved in).
    Into an existing database, documents, attachments, identities and index
    definitions are applied as updates; deletes are applied too with
    ``incremental=True`` (the smuggler's ``--incremental``).
    """
    started = time.monotonic()
    check_database_name(db_name)
    file = Path(file)
    if not instance.has_database(db_name):
        return _import_new(instance, file, db_name, encryption_key, progress, started)
    db = instance.database(db_name)
    with BackupReader(file, encryption_key=encryption_key) as reader:
        if reader.header.type == "snapshot":
            raise RestoreError(f"{file.name} is a snapshot; restore it into a new database instead")
        tracker = _ByteProgress(2 * reader.size, progress)
        reader.verify_checksum(tracker)
        applier = Applier(db.engine, keep_etags=False, apply_deletes=incremental)
        counts = applier.apply(reader)
        tracker(reader.size)
    return _result(db, str(file), (file.name,), counts, started)


def _import_new(
    instance: Instance,
    file: Path,
    db_name: str,
    encryption_key: str | None,
    progress: Progress | None,
    started: float,
) -> RestoreResult:
    from rookdb.backup.chain import RunFolderInfo, read_file_info

    info = read_file_info(file)
    with instance.staging() as staging:
        plan = RestorePlan(RunFolderInfo(file.parent, file.parent.name, (info,)), (info,))
        built, counts = build_database(staging, plan, encryption_key, progress)
        db: Database = instance.adopt_database(db_name, built)
    return _result(db, str(file), (file.name,), counts, started)
