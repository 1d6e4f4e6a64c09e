"""Peak memory as the database grows: each backup and restore operation at several sizes.

A backup or restore streams: its peak RSS must stay flat whatever the number of
documents. For each size the script generates the benchmark data set
(`dataset.py`), then runs each operation in its own process (the same steps as
`backup.py`, so the peak is that operation's own) and prints a table: the peak
at each size and the growth from the smallest to the largest.

Run: `.venv/bin/python benchmarks/memory.py [--sizes 200000,2000000]`
(2,000,000 documents take about 2.5 GB of disk and several minutes.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from backup import FULL, GENERATE, INCREMENTAL, MUTATE, RESTORE, Measure, python_step

TARGET_MB = 150
OPERATIONS = ("full backup", "snapshot", "1 % incremental", "restore (full + incremental)")


def measure_size(root: Path, docs: int) -> dict[str, Measure]:
    """Every operation's measure on a fresh data set of `docs` documents."""
    data, backups, snapshots = root / "rook", root / "backups", root / "snapshots"
    python_step(GENERATE, str(data), str(docs), "0")
    found = {
        "full backup": python_step(FULL, str(data), str(backups), "backup"),
        "snapshot": python_step(FULL, str(data), str(snapshots), "snapshot"),
    }
    shutil.rmtree(snapshots)  # disk: only the chain is restored
    python_step(MUTATE, str(data), str(docs))
    found["1 % incremental"] = python_step(INCREMENTAL, str(data), str(backups))
    shutil.rmtree(data)
    found["restore (full + incremental)"] = python_step(
        RESTORE, str(root / "restored"), str(backups), "restored"
    )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--sizes", default="200000,2000000", help="document counts, comma-separated"
    )
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.sizes.split(","))
    results: dict[int, dict[str, Measure]] = {}
    for docs in sizes:
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
            results[docs] = measure_size(Path(tmp), docs)
    header = (
        "operation",
        *(f"peak RSS at {docs:,}" for docs in sizes),
        *(f"wall s at {docs:,}" for docs in sizes),
        "growth",
        "target",
    )
    rows = [header]
    for operation in OPERATIONS:
        peaks = [results[docs][operation].peak_rss_mb for docs in sizes]
        rows.append(
            (
                operation,
                *(f"{peak:.0f} MB" for peak in peaks),
                *(f"{results[docs][operation].seconds:.1f}" for docs in sizes),
                f"{peaks[-1] / peaks[0]:.2f}x",
                f"< {TARGET_MB} MB, flat",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in [rows[0], tuple("-" * w for w in widths), *rows[1:]]:
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
