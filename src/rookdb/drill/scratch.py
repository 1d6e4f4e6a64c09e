"""The scratch place of a restore drill, and cleaning up after drills that were killed.

Each drill works in its own folder under ``<data-dir>/.drill-scratch/`` and
holds an exclusive ``flock`` on a lock file inside it for as long as it runs.
The kernel drops that lock when the process ends, however it ends (SIGKILL
included), so a folder whose lock can be taken belongs to nobody and can be
removed: that is what ``clean_leftovers`` does at server start and before
every drill. A drill running in another process keeps its lock and is left
alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import IO

from rookdb.errors import StorageError

SCRATCH_DIR = ".drill-scratch"
LOCK_FILE = "drill.lock"
# A folder without its lock file may be one a drill has just created and not
# locked yet; only one older than this is taken for a leftover.
UNLOCKED_GRACE_SECONDS = 60.0


def scratch_root(data_dir: Path) -> Path:
    """Where the drills of a data dir build their scratch databases."""
    return Path(data_dir) / SCRATCH_DIR


class Scratch:
    """One drill's private folder, locked while it exists; removed by `close()`."""

    def __init__(self, root: Path) -> None:
        try:
            root.mkdir(parents=True, exist_ok=True)
            self.path = Path(tempfile.mkdtemp(prefix="drill-", dir=root))
            self._lock: IO[bytes] | None = open(self.path / LOCK_FILE, "wb")  # noqa: SIM115
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX)
        except OSError as exc:
            raise StorageError(
                f"cannot create the drill's scratch folder in {root}: {exc.strerror or exc}"
            ) from exc

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete everything the drill wrote, then release the lock."""
        shutil.rmtree(self.path, ignore_errors=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def clean_leftovers(root: Path) -> list[str]:
    """Remove the scratch folders of drills that are no longer running; their names."""
    if not root.is_dir():
        return []
    removed = []
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and not _in_use(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
        elif not folder.is_dir():
            with contextlib.suppress(OSError):
                folder.unlink()
                removed.append(folder.name)
    return removed


def _in_use(folder: Path) -> bool:
    lock = folder / LOCK_FILE
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        # Killed between creating the folder and its lock file, or just created.
        try:
            age = time.time() - folder.stat().st_mtime
        except OSError:
            return False
        return age < UNLOCKED_GRACE_SECONDS
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return True
    finally:
        os.close(fd)
    return False
