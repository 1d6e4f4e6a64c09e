"""Nothing acknowledged is lost when the process is killed mid-write."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import rookdb

WRITER = textwrap.dedent(
    """
    import sys, rookdb
    inst = rookdb.open(sys.argv[1])
    db = inst.create_database("crash")
    for i in range(1_000_000):
        if i % 7 == 0:
            db.bulk_insert((f"bulk/{i}-{j}", {"i": i, "pad": "x" * 500}) for j in range(200))
        result = db.put(f"users/{i}", {"i": i})
        print(result.etag, flush=True)
    """
)


def test_killed_writer_loses_no_acknowledged_write(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    acknowledged: list[int] = []
    for line in proc.stdout:
        acknowledged.append(int(line))
        if len(acknowledged) >= 300:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    with rookdb.open(tmp_path) as inst:
        db = inst.database("crash")
        assert db.last_etag >= acknowledged[-1]
        for i in range(len(acknowledged)):
            doc = db.get(f"users/{i}")
            assert doc is not None and doc.body == {"i": i}
        # The store is writable and keeps counting from where it was.
        assert db.put("after/1", {}).etag == db.last_etag
        integrity = db.engine.reader().execute("PRAGMA integrity_check").fetchone()[0]
        assert integrity == "ok"
