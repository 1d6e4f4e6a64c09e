"""Backup explorer speed: `backup get`, `history`, `diff`, `ls --documents`, locally and on S3.

Builds a chain of one full backup of N ~1 KB documents (benchmarks/dataset.py)
plus incrementals of a few thousand changes each, then runs each question in
its own process (whole-process time, start-up included, and that process's
peak RSS) and prints a table. The S3 rows run against a moto server this
script starts as a process of its own on loopback (as a real store is another
machine: its work is not this process's), with the local index cache off
(cold: every range is fetched) and on (warm: a second look-up). The "CLI"
rows are `rookdb backup get s3://...` as a whole process; the others call
the Python API and report the range requests made per file consulted.

Run: `.venv/bin/python benchmarks/explorer.py [--docs 1000000] [--incrementals 20]`
(`--work DIR` keeps the data set between runs: building it is the slow part;
`--runs N` prints each row's median of N runs, the rows taken in turn;
`--only local|s3` measures one group of rows; `--baseline-src DIR` measures
every row with rookdb imported from DIR too, alternately, for a before/after
table from one sitting).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
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
    quiet = code == CLI  # a command's own output is no note
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
    return elapsed, cpu, peak, lines[-2] if len(lines) > 1 and not quiet else ""


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
    parser.add_argument("--runs", type=int, default=1, help="each row's median of this many")
    parser.add_argument("--only", choices=("local", "s3"), default=None)
    parser.add_argument("--baseline-src", type=Path, default=None, help="the 'before' src/")
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
    load_before = os.getloadavg()
    measures: list[Measure] = []
    if args.only != "s3":
        measures += local_measures(folder, files, probe, changed, env)
    with MotoServer() if args.only != "local" else nullcontext() as moto:
        if moto is not None:
            measures += s3_measures(moto, folder, files, probe, changed, work)
        if args.baseline_src is not None:
            before = str(args.baseline_src.resolve())
            measures = [
                variant
                for m in measures
                for variant in (
                    Measure(
                        f"{m.what} [baseline]",
                        m.code,
                        m.args,
                        {**m.env, "PYTHONPATH": before},
                        m.warm_first,
                    ),  # fmt: skip
                    m,
                )
            ]
        rows = medians(measures, args.runs)
    load_after = os.getloadavg()

    print(
        f"\nchain: 1 full of {args.docs} documents + {args.incrementals} incrementals of "
        f"{args.changes} changes; {len(files)} files, {size / 1e6:.0f} MB on disk; "
        f"median of {args.runs} run(s); load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after"
    )
    print(f"{'operation':71} {'wall s':>7} {'CPU s':>6} {'peak RSS MB':>12}  note")
    for row in rows:
        print(
            f"{row.what:71} {row.seconds:7.2f} {row.cpu_seconds:6.2f} "
            f"{row.peak_rss_mb:12.0f}  {row.note}"
        )


@dataclass
class Measure:
    """One row to measure: a Python snippet run as a whole process with these arguments."""

    what: str
    code: str
    args: list[str]
    env: dict[str, str]
    warm_first: bool = False  # run once unmeasured before each measured run


def medians(measures: list[Measure], runs: int) -> list[Row]:
    """Each measure run `runs` times, the rows taken in turn (so a busy moment of the shared
    machine spreads over all of them); per row the median wall time, with that run's figures."""
    taken: list[list[tuple[float, float, float, str]]] = [[] for _ in measures]
    for _round in range(runs):
        for measure, results in zip(measures, taken, strict=True):
            if measure.warm_first:
                measured(measure.code, measure.args, measure.env)
            results.append(measured(measure.code, measure.args, measure.env))
    rows = []
    for measure, results in zip(measures, taken, strict=True):
        middle = statistics.median_low([r[0] for r in results])
        seconds, cpu, rss, note = next(r for r in results if r[0] == middle)
        if runs > 1:
            walls = sorted(r[0] for r in results)
            note = f"{note}; wall {walls[0]:.2f}-{walls[-1]:.2f}".lstrip("; ")
        rows.append(Row(measure.what, seconds, cpu, rss, note))
    return rows


def local_measures(
    folder: Path, files: list[str], probe: str, changed: str, env: dict[str, str]
) -> list[Measure]:
    """The explorer's commands on the local chain, each a whole `rookdb` process."""

    def cli(what: str, *argv: str) -> Measure:
        return Measure(what, CLI, ["--quiet", *argv], env)

    return [
        cli("backup get (in the full only)", "backup", "get", str(folder), probe),
        cli("backup get (changed in the last file)", "backup", "get", str(folder), changed),
        cli(
            "backup get --until the full", "backup", "get", str(folder), probe, "--until", files[0]
        ),  # fmt: skip
        cli("backup history", "backup", "history", str(folder), changed),
        cli(
            "backup diff of two adjacent points",
            "backup",
            "diff",
            str(folder),
            "--from",
            files[-2],
            "--to",
            files[-1],
            "--json",
        ),  # fmt: skip
        cli(
            "backup diff full -> newest",
            "backup",
            "diff",
            str(folder),
            "--from",
            files[0],
            "--json",
        ),  # fmt: skip
        cli(
            "backup ls --documents --prefix (whole catalog read)",
            "backup",
            "ls",
            str(folder),
            "--documents",
            "--prefix",
            "users/4242",
        ),  # fmt: skip
    ]


class MotoServer:
    """A moto S3 server as its own process on a free loopback port (stopped on exit)."""

    def __enter__(self) -> MotoServer:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    raise SystemExit("the moto server did not start") from None
                time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


S3_GET = """
import sys
from rookdb.explorer import open_backup
with open_backup(sys.argv[1], credentials=dict(a.split("=", 1) for a in sys.argv[3:])) as ex:
    ex.get(sys.argv[2])
    counts = ex.range_requests()
print(f"{len(counts)} files consulted, at most {max(counts.values(), default=0)} range "
      f"requests per file, {sum(counts.values())} in all")
"""


def s3_measures(
    moto: MotoServer, folder: Path, files: list[str], probe: str, changed: str, work: Path
) -> list[Measure]:
    """`backup get` from the moto S3 server: cold (no cache) and warm (index cache), as a
    whole `rookdb backup get` process and through the Python API (counting requests)."""
    import boto3

    client = boto3.client(
        "s3", endpoint_url=moto.endpoint, aws_access_key_id="k", aws_secret_access_key="s",
        region_name="us-east-1",
    )  # fmt: skip
    client.create_bucket(Bucket="bench")
    for name in files:
        client.upload_file(str(folder / name), "bench", f"b/{folder.name}/{name}")
    client.close()
    url = f"s3://bench/b/{folder.name}"
    creds = [f"endpoint_url={moto.endpoint}", "access_key_id=k", "secret_access_key=s",
             "region=us-east-1"]  # fmt: skip
    options = [arg for cred in creds for arg in ("--source-option", cred)]
    cold = {**os.environ, "ROOKDB_EXPLORER_CACHE": "off"}
    warm = {**os.environ, "ROOKDB_EXPLORER_CACHE": str(work / "index-cache")}
    measures = []
    for doc_id in (probe, changed):
        measures += [
            Measure(
                f"S3 (moto) CLI backup get {doc_id}, cold, no index cache",
                CLI,
                ["--quiet", "backup", "get", url, doc_id, *options],
                cold,
            ),  # fmt: skip
            Measure(
                f"S3 (moto) backup get {doc_id}, cold, no index cache",
                S3_GET,
                [url, doc_id, *creds],
                cold,
            ),  # fmt: skip
            Measure(
                f"S3 (moto) backup get {doc_id}, warm index cache",
                S3_GET,
                [url, doc_id, *creds],
                warm,
                warm_first=True,
            ),  # fmt: skip
        ]
    return measures


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
