"""Restore staging folders: a live one survives another process opening the data dir,
a killed one is cleaned at the next open."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import rookdb
from rookdb import staging

HOLD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import rookdb
    with rookdb.open(sys.argv[1]) as instance:
        with instance.staging() as folder:
            (folder / "half-built.sqlite").write_bytes(b"x" * 1024)
            print(folder, flush=True)
            time.sleep(60)
    """
)


def hold_staging(data_dir: Path) -> tuple[subprocess.Popen[str], Path]:
    """A real process that opened the data dir and is in the middle of a restore."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(data_dir)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    folder = Path(proc.stdout.readline().strip())
    assert folder.is_dir(), "the child did not report its staging folder"
    return proc, folder


def test_a_restore_in_another_process_is_left_alone(tmp_path: Path) -> None:
    proc, folder = hold_staging(tmp_path)
    try:
        with rookdb.open(tmp_path):  # a CLI command beside a running server
            pass
        assert (folder / "half-built.sqlite").exists()
    finally:
        proc.kill()
        proc.wait(10)


def test_a_killed_restore_is_cleaned_at_the_next_open(tmp_path: Path) -> None:
    proc, folder = hold_staging(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert folder.exists()
    with rookdb.open(tmp_path):
        pass
    assert not folder.exists()


def test_a_folder_from_before_locks_is_removed_once_it_is_old(tmp_path: Path) -> None:
    root = tmp_path / "staging"
    young, old = root / "young", root / "old"
    young.mkdir(parents=True)
    old.mkdir()
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert staging.remove_abandoned(root) == [old]
    assert young.exists() and not old.exists()


def test_the_work_folder_goes_away_on_exit_even_after_an_error(tmp_path: Path) -> None:
    try:
        with staging.work_folder(tmp_path / "staging") as folder:
            (folder / "partial").write_text("x")
            raise RuntimeError("restore failed")
    except RuntimeError:
        pass
    assert not folder.exists()
