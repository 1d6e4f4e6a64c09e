"""Database groups on one machine: replication lag, majority write cost, catch-up speed.

Starts one etcd member and three `rookdb serve --cluster` nodes (A, B, C) on
loopback, then measures, side by side:

- single writes with write concern `1` and with `majority` (goal: majority at
  most 3x the cost of 1);
- a bulk insert of --docs documents (~1 KB each) into a group of three, and how
  long after its last write every follower holds everything (goal: within 2 s);
- a new member catching up from nothing vs building the same database from an
  export file with `rookdb import` (a restore's speed; goal: at least 50%).

Run: `.venv/bin/python benchmarks/replication.py [--docs 100000]`
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
from dataset import document

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from cluster_processes import RookCluster, start_cluster, wait_until  # noqa: E402
from rookdb_process import cli  # noqa: E402

BATCH = 10_000


def single_writes(http: httpx.Client, db: str, count: int) -> float:
    """Median milliseconds of one document write through the write node."""
    times = []
    for n in range(count):
        started = time.perf_counter()
        answer = http.put(f"/databases/{db}/docs/w%2F{n}", json={"n": n, "text": "x" * 200})
        answer.raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bulk_insert(http: httpx.Client, db: str, docs: int) -> float:
    """Seconds to send `docs` documents through the HTTP bulk insert, BATCH per request."""
    started = time.perf_counter()
    for first in range(0, docs, BATCH):
        lines = b"".join(
            orjson.dumps({"id": f"users/{i}", "body": document(i)}) + b"\n"
            for i in range(first, min(first + BATCH, docs))
        )
        http.post(
            f"/databases/{db}/bulk-insert",
            content=lines,
            headers={"content-type": "application/x-ndjson"},
        ).raise_for_status()
    return time.perf_counter() - started


def caught_up(http: httpx.Client, db: str, members: str) -> bool:
    view = http.get(f"/databases/{db}/topology").json()
    lags = {m["tag"]: m["lag_etags"] for m in view["members"]}
    return all(lags.get(tag) == 0 for tag in members)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--writes", type=int, default=200)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="rookdb-replication-bench-"))
    cluster: RookCluster = start_cluster(base, tags="ABC", etcd_members=1)
    rows: list[tuple[str, str, str, str]] = []
    try:
        with cluster.http("A", timeout=600) as http:
            for name, concern in (("one", "1"), ("majority", "majority")):
                made = http.post(
                    "/databases",
                    json={"name": name, "nodes": ["A", "B", "C"], "write_concern": concern},
                )
                assert made.status_code == 201, made.text
            one = single_writes(http, "one", args.writes)
            majority = single_writes(http, "majority", args.writes)
            rows.append(
                (
                    "single write, median",
                    f"{one:.1f} ms",
                    f"{majority:.1f} ms",
                    f"majority/1 = {majority / one:.2f}x (goal <= 3x)",
                )
            )

            http.post(
                "/databases", json={"name": "bulk", "nodes": ["A", "B", "C"], "write_concern": "1"}
            ).raise_for_status()
            insert = bulk_insert(http, "bulk", args.docs)
            ended = time.perf_counter()
            wait_until(lambda: caught_up(http, "bulk", "ABC"), 600, "followers caught up")
            lag = time.perf_counter() - ended
            rows.append(
                (
                    f"bulk insert {args.docs:,} docs",
                    f"{insert:.1f} s",
                    f"{args.docs / insert:,.0f} docs/s",
                    f"lag back to 0 after {lag:.2f} s (goal <= 2 s)",
                )
            )

            http.post(
                "/databases", json={"name": "grow", "nodes": ["A", "B"], "write_concern": "1"}
            ).raise_for_status()
            bulk_insert(http, "grow", args.docs)
            wait_until(lambda: caught_up(http, "grow", "AB"), 600, "B caught up")
            started = time.perf_counter()
            http.post("/databases/grow/group/nodes", json={"node": "C"}).raise_for_status()
            wait_until(lambda: caught_up(http, "grow", "ABC"), 600, "C caught up")
            catch_up = time.perf_counter() - started

        export = base / "grow.rookdb"
        url, key = cluster.nodes["A"].url, cluster.admin_key
        done = cli("--url", url, "--api-key", key, "export", "grow", str(export))
        assert done.returncode == 0, done.stderr
        started = time.perf_counter()
        done = cli("--data-dir", str(base / "restored"), "import", str(export), "grow")
        assert done.returncode == 0, done.stderr
        restore = time.perf_counter() - started
        rows.append(
            (
                f"new member vs restore, {args.docs:,} docs",
                f"{catch_up:.1f} s",
                f"{restore:.1f} s",
                f"catch-up at {restore / catch_up:.0%} of restore speed (goal >= 50%)",
            )
        )
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)

    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    print("\nrookdb database groups, 3 nodes on one machine (loopback)\n")
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
