"""Names of run folders and backup files, and writing a file so it is never seen half-done.

A run folder is ``{UTC yyyy-MM-dd-HH-mm-ss}.rookdb-{db}-{node}-backup``; it
holds ``{stamp}.rookdb-full-backup`` or ``{stamp}.rookdb-snapshot`` and then
``{stamp}.rookdb-incremental-backup`` files. When a name is already taken in
the same second, the stamp gets a ``-01``, ``-02`` ... suffix, so names stay
unique and still sort in creation order.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from rookdb.durability import fsync_path
from rookdb.errors import StorageError
from rookdb.partial import IN_PROGRESS_SUFFIX, open_locked

FULL_SUFFIX = ".rookdb-full-backup"
SNAPSHOT_SUFFIX = ".rookdb-snapshot"
INCREMENTAL_SUFFIX = ".rookdb-incremental-backup"
IN_PROGRESS = IN_PROGRESS_SUFFIX
BACKUP_SUFFIXES = (FULL_SUFFIX, SNAPSHOT_SUFFIX, INCREMENTAL_SUFFIX)

_STAMP = r"\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d(?:-\d+)?"
_RUN_FOLDER = re.compile(rf"^(?P<stamp>{_STAMP})\.rookdb-(?P<db>.+)-(?P<node>[^-]+)-backup$")
_FILE = re.compile(
    rf"^(?P<stamp>{_STAMP})\.rookdb-(?P<what>full-backup|snapshot|incremental-backup)$"
)


def stamp(now: datetime | None = None) -> str:
    """The UTC time stamp used in folder and file names."""
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d-%H-%M-%S")


def iso_time(now: datetime | None = None) -> str:
    """UTC ISO 8601 with a Z suffix, as written into headers."""
    moment = now or datetime.now(UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 time (naive means UTC), or None when `text` is not one."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def point_in_chain(until: str | None) -> str | None:
    """What `--until` names: a file name (a path to the file is cut to its name), an ISO
    time, or None for "the whole chain"."""
    if until is None or not until.strip():
        return None
    wanted = until.strip()
    # An ISO time has no "/": anything with one is a path a user tab-completed.
    return wanted.rstrip("/").rsplit("/", 1)[-1] if "/" in wanted else wanted


def run_folder_name(when: str, database: str, node: str) -> str:
    return f"{when}.rookdb-{database}-{node}-backup"


def is_run_folder_name(name: str) -> bool:
    return _RUN_FOLDER.match(name) is not None


def parse_run_folder_name(name: str) -> tuple[str, str, str] | None:
    """(stamp, database, node) of a run folder name, or None."""
    match = _RUN_FOLDER.match(name)
    return (match["stamp"], match["db"], match["node"]) if match else None


def is_backup_file_name(name: str) -> bool:
    return _FILE.match(name) is not None


def kind_of_file_name(name: str) -> str | None:
    """full, snapshot or incremental for a backup file name, else None."""
    match = _FILE.match(name)
    if match is None:
        return None
    return {"full-backup": "full", "incremental-backup": "incremental"}.get(
        match["what"], match["what"]
    )


def stamp_time(name: str) -> datetime | None:
    """The UTC time a run folder or backup file name starts with, or None."""
    try:
        return datetime.strptime(name[:19], "%Y-%m-%d-%H-%M-%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def order_key(name: str) -> tuple[str, int, bool]:
    """Creation-order sort key of a run folder or backup file name.

    Plain string order puts "...-05-01.rookdb" (the second folder of a
    second) before "...-05.rookdb" ('-' sorts before '.'); this key reads the
    stamp, then the same-second counter, and puts a full file before an
    incremental of the same second.
    """
    head, _, _rest = name.partition(".")
    base, counter = head[:19], head[20:]
    return base, int(counter) if counter.isdigit() else 0, name.endswith(INCREMENTAL_SUFFIX)


def suffix_for(kind: str, backup_type: str) -> str:
    if kind == "incremental":
        return INCREMENTAL_SUFFIX
    return SNAPSHOT_SUFFIX if backup_type == "snapshot" else FULL_SUFFIX


def _candidates(base: str) -> Iterator[str]:
    yield base
    for n in range(1, 10_000):
        yield f"{base}-{n:02d}"


def create_run_folder(out_dir: Path, database: str, node: str, now: datetime | None) -> Path:
    """Create a new, uniquely named run folder (mkdir is the atomic claim)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for when in _candidates(stamp(now)):
            folder = out_dir / run_folder_name(when, database, node)
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            return folder
    except OSError as exc:
        raise StorageError(f"cannot create a run folder in {out_dir}: {exc}") from exc
    raise StorageError(f"too many run folders for the same second in {out_dir}")


def new_file_path(folder: Path, suffix: str, now: datetime | None) -> Path:
    """A file name in `folder` not used by a finished or in-progress file."""
    for when in _candidates(stamp(now)):
        path = folder / f"{when}{suffix}"
        if not path.exists() and not Path(f"{path}{IN_PROGRESS}").exists():
            return path
    raise StorageError(f"too many backup files for the same second in {folder}")


@contextmanager
def atomic_file(final: Path) -> Iterator[IO[bytes]]:
    """Write `final` as `final.in-progress`; rename it only when complete (fsync'd).

    The partial file is locked while written (see `rookdb.partial`), so a
    clean-up never takes it from a live writer. On any failure it is deleted
    and OSError becomes a StorageError naming the file.
    """
    temp = Path(f"{final}{IN_PROGRESS}")
    try:
        out = open_locked(temp)
    except OSError as exc:
        raise StorageError(f"cannot create backup file {temp}: {exc.strerror or exc}") from exc
    try:
        try:
            yield out
            out.flush()
            os.fsync(out.fileno())
            os.replace(temp, final)  # renamed while still locked: never seen unlocked
        finally:
            out.close()
        fsync_dir(final.parent)
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise StorageError(
                f"writing backup file {final.name} failed: {exc.strerror or exc}"
            ) from exc
        raise


def fsync_dir(path: Path) -> None:
    fsync_path(path)
