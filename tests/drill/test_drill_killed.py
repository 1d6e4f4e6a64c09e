"""A drill killed (SIGKILL) in the middle of its restore leaves nothing behind after a restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import rookdb
from rookdb.drill import run_drill, scratch_root
from rookdb.tasks import BackupScheduler

from .chains import make_chain

# The child pauses once the full file is in its scratch database: the middle of
# the restore, with the incrementals still to come. The pause is bounded so a
# child the test failed to kill still ends.
CHILD = """
import sys, time
from pathlib import Path
from rookdb.drill import run_drill, scratch_root

source, data_dir, marker = sys.argv[1:4]
paused = False

def progress(done, total):
    global paused
    if not paused and done > total // 2:
        paused = True
        Path(marker).write_text("restoring")
        time.sleep(120)

run_drill(Path(source), scratch_root(Path(data_dir)), progress=progress)
"""


def wait_for(path: Path, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, "the drill process ended before it paused"
        assert time.monotonic() < deadline, "the drill process never reached its restore"
        time.sleep(0.02)


def leftovers(data_dir: Path) -> list[str]:
    root = scratch_root(data_dir)
    if not root.exists():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def test_killed_drill_leaves_nothing_after_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with rookdb.open(data) as instance:
        chain = make_chain(instance, tmp_path / "backups")
        live = (chain.db.database_id, chain.db.last_etag, chain.db.count())
    marker = tmp_path / "paused"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(chain.folder), str(data), str(marker)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        wait_for(marker, proc)
        left = leftovers(data)
        # Mid-restore: the scratch database is being built beside the drill's lock.
        assert any(name.endswith("/build/restore.rookdb") for name in left), left
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    assert leftovers(data), "SIGKILL gives the drill no chance to clean up"

    # Restart: what `rookdb serve` starts (the backup scheduler) cleans the leftovers.
    with rookdb.open(data) as instance:
        scheduler = BackupScheduler(instance)
        scheduler.start()
        scheduler.stop()
        assert leftovers(data) == []
        assert instance.database_names() == ["shop"]
        db = instance.database("shop")
        assert (db.database_id, db.last_etag, db.count()) == live


def test_next_drill_cleans_what_a_killed_one_left(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with rookdb.open(data) as instance:
        chain = make_chain(instance, tmp_path / "backups")
    marker = tmp_path / "paused"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(chain.folder), str(data), str(marker)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        wait_for(marker, proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert leftovers(data)
    report = run_drill(chain.folder, scratch_root(data))
    assert report.passed, report.problems
    assert leftovers(data) == []
