"""Partial files: how a file being written is named, locked while written, and cleaned up.

A backup file is written as ``NAME.in-progress`` and renamed when complete; an
upload to a local folder (or FTP) goes to ``.rookdb-upload-<random>-NAME``
first. A process killed mid-write leaves such a file behind. Nothing that
reads backups counts it (it never looks complete), and cleaning removes it
once it is *abandoned*: its writer holds an exclusive ``flock`` on it for as
long as it writes (the kernel drops the lock when the process dies), and a
file is only removed when that lock can be taken and the file has not been
touched for a grace period. The grace period covers the moment between
creating a file and locking it, and file systems where ``flock`` is a no-op.
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

IN_PROGRESS_SUFFIX = ".in-progress"
UPLOAD_PREFIX = ".rookdb-upload-"
# Untouched this long and unlocked: nobody is writing it any more.
DEFAULT_GRACE_SECONDS = 10 * 60.0


def is_partial_name(name: str) -> bool:
    """True for the name of a file still being written (or left by a killed writer)."""
    return name.endswith(IN_PROGRESS_SUFFIX) or name.startswith(UPLOAD_PREFIX)


def open_locked(path: Path) -> IO[bytes]:
    """Create `path` (it must not exist) for writing; it stays locked until closed."""
    out = open(path, "xb")  # noqa: SIM115 - the caller closes it, which drops the lock
    try:
        fcntl.flock(out.fileno(), fcntl.LOCK_EX)
    except BaseException:
        out.close()
        raise
    return out


def is_abandoned(path: Path, grace_seconds: float = DEFAULT_GRACE_SECONDS) -> bool:
    """True when no live process writes `path` and it has not changed for `grace_seconds`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False  # gone already, or not a plain file: not ours to remove
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live writer holds it
        return time.time() - os.fstat(fd).st_mtime > grace_seconds
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Cleanup:
    """What a clean-up removed: partial files, their bytes, and folders left empty."""

    files: tuple[str, ...] = ()
    bytes: int = 0
    folders: tuple[str, ...] = ()


def remove_abandoned(
    root: Path, *, grace_seconds: float = DEFAULT_GRACE_SECONDS, depth: int = 2
) -> Cleanup:
    """Remove abandoned partial files in `root` and `depth - 1` levels of folders below it.

    A folder left empty by the clean-up (the run folder of a killed full
    backup) is removed too; `root` itself never is.
    """
    files: list[str] = []
    folders: list[str] = []
    size = 0
    for folder in _folders(root, depth):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        removed_here = False
        for entry in entries:
            if not (entry.is_file(follow_symlinks=False) and is_partial_name(entry.name)):
                continue
            path = Path(entry.path)
            if not is_abandoned(path, grace_seconds):
                continue
            try:
                length = entry.stat().st_size
                path.unlink()
            except OSError:
                continue
            files.append(path.relative_to(root).as_posix())
            size += length
            removed_here = True
        if removed_here and folder != root:
            try:
                folder.rmdir()  # only succeeds when nothing else is in it
                folders.append(folder.relative_to(root).as_posix())
            except OSError:
                pass
    return Cleanup(tuple(files), size, tuple(folders))


def _folders(root: Path, depth: int) -> list[Path]:
    # Deepest first, so a run folder is emptied before its parent is looked at.
    found = [root]
    level = [root]
    for _ in range(depth - 1):
        below: list[Path] = []
        for folder in level:
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            below += [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False)]
        found += below
        level = below
    return list(reversed(found))
