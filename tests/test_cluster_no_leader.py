"""No cluster leader: two of three etcd members stopped under real `rookdb serve` nodes.

Cluster-wide changes answer 503 `cluster-unavailable` within seconds and leave
nothing behind; reads answer from the node's last known copy and say so; a task
already defined still runs on its node at its cron time, and its status reaches
etcd once the members are back.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from cluster_processes import start_cluster, wait_until
from rookdb.system.etcd import EtcdClient, EtcdSystemStore
from rookdb.tasks.status import STATUS_NAMESPACE
from rookdb_process import cli

TASKS = "/databases/shop/tasks/backups"
# The node's clock is set this far before a cron minute: time to define the task and
# take the quorum away before it fires.
LEAD_SECONDS = 20


def offset_before_next_minute() -> float:
    now = datetime.now(UTC).timestamp()
    return (60 - now % 60) - LEAD_SECONDS


def test_without_a_leader_changes_are_refused_and_a_defined_task_keeps_running(
    tmp_path: Path,
) -> None:
    cluster = start_cluster(tmp_path, tags="")
    try:
        node = cluster.start_node(
            "A", env={"ROOKDB_CLOCK_OFFSET_SECONDS": str(offset_before_next_minute())}
        )
        with cluster.http("A") as http:
            assert http.post("/databases", json={"name": "shop"}).status_code == 201
            http.put("/databases/shop/docs/users%2F1", json={"name": "Ann"})
            task = http.post(
                TASKS,
                json={
                    "incremental_backup_cron": "* * * * *",
                    "destinations": [{"kind": "local", "path": str(tmp_path / "backups")}],
                },
            ).json()
            status = http.get(f"{TASKS}/{task['id']}/status").json()
            assert status["last_run"] is None, "nothing ran before the leader is gone"

            for member in cluster.etcd.members[1:]:
                assert member.process is not None
                member.process.terminate()
                member.process.wait(10)

            # Cluster-wide changes: refused fast, nothing written.
            local = [{"kind": "local", "path": str(tmp_path / "other")}]
            for method, path, body in (
                ("POST", TASKS, {"full_backup_cron": "0 1 * * *", "destinations": local}),
                ("POST", "/databases", {"name": "other"}),
                ("POST", "/admin/keys", {"role": "reader"}),
                ("DELETE", f"{TASKS}/{task['id']}", None),
            ):
                started = time.monotonic()
                answer = http.request(method, path, json=body)
                took = time.monotonic() - started
                assert answer.status_code == 503, (path, answer.text)
                assert answer.json()["error"] == "cluster-unavailable"
                assert took < 5, f"{method} {path} answered in {took:.1f} s"

            # The CLI says so and exits 1.
            refused = cli(
                "--url", node.url, "--api-key", cluster.admin_key, "db", "create", "other"
            )  # fmt: skip
            assert refused.returncode == 1, refused.stdout + refused.stderr
            assert "cluster" in refused.stderr and "Traceback" not in refused.stderr

            # Reads: the last known copy, marked as possibly stale.
            listed = http.get(TASKS)
            assert listed.status_code == 200 and listed.headers.get("x-rookdb-stale") == "1"
            assert [t["id"] for t in listed.json()["tasks"]] == [task["id"]]
            view = http.get("/cluster/topology").json()
            assert view["etcd"]["healthy"] is False and view["stale"] is True
            assert [n["tag"] for n in view["nodes"]] == ["A"]

            # The cron minute comes: the task runs on its node all the same.
            ran = wait_until(
                lambda: http.get(f"{TASKS}/{task['id']}/status").json()["last_run"],
                LEAD_SECONDS + 40,
                "the scheduled run happened without a leader",
            )
            assert ran["error"] is None and ran["kind"] == "full", ran
            assert http.get("/cluster/topology").json()["pending_status_writes"] > 0

        # The members return: the queued status reaches etcd, in order, the last one last.
        initial = ",".join(f"{m.name}={m.peer_url}" for m in cluster.etcd.members)
        for member in cluster.etcd.members[1:]:
            cluster.etcd.start_member(member, initial, state="existing")
        cluster.etcd.wait_healthy()
        etcd = EtcdSystemStore(EtcdClient(cluster.etcd.endpoints), cluster="default")
        try:

            def delivered() -> dict[str, object] | None:
                entry = etcd.get(STATUS_NAMESPACE, f"shop/{task['id']}")
                last_run = entry.value.get("last_run") if entry else None
                return last_run if isinstance(last_run, dict) else None

            in_etcd = wait_until(delivered, 30, "the run's status reached etcd")
            assert in_etcd is not None and in_etcd["started_at"] == ran["started_at"]
            assert etcd.list("backup-tasks") and len(etcd.list("backup-tasks")) == 1
            assert [r.name for r in etcd.list_databases()] == ["shop"]
        finally:
            etcd.close()
        with cluster.http("A") as http:
            wait_until(
                lambda: http.get("/cluster/topology").json()["pending_status_writes"] == 0,
                10,
                "the queue is empty",
            )
            assert node.served is not None and node.served.process.poll() is None
    finally:
        cluster.stop()
