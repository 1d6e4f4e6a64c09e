"""The data dir's layout, and private work folders safe to clean while others use them.

Three kinds of work build something aside before it is adopted or uploaded:
a restore builds its database in `<data-dir>/staging/`, a drill its scratch
database in `<data-dir>/.drill-scratch/`, and a backup task run its file in
`<data-dir>/backup-staging/`. All on the same file system as the databases, so
the final move is an atomic rename. Several processes may open one data dir
(a server and a CLI command), so cleaning up after a crash must never remove a
folder another live process is using: each folder holds an exclusive `flock`
on a lock file inside it for as long as it is used, the kernel drops that
lock when its process dies, and cleanup only removes folders whose lock it
can take (or, with no lock file at all, that are older than a grace period:
the moment between creating a folder and locking it).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rookdb.errors import StorageError

RESTORE_STAGING = "staging"
DRILL_SCRATCH = ".drill-scratch"
BACKUP_STAGING = "backup-staging"
BACKUP_STATE = "backup-state"  # kept, not a work folder: destinations' local records
WORK_ROOTS = (RESTORE_STAGING, DRILL_SCRATCH, BACKUP_STAGING)

LOCK_NAME = ".in-use"
# A folder is created a moment before its lock is taken; never remove one that young.
UNLOCKED_GRACE_SECONDS = 60.0


@contextmanager
def work_folder(root: Path, prefix: str = "") -> Iterator[Path]:
    """A new locked folder under `root`, removed (with its contents) on exit."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
        fd = os.open(folder / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o600)
    except OSError as exc:
        raise StorageError(f"cannot create a work folder in {root}: {exc.strerror or exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        os.close(fd)


def remove_abandoned(root: Path) -> list[Path]:
    """Remove the folders under `root` that no live process holds; the ones removed."""
    removed: list[Path] = []
    try:
        entries = sorted(root.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return removed
    for entry in entries:
        if entry.is_dir() and _abandoned(entry):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
        elif not entry.is_dir():
            entry.unlink(missing_ok=True)  # nothing but work folders belongs here
            removed.append(entry)
    return removed


def remove_all_abandoned(data_dir: Path) -> list[Path]:
    """Clean every kind of work folder of a data dir (at start-up)."""
    return [path for name in WORK_ROOTS for path in remove_abandoned(data_dir / name)]


def _abandoned(folder: Path) -> bool:
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDWR)
    except FileNotFoundError:
        try:
            age = time.time() - folder.stat().st_mtime
        except FileNotFoundError:
            return False
        return age > UNLOCKED_GRACE_SECONDS
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # a live process is using it
    finally:
        os.close(fd)
    return True
