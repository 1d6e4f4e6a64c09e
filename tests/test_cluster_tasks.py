"""Backup tasks across a cluster: the responsible node, and no gap when it dies (real processes).

A database on A, B and C with a task that prefers A and takes an incremental
every minute (a real once-a-minute cron; the nodes' clocks are shifted so the
minute comes soon). A runs it. A is SIGKILLed a few seconds before a fire
time: another member takes the task over within the lease TTL, runs the missed
fire time at once as an incremental into the same run folder, and restoring
that folder gives the source's documents. One file per fire time.

The nodes' clocks are a few seconds apart (B 4 s ahead of A, C 3 s behind):
the fire times a task consumed are in its status, not in any node's clock, so
a node taking over neither repeats the fire time A ran nor misses the one A
missed.
"""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import rookdb
from cluster_processes import start_cluster, wait_until
from rookdb_process import cli

TASKS = "/databases/shop/tasks/backups"
LEAD_SECONDS = 32  # from the nodes' start to their next minute
SKEW = {"A": 0.0, "B": 4.0, "C": -3.0}  # seconds each node's clock is off A's


def test_the_task_moves_when_its_node_dies_and_the_chain_goes_on(tmp_path: Path) -> None:
    now = datetime.now(UTC).timestamp()
    offset = (60 - now % 60) - LEAD_SECONDS
    boundary = now + LEAD_SECONDS  # real time at which the nodes' clocks reach the minute
    cluster = start_cluster(tmp_path / "cluster", tags="")
    try:
        for tag in "ABC":
            cluster.start_node(tag, env={"ROOKDB_CLOCK_OFFSET_SECONDS": str(offset + SKEW[tag])})
        backups = tmp_path / "backups"
        with cluster.http("B") as http:
            assert (
                http.post("/databases", json={"name": "shop", "nodes": ["A", "B", "C"]}).status_code
                == 201
            )
            for n in range(10):
                http.put(f"/databases/shop/docs/users%2F{n}", json={"n": n}).raise_for_status()
            made = http.post(
                TASKS,
                json={
                    "incremental_backup_cron": "* * * * *",
                    "preferred_node": "A",
                    "destinations": [{"kind": "local", "path": str(backups)}],
                },
            )
            assert made.status_code == 201, made.text
            task = made.json()["id"]
            refused = http.post(
                TASKS,
                json={
                    "full_backup_cron": "0 1 * * *",
                    "preferred_node": "Q",
                    "destinations": [{"kind": "local", "path": str(backups)}],
                },
            )
            assert refused.status_code == 400 and "A, B, C" in refused.text

            def placed() -> dict[str, object] | None:
                status = http.get(f"{TASKS}/{task}/status").json()
                placed_by_observer = status["responsible_reason"] == "preferred node"
                return status if placed_by_observer else None

            status = wait_until(placed, 15, "the observer placed the task on A")
            assert status["responsible_node"] == "A"
            assert status["state"] == "not-on-this-node" and status["node"] == "A"
            started = http.post(f"{TASKS}/{task}/backup-now", params={"full": "true"})
            assert started.status_code == 202, started.text
            full = wait_until(
                lambda: (
                    http.get(f"{TASKS}/{task}/status").json()["last_full_backup"]
                    and http.get(f"{TASKS}/{task}/status").json()
                ),
                20,
                "A wrote the full backup",
            )
            assert full["last_executing_node"] == "A"
            run_folder = full["run_folder"]
            for n in range(10, 15):
                http.put(f"/databases/shop/docs/users%2F{n}", json={"n": n}).raise_for_status()

        # A dies a few seconds before the minute.
        assert time.time() < boundary - 4, "the set-up took too long for this minute"
        time.sleep(max(0.0, boundary - 3 - time.time()))
        served = cluster.nodes["A"].served
        assert served is not None
        served.process.send_signal(signal.SIGKILL)
        served.process.wait(10)

        with cluster.http("C") as http:

            def taken_over() -> dict[str, object] | None:
                status = http.get(f"{TASKS}/{task}/status").json()
                return status if status["last_incremental_backup"] else None

            status = wait_until(taken_over, 30, "another node ran the missed fire time")
        assert time.time() - boundary < 25, "within the lease TTL and a few seconds"
        last_run = status["last_run"]
        assert isinstance(last_run, dict)
        assert last_run["kind"] == "incremental" and last_run["error"] is None, last_run
        assert last_run["node"] in ("B", "C")
        assert status["responsible_node"] in ("B", "C")
        assert status["responsible_reason"] == "preferred node down"
        assert status["run_folder"] == run_folder, "the same chain goes on"
        files = sorted(p.name for p in (backups / str(run_folder)).iterdir())
        assert len(files) == 2, files  # the full and one incremental: one file per fire time

        # A comes back: between runs the task goes back to its preferred node.
        cluster.start_node("A", env={"ROOKDB_CLOCK_OFFSET_SECONDS": str(offset)})
        with cluster.http("C") as http:
            back = wait_until(
                lambda: (
                    (s := http.get(f"{TASKS}/{task}/status").json())["responsible_node"] == "A"
                    and s
                ),
                20,
                "the task went back to A",
            )
        assert back["responsible_reason"] == "preferred node"

        restored = tmp_path / "restored"
        done = cli(
            "--data-dir", str(restored), "restore", str(backups / str(run_folder)), "-d", "copy"
        )
        assert done.returncode == 0, done.stderr
        with rookdb.open(restored) as instance:
            ids = {doc.id for doc in instance.database("copy").list_documents()}
        assert ids == {f"users/{n}" for n in range(15)}
    finally:
        cluster.stop()
