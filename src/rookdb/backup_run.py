"""One backup now, into a folder of run folders: `rookdb backup run DB --to DIR [--incremental]`.

The one decision a one-off backup makes: a full backup (or snapshot) starts a
new run folder; an incremental continues the current chain of DB in the folder
(`latest_chain`, the catalog's rule) and writes nothing when nothing changed.
The CLI on a data dir and `POST /databases/{db}/backups` (the CLI over --url)
both call `run_backup`.

(It belongs beside `write_full_backup` in `rookdb.backup`; it lives here until
that package can take it.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rookdb.backup import (
    BackupFile,
    check_backup_type,
    latest_chain,
    write_full_backup,
    write_incremental_backup,
)
from rookdb.backup.format import check_compression
from rookdb.errors import InvalidInput
from rookdb.storage import Database

Progress = Callable[[int, int], None]


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
    or an incremental (logical, whatever the chain's full) continuing its current chain there."""
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
