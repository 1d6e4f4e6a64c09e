"""What a restore drill costs: drill time against the full backup it proves, and a plain restore.

Generates the backup benchmark's data set (``dataset.py``: ~1 KB documents of
varied text, 10 KB attachments, one index), takes a full backup, then runs a
plain restore and a drill (restore into scratch + checks + delete), each in
its own process so peak RSS and CPU time are that operation's own.

Run: `.venv/bin/python benchmarks/drill.py [--docs 200000] [--attachments 2000]`
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass
class Step:
    """One operation run in its own process."""

    seconds: float  # the operation alone, as the process reported it
    cpu_seconds: float  # the whole process (user + system), start-up included
    peak_rss_mb: float
    extra: dict[str, float]


def python_step(code: str, *args: str) -> Step:
    """Run `code` in a fresh interpreter; it prints `key=value` lines, `op=` its own time."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    }
    cmd = [sys.executable, "-c", textwrap.dedent(code), *args]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"step failed:\n{err.read().decode()}")
        values = dict(
            line.split("=", 1) for line in out.read().decode().splitlines() if "=" in line
        )
    extra = {k: float(v) for k, v in values.items() if k != "op"}
    return Step(
        float(values.get("op", 0.0)), usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, extra
    )


GENERATE = """
    import sys, rookdb
    from dataset import attachment, document
    docs, attachments = int(sys.argv[2]), int(sys.argv[3])
    with rookdb.open(sys.argv[1]) as inst:
        db = inst.create_database("bench")
        db.bulk_insert((f"users/{i}", document(i)) for i in range(docs))
        db.create_index("UsersByAge", "Users", ["age"])
        for i in range(attachments):
            db.put_attachment(f"users/{i}", "photo.bin", attachment(i), "image/png")
"""

FULL = """
    import sys, time, rookdb
    from pathlib import Path
    from rookdb.backup import write_full_backup
    with rookdb.open(sys.argv[1]) as inst:
        start = time.perf_counter()
        written = write_full_backup(inst.database("bench"), Path(sys.argv[2]))
        print(f"op={time.perf_counter() - start}")
        print(f"size={written.size_bytes}")
"""

RESTORE = """
    import sys, time, rookdb
    from pathlib import Path
    from rookdb.restore import restore_database
    with rookdb.open(sys.argv[1]) as inst:
        start = time.perf_counter()
        restore_database(inst, Path(sys.argv[2]), "restored")
        print(f"op={time.perf_counter() - start}")
"""

DRILL = """
    import sys, time
    from pathlib import Path
    from rookdb.drill import run_drill, scratch_root
    start = time.perf_counter()
    report = run_drill(Path(sys.argv[2]), scratch_root(Path(sys.argv[1])))
    print(f"op={time.perf_counter() - start}")
    assert report.passed, report.problems
    print(f"restore={report.restore_seconds}")
    print(f"check={report.check_seconds}")
    print(f"drill_cpu={report.cpu_seconds}")
    print(f"bytes_read={report.bytes_read}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--attachments", type=int, default=2_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        root = Path(tmp)
        data, backups = root / "rook", root / "backups"
        generated = time.perf_counter()
        python_step(GENERATE, str(data), str(args.docs), str(args.attachments))
        generated = time.perf_counter() - generated
        db_mb = next((data / "databases").glob("bench.*")).stat().st_size / 1e6
        full = python_step(FULL, str(data), str(backups))
        folder = next(backups.iterdir())
        restore = python_step(RESTORE, str(data), str(folder))
        drill = python_step(DRILL, str(data), str(folder))
        left = list((data / ".drill-scratch").iterdir())
    rows = [
        ("full backup", full, "-"),
        ("plain restore (rookdb restore)", restore, f"{restore.seconds / full.seconds:.2f}x"),
        ("drill: restore + checks + delete", drill, f"{drill.seconds / full.seconds:.2f}x"),
    ]
    header = ("operation", "time", "vs full backup", "process CPU", "peak RSS")
    table = [header] + [
        (name, f"{s.seconds:.2f} s", ratio, f"{s.cpu_seconds:.2f} s", f"{s.peak_rss_mb:.0f} MB")
        for name, s, ratio in rows
    ]
    print(
        f"{args.docs:,} documents (~1 KB), {args.attachments:,} attachments of 10 KB; "
        f"database {db_mb:.0f} MB, full backup {full.extra['size'] / 1e6:.0f} MB "
        f"(generated in {generated:.0f} s)"
    )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in [table[0], tuple("-" * w for w in widths), *table[1:]]:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    check_share = drill.extra["check"] / drill.seconds
    print(
        f"drill: restore {drill.extra['restore']:.2f} s + checks {drill.extra['check']:.2f} s "
        f"({check_share:.0%} of the drill); drill CPU {drill.extra['drill_cpu']:.2f} s; "
        f"read {drill.extra['bytes_read'] / 1e6:.0f} MB; "
        f"overhead of the drill over a plain restore {drill.seconds / restore.seconds - 1:+.0%}; "
        f"scratch left behind: {len(left)} entries"
    )


if __name__ == "__main__":
    main()
