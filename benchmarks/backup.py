"""Backup speed side by side: rookdb vs PostgreSQL 15, sqlite3 .backup + zstd, and a limit.

Generates the same documents for every system, runs each operation in its own
process (so peak RSS is that operation's own) and prints a table of times,
MB/s, peak memory and ratios. PostgreSQL comes from Debian's packages
(`apt-get install postgresql-15`); the script starts and stops its own server.

Every operation runs `--runs` times, rookdb and its peer in turn (so a burst of
load on a shared machine hits both), and the table shows medians. The "limit"
is what a full backup cannot beat by much: reading every document row in etag
order and compressing it with zstd level 3 on two threads, with no framing,
checksums or records; a second limit compresses at the level rookdb writes
(level 2), so the framing's own cost shows apart from the choice of level.
The restore's "floor" is SQLite's own part of a restore: the rows, built
beforehand, inserted into a staging file as the bulk loader inserts them, the
same indexes built, the file fsync'd. The import row imports the full backup
onto a database that exists (every change takes a new etag there). The CLI
rows time whole `rookdb` processes against a `sqlite3` process reading the
same document.

Run: `.venv/bin/python benchmarks/backup.py [--docs 200000] [--runs 3]`
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from dataset import document

from rookdb.backup.format.codecs import ZSTD_LEVEL

PG_BIN = Path("/usr/lib/postgresql/15/bin")
HERE = Path(__file__).resolve().parent


@dataclass
class Measure:
    seconds: float  # the whole process, start-up included
    peak_rss_mb: float
    operation_seconds: float | None = None  # the operation alone, as the step reported it
    cpu_seconds: float = 0.0  # user + system time of the process: less swayed by others' load

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
    return Measure(elapsed, usage.ru_maxrss / 1024, operation, usage.ru_utime + usage.ru_stime)


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


LIMIT = """
    import sqlite3, sys, time, zstandard
    conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    start = time.perf_counter()
    rows = conn.execute(
        "SELECT etag, id, collection, last_modified, change_vector, body FROM documents"
        " ORDER BY etag"
    )
    cctx = zstandard.ZstdCompressor(level=int(sys.argv[3]), threads=2)
    with open(sys.argv[2], "wb") as out, cctx.stream_writer(out) as writer:
        while batch := rows.fetchmany(5000):
            writer.write("\\n".join("\\t".join(map(str, row)) for row in batch).encode())
    print(f"op={time.perf_counter() - start}")
"""

IMPORT = """
    import sys, time, rookdb
    from pathlib import Path
    from rookdb.restore import import_file
    with rookdb.open(sys.argv[1]) as inst:
        inst.create_database(sys.argv[3]).put("other/1", {"kept": True})
        start = time.perf_counter()
        import_file(inst, Path(sys.argv[2]), sys.argv[3])
        print(f"op={time.perf_counter() - start}")
"""

# What SQLite alone takes to hold a restore's result: the rows, already built (read
# from the source before the clock starts), inserted as the bulk loader inserts them
# into a staging file, the same indexes built after, the file fsync'd. No backup is
# read, decoded or checked: a restore cannot beat this by much.
FLOOR = """
    import os, sqlite3, sys, time
    from pathlib import Path
    from rookdb.storage import schema
    from rookdb.storage.bulk import STAGING_CACHE_MIB, STAGING_PAGE_SIZE
    source = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    rows = source.execute(
        "SELECT etag, id_lower, id, collection, collection_lower, last_modified,"
        " change_vector, body FROM documents ORDER BY etag"
    ).fetchall()
    field_indexes = [
        sql for (sql,) in source.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_%'"
        )
    ]
    source.close()
    target = Path(sys.argv[2])
    start = time.perf_counter()
    conn = schema.connect(
        target, synchronous="OFF", journal_mode="OFF", page_size=STAGING_PAGE_SIZE,
        cache_mib=STAGING_CACHE_MIB,
    )
    schema.initialise(conn, "floor")
    conn.execute("DROP INDEX documents_collection")
    insert = (
        "INSERT OR REPLACE INTO documents(etag, id_lower, id, collection, collection_lower,"
        " last_modified, change_vector, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )
    for first in range(0, len(rows), 50_000):
        conn.execute("BEGIN IMMEDIATE")
        for batch in range(first, min(first + 50_000, len(rows)), 5_000):
            conn.executemany(insert, rows[batch : batch + 5_000])
        conn.execute("COMMIT")
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(schema.STORAGE_INDEXES["documents_collection"])
    for sql in field_indexes:
        conn.execute(sql)
    conn.execute("COMMIT")
    conn.close()
    fd = os.open(target, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    print(f"op={time.perf_counter() - start}")
    target.unlink()
"""

DROP = """
    import sys, rookdb
    with rookdb.open(sys.argv[1]) as inst:
        inst.delete_database(sys.argv[2])
"""


def rookdb_command() -> list[str]:
    """The `rookdb` executable of this interpreter's environment (its console script)."""
    script = Path(sys.executable).parent / "rookdb"
    if script.exists():
        return [sys.executable, str(script)]
    return [sys.executable, "-c", "import sys; from rookdb.cli.main import main; main()"]


def median_measure(measures: list[Measure]) -> Measure:
    """The median of each figure over several runs of one operation."""
    ops = [m.operation_seconds for m in measures if m.operation_seconds is not None]
    return Measure(
        statistics.median(m.seconds for m in measures),
        statistics.median(m.peak_rss_mb for m in measures),
        statistics.median(ops) if ops else None,
        statistics.median(m.cpu_seconds for m in measures),
    )


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
    parser.add_argument("--runs", type=int, default=3, help="runs of each operation (median)")
    parser.add_argument("--cli-runs", type=int, default=9, help="runs of each CLI command")
    args = parser.parse_args()
    rows: list[tuple[str, ...]] = []
    runs: dict[str, list[Measure]] = {}

    def measured(name: str, measure: Measure) -> None:
        runs.setdefault(name, []).append(measure)

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])),
    }
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        root = Path(tmp)
        os.chmod(root, 0o755)
        data, backups = root / "rook", root / "backups"
        python_step(GENERATE, str(data), str(args.docs), str(args.attachments))
        db_file = next((data / "databases").glob("bench.*"))
        db_mb = db_file.stat().st_size / 1e6

        pg = Postgres(root)
        pg.start()
        try:
            pg.load(args.docs)
            dump = pg.dir / "bench.dump"
            sqlite_out = root / "sqlite-copy.db"
            for n in range(args.runs):
                # rookdb and its peer in turn, run after run.
                measured("full", python_step(FULL, str(data), str(backups / f"full{n}"), "backup"))
                measured(
                    "pg_dump",
                    run_measured(
                        ["pg_dump", "-Fc", "-f", str(dump), "bench"], env=pg.env, user="postgres"
                    ),
                )
                measured("limit", python_step(LIMIT, str(db_file), str(root / "limit.zst"), "3"))
                # The same at the level rookdb writes (codecs.ZSTD_LEVEL): framing alone.
                measured(
                    "limit at level",
                    python_step(LIMIT, str(db_file), str(root / "limit.zst"), str(ZSTD_LEVEL)),
                )
                measured(
                    "snap", python_step(FULL, str(data), str(backups / f"snap{n}"), "snapshot")
                )
                measured(
                    "sqlite",
                    run_measured(
                        [
                            "sh",
                            "-c",
                            f"sqlite3 '{db_file}' \".backup '{sqlite_out}'\" "
                            f"&& zstd -q -f -T0 --rm '{sqlite_out}'",
                        ]
                    ),
                )
                full_folder = next((backups / f"full{n}").iterdir())
                measured("restore", python_step(RESTORE, str(data), str(full_folder), "restored"))
                python_step(DROP, str(data), "restored")
                full_file = next(full_folder.glob("*.rookdb-full-backup"))
                measured("import", python_step(IMPORT, str(data), str(full_file), "imported"))
                python_step(DROP, str(data), "imported")
                measured("floor", python_step(FLOOR, str(db_file), str(root / "floor.db")))
                pg.sh("psql", "-q", "-c", "DROP DATABASE IF EXISTS restored")
                pg.sh("psql", "-q", "-c", "CREATE DATABASE restored")
                measured(
                    "pg_restore",
                    run_measured(
                        ["pg_restore", "-d", "restored", str(dump)], env=pg.env, user="postgres"
                    ),
                )
            dump_mb = dump.stat().st_size / 1e6
        finally:
            pg.stop()
        full_size = dir_size(backups / "full0") / 1e6
        snap_size = dir_size(backups / "snap0") / 1e6
        # The incremental last: it follows a change to the database.
        python_step(MUTATE, str(data), str(args.docs))
        incr = python_step(INCREMENTAL, str(data), str(backups / "full0"))

        rookdb = rookdb_command()
        local = ["--data-dir", str(data)]
        get_peer = [
            "sqlite3",
            str(db_file),
            "SELECT body FROM documents WHERE id_lower = 'users/2'",
        ]
        for _ in range(args.cli_runs):
            measured("help", run_measured([*rookdb, "--help"], env=env))
            measured("get", run_measured([*rookdb, *local, "get", "bench", "users/2"], env=env))
            measured("sqlite get", run_measured(get_peer))

    full, pg_dump, limit = (median_measure(runs[k]) for k in ("full", "pg_dump", "limit"))
    limit_at_level = median_measure(runs["limit at level"])
    snap, sqlite_backup = median_measure(runs["snap"]), median_measure(runs["sqlite"])
    restore, pg_restore = median_measure(runs["restore"]), median_measure(runs["pg_restore"])
    floor, imported = median_measure(runs["floor"]), median_measure(runs["import"])
    cli_help, cli_get, sqlite_get = (median_measure(runs[k]) for k in ("help", "get", "sqlite get"))

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
                f"{mine.cpu_seconds:.2f} s",
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
    # Against the limit and incremental against full: the operations alone.
    row(
        "full backup",
        full,
        db_mb,
        f"pg_dump -Fc ({dump_mb:.0f} MB)",
        pg_dump.seconds,
        full.seconds,
        ">= 5x faster than pg_dump",
    )
    row(
        "full backup (op)",
        full,
        db_mb,
        "limit: rows + zstd-3 x2 (op)",
        limit.op,
        full.op,
        "within 1.5x of the limit (ratio >= 0.67)",
    )
    row(
        "full backup (op)",
        full,
        db_mb,
        f"limit at rookdb's zstd-{ZSTD_LEVEL} x2 (op)",
        limit_at_level.op,
        full.op,
        "the framing's own cost",
    )
    row(
        "snapshot",
        snap,
        db_mb,
        "sqlite3 .backup + zstd -T0",
        sqlite_backup.seconds,
        snap.seconds,
        "within 1.1x (ratio >= 0.91)",
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
        ">= 2x faster than pg_restore",
    )
    row(
        "restore (op)",
        restore,
        db_mb,
        "floor: SQLite inserts + indexes (op)",
        floor.op,
        restore.op,
        "what SQLite itself takes",
    )
    row(
        "import (op)",
        imported,
        db_mb,
        "rookdb restore (op)",
        restore.op,
        imported.op,
        "new etags onto a live database",
    )
    for name, mine in (("rookdb --help", cli_help), ("rookdb get DB ID", cli_get)):
        rows.append(
            (
                name,
                f"{mine.seconds:.2f} s",
                f"{mine.cpu_seconds:.2f} s",
                "-",
                "-",
                f"{mine.peak_rss_mb:.0f} MB",
                "sqlite3 DB 'SELECT ...' (one document)",
                f"{sqlite_get.seconds:.2f} s",
                f"{sqlite_get.seconds / mine.seconds:.2f}x",
                "<= 0.2 s as a process",
            )
        )
    header = (
        "operation",
        "rookdb process",
        "process CPU",
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
        f"database file {db_mb:.0f} MB, full backup {full_size:.0f} MB, "
        f"snapshot {snap_size:.0f} MB; "
        f"medians of {args.runs} runs in turn ({args.cli_runs} for the CLI); "
        f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    print("peak RSS target: under 150 MB for every rookdb operation")


if __name__ == "__main__":
    main()
