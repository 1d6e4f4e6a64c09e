"""One backup run: a full backup (or snapshot) that starts a run folder, or an incremental
that continues one; `run_backup` is the one-off backup the CLI and the HTTP API ask for.

The logical writer, the chain reader and the catalog are imported by the runs that use
them: a snapshot process loads neither the change feed's record writer nor the reader.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from rookdb.backup import naming
from rookdb.backup.format import FileSummary, RunClaim, check_compression
from rookdb.backup.snapshot import write_snapshot_file
from rookdb.errors import BackupError, ChainBroken, InvalidInput
from rookdb.partial import remove_abandoned
from rookdb.storage import Database

Progress = Callable[[int, int], None]
BACKUP_TYPES = ("backup", "snapshot")


@dataclass(frozen=True)
class BackupFile:
    """What one backup run wrote; its path on destinations is f"{run_folder}/{file_name}"."""

    path: Path
    run_folder: str
    file_name: str
    kind: Literal["full", "incremental"]
    type: Literal["backup", "snapshot"]
    since_etag: int
    last_etag: int
    documents: int
    tombstones: int
    attachments: int
    size_bytes: int
    sha256: str  # of the whole file, as uploaded
    created_at: str
    # Partial files of killed runs removed from the folder of run folders meanwhile.
    cleaned_up: tuple[str, ...] = ()

    @property
    def relative_path(self) -> str:
        return f"{self.run_folder}/{self.file_name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "run_folder": self.run_folder,
            "file_name": self.file_name,
            "kind": self.kind,
            "type": self.type,
            "since_etag": self.since_etag,
            "last_etag": self.last_etag,
            "documents": self.documents,
            "tombstones": self.tombstones,
            "attachments": self.attachments,
            "size_bytes": self.size_bytes,
            "sha256": self.sha256,
            "created_at": self.created_at,
            "cleaned_up": list(self.cleaned_up),
        }


def _backup_file(path: Path, summary: FileSummary) -> BackupFile:
    h = summary.header
    counts = summary.trailer.counts
    return BackupFile(
        path=path,
        run_folder=path.parent.name,
        file_name=path.name,
        kind=h.kind,
        type=h.type,
        since_etag=h.since_etag,
        last_etag=h.last_etag,
        documents=counts.get("documents", 0),
        tombstones=counts.get("tombstones", 0),
        attachments=counts.get("attachments", 0),
        size_bytes=summary.size_bytes,
        sha256=summary.sha256,
        created_at=h.created_at,
    )


def check_backup_type(backup_type: str) -> str:
    if backup_type not in BACKUP_TYPES:
        raise InvalidInput(
            f"unknown backup type {backup_type!r}; use 'backup' or 'snapshot'", field="type"
        )
    return backup_type


def write_full_backup(
    db: Database,
    out_dir: Path,
    *,
    backup_type: str = "backup",
    compression: str = "zstd",
    encryption_key: str | None = None,
    node_tag: str | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
    claim: RunClaim | None = None,
) -> BackupFile:
    """Start a new run folder in `out_dir` with a full backup (or snapshot) of `db`."""
    check_backup_type(backup_type)
    check_compression(compression)
    node = node_tag or db.node_tag
    folder = naming.create_run_folder(Path(out_dir), db.name, node, now)
    try:
        path = naming.new_file_path(folder, naming.suffix_for("full", backup_type), now)
        if backup_type == "snapshot":
            summary = write_snapshot_file(
                db,
                path,
                compression=compression,
                encryption_key=encryption_key,
                node=node,
                progress=progress,
                now=now,
                claim=claim,
            )
        else:
            from rookdb.backup.logical import write_logical_file

            written = write_logical_file(
                db,
                path,
                since_etag=0,
                kind="full",
                compression=compression,
                encryption_key=encryption_key,
                node=node,
                progress=progress,
                now=now,
                claim=claim,
            )
            assert written is not None
            summary = written
    except BaseException:
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty: a failed first file leaves no folder
        raise
    return _with_cleanup(_backup_file(path, summary), Path(out_dir))


def write_incremental_backup(
    db: Database,
    run_folder: Path,
    since_etag: int,
    *,
    compression: str = "zstd",
    encryption_key: str | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
    claim: RunClaim | None = None,
) -> BackupFile | None:
    """Add the changes after `since_etag` to `run_folder`; None (nothing written) if none."""
    check_compression(compression)
    if since_etag < 0:
        raise InvalidInput("since_etag must be >= 0", field="since_etag")
    run_folder = Path(run_folder)
    _check_same_database(db, run_folder)
    try:
        run_folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create run folder {run_folder}: {exc.strerror}") from exc
    path = naming.new_file_path(run_folder, naming.INCREMENTAL_SUFFIX, now)
    from rookdb.backup.logical import write_logical_file

    summary = write_logical_file(
        db,
        path,
        since_etag=since_etag,
        kind="incremental",
        compression=compression,
        encryption_key=encryption_key,
        progress=progress,
        now=now,
        skip_if_empty=True,
        claim=claim,
    )
    if summary is None:
        return None
    return _with_cleanup(_backup_file(path, summary), run_folder.parent)


@dataclass(frozen=True)
class BackupRun:
    """What one backup run wrote, or that it was skipped (no change since `last_etag`)."""

    written: BackupFile | None
    last_etag: int

    @property
    def skipped(self) -> bool:
        return self.written is None

    def to_json(self) -> dict[str, Any]:
        if self.written is None:
            return {"skipped": True, "last_etag": self.last_etag}
        return self.written.to_json()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BackupRun:
        """A run from its JSON form (as `rookdb.Client` receives it)."""
        if data.get("skipped"):
            return cls(None, int(data["last_etag"]))
        fields = {**data, "path": Path(data["path"]), "cleaned_up": tuple(data["cleaned_up"])}
        written = BackupFile(**fields)
        return cls(written, written.last_etag)


def run_backup(
    db: Database,
    to: Path,
    *,
    backup_type: str = "backup",
    incremental: bool = False,
    compression: str = "zstd",
    encryption_key: str | None = None,
    progress: Progress | None = None,
) -> BackupRun:
    """Back up `db` into the folder `to`: a full backup (or snapshot) in a new run folder,
    or an incremental (logical, whatever the chain's full) continuing its current chain there.

    The one decision a one-off backup makes: an incremental continues the current
    chain of `db` in `to` (`latest_chain`, the catalog's rule) and writes nothing
    when nothing changed. The CLI on a data dir and `POST /databases/{db}/backups`
    (the CLI over --url) both call this.
    """
    check_backup_type(backup_type)
    check_compression(compression)
    to = _usable_folder(Path(to))
    if not incremental:
        written = write_full_backup(
            db,
            to,
            backup_type=backup_type,
            compression=compression,
            encryption_key=encryption_key,
            progress=progress,
        )
        return BackupRun(written, written.last_etag)
    from rookdb.backup.catalog import latest_chain

    chain = latest_chain(to, database=db.name)
    if chain is None:
        raise InvalidInput(
            f"no run folder of {db.name} in {to} to continue; run a full backup first",
            field="incremental",
        )
    inc = write_incremental_backup(
        db,
        chain.path,
        chain.last_etag,
        compression=compression,
        encryption_key=encryption_key,
        progress=progress,
    )
    return BackupRun(inc, inc.last_etag if inc else chain.last_etag)


def _usable_folder(to: Path) -> Path:
    """`to`, created when missing; InvalidInput naming `to` when it cannot be a folder."""
    try:
        to.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InvalidInput(f"{to} is a file, not a folder", field="to") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InvalidInput(f"cannot use {to} as the backup folder: {reason}", field="to") from None
    return to


def _with_cleanup(written: BackupFile, out_dir: Path) -> BackupFile:
    # A backup killed mid-write left partial files (and maybe a run folder holding
    # nothing else): every reader passes over them already, and the next backup
    # into the same folder removes those their writer abandoned.
    cleanup = remove_abandoned(out_dir)
    return dataclasses.replace(written, cleaned_up=cleanup.files) if cleanup.files else written


def _check_same_database(db: Database, run_folder: Path) -> None:
    # The full file may be gone locally (uploaded, then cleaned); check only what is here.
    if not run_folder.is_dir():
        return
    from rookdb.backup.chain import read_run_folder

    for info in read_run_folder(run_folder).files:
        if info.database_id != db.database_id:
            raise ChainBroken(
                f"run folder {run_folder.name} holds backups of another database "
                f"({info.database}, id {info.database_id[:8]}); start a new full backup"
            )
        return
