"""Core speed: bulk insert (embedded and over HTTP), change-feed read, single GET over HTTP.

Each row is measured side by side with a baseline doing the same work with
the least machinery possible (raw sqlite3 / a bare HTTP round trip), and the
table prints the ratio. Run: `.venv/bin/python benchmarks/core.py [--docs N]`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import orjson

import rookdb
from rookdb.security.keys import ApiKeys

PAD = "x" * 900


def make_docs(count: int) -> list[tuple[str, dict[str, object]]]:
    """~1 KB JSON documents."""
    return [
        (f"users/{i}", {"name": f"user {i}", "age": i % 90, "tags": ["a", "b"], "pad": PAD})
        for i in range(count)
    ]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_insert(root: Path, docs: list[tuple[str, dict[str, object]]]) -> tuple[float, float]:
    with rookdb.open(root / "rook") as inst:
        db = inst.create_database("bench")
        rook = timed(lambda: db.bulk_insert(docs))

    conn = sqlite3.connect(root / "raw.sqlite", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("CREATE TABLE docs (id TEXT PRIMARY KEY, body TEXT)")

    def raw() -> None:
        for offset in range(0, len(docs), 10_000):
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO docs VALUES (?, ?)",
                ((i, orjson.dumps(b).decode()) for i, b in docs[offset : offset + 10_000]),
            )
            conn.execute("COMMIT")

    base = timed(raw)
    conn.close()
    return rook, base


def bench_feed(root: Path, count: int) -> tuple[float, float]:
    with rookdb.open(root / "rook") as inst:
        db = inst.database("bench")

        def read_feed() -> None:
            with db.changes(0) as feed:
                assert sum(1 for _ in feed) == count

        rook = timed(read_feed)
    conn = sqlite3.connect(root / "raw.sqlite")
    base = timed(lambda: sum(1 for _ in conn.execute("SELECT id, body FROM docs ORDER BY rowid")))
    conn.close()
    return rook, base


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def served(root: Path, role: str) -> Iterator[httpx.Client]:
    """`rookdb serve` on the data dir as its own process; a client with a `role` key."""
    with rookdb.open(root / "rook") as instance:
        _key, token = ApiKeys(instance.system).create(role, name=f"benchmark {role}")
    port = free_port()
    rookdb_bin = Path(sys.executable).with_name("rookdb")
    server = subprocess.Popen(
        [str(rookdb_bin), "serve", "--data-dir", str(root / "rook"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        headers = {"authorization": f"Bearer {token}"}
        with httpx.Client(base_url=url, timeout=600, headers=headers) as client:
            for _ in range(100):
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            yield client
    finally:
        server.terminate()
        server.wait(timeout=10)


def bench_http_get(root: Path, requests: int) -> tuple[list[float], list[float]]:
    # Measured as served by default: every request carries an API key the server checks.
    with served(root, "reader") as client:
        rook, base = [], []
        for i in range(requests):
            start = time.perf_counter()
            response = client.get(f"/databases/bench/docs/users/{i}")
            rook.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text
            start = time.perf_counter()
            client.get("/health")
            base.append(time.perf_counter() - start)
        return rook, base


def bench_http_bulk_insert(
    root: Path, docs: list[tuple[str, dict[str, object]]]
) -> tuple[float, float]:
    """Seconds for the JSON-lines bulk insert over HTTP, and embedded into a fresh database."""
    with rookdb.open(root / "rook") as instance:
        embedded = instance.create_database("bulk-embedded")
        base = timed(lambda: embedded.bulk_insert(docs))
    body = b"".join(orjson.dumps({"id": i, "body": b}) + b"\n" for i, b in docs)
    with served(root, "admin") as client:
        assert client.post("/databases", json={"name": "bulk-http"}).status_code == 201
        start = time.perf_counter()
        response = client.post(
            "/databases/bulk-http/bulk-insert",
            content=body,
            headers={"content-type": "application/x-ndjson"},
        )
        rook = time.perf_counter() - start
        assert response.status_code == 200, response.text[:300]
        assert response.json()["inserted"] == len(docs), response.text
    return rook, base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=2_000)
    args = parser.parse_args()
    docs = make_docs(args.docs)
    rows: list[tuple[str, str, str, str, str]] = []
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        root = Path(tmp)
        rook, base = bench_insert(root, docs)
        rows.append(
            (
                "bulk insert 1 KB docs (embedded)",
                f"{args.docs / rook:,.0f} docs/s",
                f"{args.docs / base:,.0f} docs/s (raw sqlite3)",
                f"{base / rook:.2f}",
                ">= 50,000 docs/s",
            )
        )
        rook, base = bench_feed(root, args.docs)
        rows.append(
            (
                "change-feed read",
                f"{args.docs / rook:,.0f} docs/s",
                f"{args.docs / base:,.0f} rows/s (raw select)",
                f"{base / rook:.2f}",
                ">= 200,000 docs/s",
            )
        )
        rook, base = bench_http_bulk_insert(root, docs)
        rows.append(
            (
                "bulk insert over HTTP (JSON lines)",
                f"{args.docs / rook:,.0f} docs/s",
                f"{args.docs / base:,.0f} docs/s (embedded)",
                f"{base / rook:.2f}",
                ">= 50 % of embedded",
            )
        )
        rook_lat, base_lat = bench_http_get(root, args.requests)
        rows.append(
            (
                "single GET over HTTP, with API key (p50)",
                f"{statistics.median(rook_lat) * 1000:.2f} ms",
                f"{statistics.median(base_lat) * 1000:.2f} ms (GET /health)",
                f"{statistics.median(base_lat) / statistics.median(rook_lat):.2f}",
                "< 2 ms",
            )
        )
    header = ("measure", "rookdb", "baseline", "speed ratio (baseline/rookdb time)", "target")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
