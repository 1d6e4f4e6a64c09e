"""Backup explorer speed: `backup get`, `history`, `diff`, `ls --documents`, locally and on S3.

Builds a chain of one full backup of N ~1 KB documents (benchmarks/dataset.py)
plus incrementals of a few thousand changes each, then runs each question in
its own process (whole-process time, start-up included, and that process's
peak RSS) and prints a table. The S3 rows run against a moto server this
script starts on loopback, with the local index cache off (cold: every range
is fetched) and on (warm: a second look-up); they report the range requests
made per file consulted.

Run: `.venv/bin/python benchmarks/explorer.py [--docs 1000000] [--incrementals 20]`
(`--work DIR` keeps the data set between runs: building it is the slow part).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dataset import document

HERE = Path(__file__).resolve().parent
T0 = datetime(2026, 11, 1, 2, 0, 0, tzinfo=UTC)


@dataclass
class Row:
    what: str
    seconds: float
    cpu_seconds: float  # user + system: what the wall time would be on an idle machine
    peak_rss_mb: float
    note: str = ""


# Runs the code given, then prints the process's own peak RSS (VmHWM: that of its
# memory since exec; ru_maxrss would also count the pages of the parent it forked from).
WRAPPED = """
import sys
code = sys.argv.pop(1)
exec(compile(code, "<measured>", "exec"))
with open("/proc/self/status") as status:
    peak = next(line.split()[1] for line in status if line.startswith("VmHWM"))
print(f"hwm={peak}")
"""
CLI = """
import sys
from rookdb.cli.main import run
code = run(sys.argv[1:])
if code:
    raise SystemExit(code)
"""


def measured(code: str, args: list[str], env: dict[str, str]) -> tuple[float, float, float, str]:
    """Run `code` with `args` in a new Python; its wall time, CPU time, own peak RSS in MB,
    and the last line it printed before that."""
    cmd = [sys.executable, "-c", WRAPPED, code, *args]
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        if status != 0:
            raise SystemExit(f"failed: {' '.join(args)}\n{err.read().decode()[-2000:]}")
        lines = out.read().decode().strip().splitlines()
    peak = int(lines[-1].removeprefix("hwm=")) / 1024
    cpu = usage.ru_utime + usage.ru_stime
    return elapsed, cpu, peak, lines[-2] if len(lines) > 1 else ""


def build(work: Path, docs: int, incrementals: int, changes: int) -> Path:
    """The data set and its chain (reused when `work` already holds it)."""
    import rookdb
    from rookdb.backup import write_full_backup, write_incremental_backup

    done = work / "chain-ready"
    if done.exists():
        return Path(done.read_text())
    loaded = work / "data-ready"  # the documents, kept when only the chain is rebuilt
    with rookdb.open(work / "data") as instance:
        if loaded.exists():
            db = instance.database("bench")
        else:
            db = instance.create_database("bench")
            started = time.perf_counter()
            db.bulk_insert((f"users/{i}", document(i)) for i in range(docs))
            print(f"inserted {docs} documents in {time.perf_counter() - started:.1f} s")
            loaded.touch()
        started = time.perf_counter()
        full = write_full_backup(db, work / "backups", now=T0)
        print(f"full backup in {time.perf_counter() - started:.1f} s", flush=True)
        since = full.last_etag
        folder = full.path.parent
        for n in range(1, incrementals + 1):
            for k in range(changes):
                target = (n * 7919 + k * 104729) % docs
                if k % 10 == 0:
                    db.delete(f"users/{target}")
                else:
                    # A body no earlier round wrote, even over kept documents: a real change.
                    db.put(f"users/{target}", document(docs + n * changes + k))
            written = write_incremental_backup(db, folder, since, now=T0 + timedelta(hours=n))
            assert written is not None
            since = written.last_etag
    done.write_text(str(folder))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--incrementals", type=int, default=20)
    parser.add_argument("--changes", type=int, default=2_000, help="changes per incremental")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="rookdb-explorer-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    # Built in a child process: a child forked from a parent that held the data set
    # would count the parent's pages in its own peak RSS.
    builder = [sys.executable, __file__, "--build-only", "--docs", str(args.docs),
               "--incrementals", str(args.incrementals), "--changes", str(args.changes),
               "--work", str(work)]  # fmt: skip
    if not args.build_only:
        subprocess.run(builder, check=True)
    folder = build(work, args.docs, args.incrementals, args.changes)
    if args.build_only:
        return
    files = sorted(p.name for p in folder.iterdir())
    size = sum((folder / f).stat().st_size for f in files)
    env = {**os.environ, "ROOKDB_EXPLORER_CACHE": "off"}
    probe = "users/4242"  # in the full backup only
    changed = f"users/{(args.incrementals * 7919 + 104729) % args.docs}"  # in the last file
    rows: list[Row] = []

    def cli(what: str, *argv: str, note: str = "") -> None:
        seconds, cpu, rss, _last = measured(CLI, ["--quiet", *argv], env)
        rows.append(Row(what, seconds, cpu, rss, note))

    cli("backup get (in the full only)", "backup", "get", str(folder), probe)
    cli("backup get (changed in the last file)", "backup", "get", str(folder), changed)
    cli("backup get --until the full", "backup", "get", str(folder), probe, "--until", files[0])
    cli("backup history", "backup", "history", str(folder), changed)
    cli("backup diff of two adjacent points", "backup", "diff", str(folder),
        "--from", files[-2], "--to", files[-1], "--json")  # fmt: skip
    cli("backup diff full -> newest", "backup", "diff", str(folder), "--from", files[0], "--json")
    cli("backup ls --documents --prefix (whole catalog read)", "backup", "ls", str(folder),
        "--documents", "--prefix", "users/4242")  # fmt: skip
    rows += s3_rows(folder, files, probe, changed, work)

    print(
        f"\nchain: 1 full of {args.docs} documents + {args.incrementals} incrementals of "
        f"{args.changes} changes; {len(files)} files, {size / 1e6:.0f} MB on disk"
    )
    print(f"{'operation':56} {'wall s':>7} {'CPU s':>6} {'peak RSS MB':>12}  note")
    for row in rows:
        print(
            f"{row.what:56} {row.seconds:7.2f} {row.cpu_seconds:6.2f} "
            f"{row.peak_rss_mb:12.0f}  {row.note}"
        )


S3_GET = """
import sys
from rookdb.explorer import open_backup
with open_backup(sys.argv[1], credentials=dict(a.split("=", 1) for a in sys.argv[3:])) as ex:
    ex.get(sys.argv[2])
    counts = ex.range_requests()
print(f"{len(counts)} files consulted, at most {max(counts.values(), default=0)} range "
      f"requests per file, {sum(counts.values())} in all")
"""


def s3_rows(folder: Path, files: list[str], probe: str, changed: str, work: Path) -> list[Row]:
    """`backup get` from a moto S3 server: cold (no cache) and warm (index cache)."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        client = boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id="k", aws_secret_access_key="s",
            region_name="us-east-1",
        )  # fmt: skip
        client.create_bucket(Bucket="bench")
        for name in files:
            client.upload_file(str(folder / name), "bench", f"b/{folder.name}/{name}")
        url = f"s3://bench/b/{folder.name}"
        creds = [f"endpoint_url={endpoint}", "access_key_id=k", "secret_access_key=s",
                 "region=us-east-1"]  # fmt: skip
        rows = []
        cache = work / "index-cache"
        for label, cached in (("cold, no index cache", "off"), ("warm index cache", str(cache))):
            env = {**os.environ, "ROOKDB_EXPLORER_CACHE": cached}
            for doc_id in (probe, changed):
                if cached != "off":  # warm it first
                    measured(S3_GET, [url, doc_id, *creds], env)
                seconds, cpu, rss, note = measured(S3_GET, [url, doc_id, *creds], env)
                what = f"S3 (moto) backup get {doc_id}, {label}"
                rows.append(Row(what, seconds, cpu, rss, note))
        return rows
    finally:
        server.stop()


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
