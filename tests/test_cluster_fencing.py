"""A node paused (SIGSTOP) past its leases during a run, then resumed: its result is superseded.

Real processes: A runs a task's backup; A is paused mid-run. The cluster takes
A as down, the observer gives the task to another member, and once the run's
lease has run out that member runs the task (Backup Now, sent to whichever
node: it goes to the responsible one). A resumes: its run ends, but it lost
its claim, so it is recorded in the history as superseded and the task's
status stays the newer run's. A registers again and shows as up.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from cluster_processes import start_cluster, wait_until

TASKS = "/databases/shop/tasks/backups"
DOCS = 40_000


def test_a_paused_node_cannot_overwrite_a_newer_result(tmp_path: Path) -> None:
    cluster = start_cluster(tmp_path / "cluster")
    try:
        with cluster.http("B", timeout=120) as http:
            made = http.post(
                "/databases", json={"name": "shop", "nodes": ["A", "B", "C"], "write_concern": "1"}
            )
            assert made.status_code == 201, made.text
            for first in range(0, DOCS, 5_000):
                operations = [
                    {"type": "put", "id": f"users/{n}", "body": {"n": n, "text": "z" * 900}}
                    for n in range(first, first + 5_000)
                ]
                http.post(
                    "/databases/shop/batch", json={"operations": operations}
                ).raise_for_status()
            task = http.post(
                TASKS,
                json={
                    "full_backup_cron": "0 3 * * *",
                    "preferred_node": "A",
                    "destinations": [{"kind": "local", "path": str(tmp_path / "backups")}],
                },
            ).json()["id"]

            def status() -> dict[str, Any]:
                return dict(http.get(f"{TASKS}/{task}/status").json())

            wait_until(lambda: status()["responsible_reason"] == "preferred node", 15, "on A")
            assert http.post(f"{TASKS}/{task}/backup-now").status_code == 202  # runs on A
            wait_until(lambda: status()["running"], 10, "A's run started")
            served = cluster.nodes["A"].served
            assert served is not None
            served.process.send_signal(signal.SIGSTOP)
            paused = status()
            assert paused["running"] and paused["last_run"] is None, "paused mid-run"

            # The task moves on; once A's run lease is gone, Backup Now runs elsewhere.
            wait_until(lambda: status()["responsible_node"] in ("B", "C"), 20, "task moved")
            deadline = time.monotonic() + 60
            while http.post(f"{TASKS}/{task}/backup-now").status_code != 202:
                assert time.monotonic() < deadline, "the newer run never started"
                time.sleep(1)
            newer = wait_until(
                lambda: (s := status())["last_run"] and s["last_run"]["node"] in ("B", "C") and s,
                60,
                "the newer run ended",
            )
            assert newer["last_run"]["error"] is None, newer["last_run"]

            served.process.send_signal(signal.SIGCONT)
            history = wait_until(
                lambda: [
                    run
                    for run in http.get(f"{TASKS}/{task}/history").json()["runs"]
                    if run["node"] == "A"
                ],
                60,
                "A's late run is recorded",
            )
            assert history[0]["error"].startswith("superseded"), history[0]
            after = status()
            assert after["last_run"] == newer["last_run"], "the newer result stands"
            wait_until(lambda: cluster.node_state("B", "A") == "up", 30, "A registered again")
    finally:
        served = cluster.nodes["A"].served
        if served is not None:
            served.process.send_signal(signal.SIGCONT)
        cluster.stop()
