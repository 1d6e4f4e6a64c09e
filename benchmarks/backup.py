"""Backup speed side by side: rookdb vs PostgreSQL 15 and sqlite3 .backup + zstd.

Generates the same documents for every system, runs each operation in its own
process (so peak RSS is that operation's own) and prints a table of times,
MB/s, peak memory and ratios. PostgreSQL comes from Debian's packages
(`apt-get install postgresql-15`); the script starts and stops its own server.

Run: `.venv/bin/python benchmarks/backup.py [--docs 200000]`
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from dataset import document

PG_BIN = Path("/usr/lib/postgresql/15/bin")
HERE = Path(__file__).resolve().parent


@dataclass
class Measure:
    seconds: float  # the whole process, start-up included
    peak_rss_mb: float
    operation_seconds: float | None = None  # the operation alone, as the step reported it

    @property
    def op(self) -> float:
        return self.operation_seconds if self.operation_seconds is not None else self.seconds


def run_measured(
    cmd: list[str], *, env: dict[str, str] | None = None, user: str | None = None
) -> Measure:
    """Run a command to completion; return its wall time and its own peak RSS."""
    if user is not None:
        cmd = ["runuser", "-u", user, "--", *cmd]
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"command failed: {' '.join(cmd)}\n{err.read().decode()}")
        reported = [line for line in out.read().decode().splitlines() if line.startswith("op=")]
    operation = float(reported[-1][3:]) if reported else None
    return Measure(elapsed, usage.ru_maxrss / 1024, operation)


def python_step(code: str, *args: str) -> Measure:
    """Run `code` in a fresh interpreter (own peak RSS) with rookdb and dataset importable."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    }
    return run_measured([sys.executable, "-c", textwrap.dedent(code), *args], env=env)


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

MUTATE = """
    import sys, rookdb
    docs = int(sys.argv[2])
    with rookdb.open(sys.argv[1]) as inst:
        db = inst.database("bench")
        step = 100
        db.bulk_insert((f"users/{i}", {"name": "changed", "age": 1}) for i in range(0, docs, step))
        for i in range(1, docs, step * 10):
            db.delete(f"users/{i}")
"""

FULL = """
    import sys, time, rookdb
    from pathlib import Path
    from rookdb.backup import write_full_backup
    with rookdb.open(sys.argv[1]) as inst:
        start = time.perf_counter()
        write_full_backup(inst.database("bench"), Path(sys.argv[2]), backup_type=sys.argv[3])
        print(f"op={time.perf_counter() - start}")
"""

INCREMENTAL = """
    import sys, time, rookdb
    from pathlib import Path
    from rookdb.backup import latest_chain, write_incremental_backup
    with rookdb.open(sys.argv[1]) as inst:
        start = time.perf_counter()
        chain = latest_chain(Path(sys.argv[2]))
        write_incremental_backup(inst.database("bench"), chain.path, chain.last_etag)
        print(f"op={time.perf_counter() - start}")
"""

RESTORE = """
    import sys, time, rookdb
    from pathlib import Path
    from rookdb.restore import restore_database
    with rookdb.open(sys.argv[1]) as inst:
        start = time.perf_counter()
        restore_database(inst, Path(sys.argv[2]), sys.argv[3])
        print(f"op={time.perf_counter() - start}")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


class Postgres:
    """A throwaway PostgreSQL 15 cluster owned by the `postgres` user."""

    def __init__(self, root: Path) -> None:
        self.dir = root / "pg"
        self.dir.mkdir()
        shutil.chown(self.dir, "postgres", "postgres")
        self.port = free_port()
        self.env = {
            **os.environ,
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "PGUSER": "postgres",
        }

    def sh(self, *cmd: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *cmd],
            check=True,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def start(self) -> None:
        data = self.dir / "data"
        self.sh(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=on"
        self.sh(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-w",
            "-l",
            str(self.dir / "log"),
            "start",
        )

    def stop(self) -> None:
        self.sh(str(PG_BIN / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "stop")

    def load(self, docs: int) -> None:
        csv_path = self.dir / "docs.tsv"
        with csv_path.open("w") as out:
            for i in range(docs):
                # The dataset's text has no tab, newline or backslash: safe as COPY text.
                body = orjson.dumps(document(i)).decode()
                out.write(f"users/{i}\t{body}\n")
        shutil.chown(csv_path, "postgres", "postgres")
        self.sh("psql", "-q", "-c", "CREATE DATABASE bench")
        self.sh(
            "psql",
            "-q",
            "-d",
            "bench",
            "-c",
            "CREATE TABLE docs (id text PRIMARY KEY, body jsonb NOT NULL)",
        )
        self.sh("psql", "-q", "-d", "bench", "-c", f"\\copy docs FROM '{csv_path}'")
        self.sh("psql", "-q", "-d", "bench", "-c", "CREATE INDEX docs_age ON docs ((body->'age'))")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--attachments", type=int, default=2_000)
    args = parser.parse_args()
    rows: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        root = Path(tmp)
        os.chmod(root, 0o755)
        data, backups = root / "rook", root / "backups"
        python_step(GENERATE, str(data), str(args.docs), str(args.attachments))
        db_file = next((data / "databases").glob("bench.*"))
        db_mb = db_file.stat().st_size / 1e6

        full = python_step(FULL, str(data), str(backups / "full"), "backup")
        full_size = dir_size(backups / "full") / 1e6
        snap = python_step(FULL, str(data), str(backups / "snap"), "snapshot")
        snap_size = dir_size(backups / "snap") / 1e6
        python_step(MUTATE, str(data), str(args.docs))
        incr = python_step(INCREMENTAL, str(data), str(backups / "full"))
        full_folder = next((backups / "full").iterdir())
        restore = python_step(RESTORE, str(data), str(full_folder), "restored")

        sqlite_out = root / "sqlite-copy.db"
        sqlite_backup = run_measured(
            [
                "sh",
                "-c",
                f"sqlite3 '{db_file}' \".backup '{sqlite_out}'\" && zstd -q -f --rm '{sqlite_out}'",
            ]
        )

        pg = Postgres(root)
        pg.start()
        try:
            pg.load(args.docs)
            dump = pg.dir / "bench.dump"
            pg_dump = run_measured(
                ["pg_dump", "-Fc", "-f", str(dump), "bench"], env=pg.env, user="postgres"
            )
            pg.sh("psql", "-q", "-c", "CREATE DATABASE restored")
            pg_restore = run_measured(
                ["pg_restore", "-d", "restored", str(dump)], env=pg.env, user="postgres"
            )
            dump_mb = dump.stat().st_size / 1e6
        finally:
            pg.stop()

    def row(
        name: str,
        mine: Measure,
        size_mb: float,
        peer_name: str,
        peer_seconds: float | None,
        mine_seconds: float,
        target: str,
    ) -> None:
        ratio = f"{peer_seconds / mine_seconds:.2f}x" if peer_seconds else "-"
        rows.append(
            (
                name,
                f"{mine.seconds:.2f} s",
                f"{mine.op:.2f} s",
                f"{size_mb / mine.op:.0f} MB/s",
                f"{mine.peak_rss_mb:.0f} MB",
                peer_name,
                f"{peer_seconds:.2f} s" if peer_seconds else "-",
                ratio,
                target,
            )
        )

    # Against other programs: whole processes on both sides (start-up included).
    # Incremental against full: the operations alone, both rookdb.
    row(
        "full backup",
        full,
        db_mb,
        f"pg_dump -Fc ({dump_mb:.0f} MB)",
        pg_dump.seconds,
        full.seconds,
        "faster than pg_dump",
    )
    row(
        "snapshot",
        snap,
        db_mb,
        "sqlite3 .backup + zstd",
        sqlite_backup.seconds,
        snap.seconds,
        "within 1.5x (ratio >= 0.67)",
    )
    row(
        "1 % incremental",
        incr,
        db_mb,
        "rookdb full backup (op)",
        full.op,
        incr.op,
        "< 5 % of full (ratio >= 20)",
    )
    row(
        "restore (from full)",
        restore,
        db_mb,
        "pg_restore",
        pg_restore.seconds,
        restore.seconds,
        "faster than pg_restore",
    )
    header = (
        "operation",
        "rookdb process",
        "operation only",
        "throughput (db MB/op s)",
        "peak RSS",
        "peer",
        "peer time",
        "peer/rookdb",
        "target",
    )
    print(
        f"{args.docs:,} documents (~1 KB of varied text), {args.attachments:,} attachments "
        "of 10 KB (random bytes); "
        f"database file {db_mb:.0f} MB, full backup {full_size:.0f} MB, snapshot {snap_size:.0f} MB"
    )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    print("peak RSS target: under 200 MB for every rookdb operation")


if __name__ == "__main__":
    main()
