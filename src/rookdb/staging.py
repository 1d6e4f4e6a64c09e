"""Private work folders inside a data dir, safe to clean while other processes use them.

A restore builds its database in `<data-dir>/staging/<folder>` (same file
system as the databases, so the final move is an atomic rename). Several
processes may open one data dir (a server and a CLI command), so cleaning up
after a crash must never remove a folder that a live restore is using: each
folder holds an exclusive `flock` on a lock file inside it for as long as it
is used, the kernel drops that lock when its process dies, and cleanup only
removes folders whose lock it can take.
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

LOCK_NAME = ".in-use"
# A folder is created a moment before its lock is taken; never remove one that young.
UNLOCKED_GRACE_SECONDS = 60.0


@contextmanager
def work_folder(root: Path) -> Iterator[Path]:
    """A new locked folder under `root`, removed (with its contents) on exit."""
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=root))
    fd = os.open(folder / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o600)
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
        folders = [p for p in root.iterdir() if p.is_dir()]
    except FileNotFoundError:
        return removed
    for folder in folders:
        if _abandoned(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _abandoned(folder: Path) -> bool:
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDWR)
    except FileNotFoundError:
        try:
            age = time.time() - folder.stat().st_mtime
        except FileNotFoundError:
            return False
        return age > UNLOCKED_GRACE_SECONDS
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # a live process is using it
    finally:
        os.close(fd)
    return True
