"""A cluster of real `rookdb serve` processes on a real 3-member etcd.

Task definitions, status and API keys are cluster state (any node answers);
a database's data lives on its node and requests for it are forwarded there;
a killed node shows as down; nodes that must not join are refused at start.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from cluster_processes import RookCluster, start_cluster, wait_until
from etcd_server import free_port
from rookdb.cluster.key import new_cluster_key
from rookdb_process import cli

TASKS = "/databases/shop/tasks/backups"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RookCluster]:
    running = start_cluster(tmp_path_factory.mktemp("cluster"))
    with running.http("A") as http:
        assert http.post("/databases", json={"name": "shop", "nodes": ["A"]}).status_code == 201
    yield running
    running.stop()


def test_every_node_is_up_and_one_is_the_observer(cluster: RookCluster) -> None:
    for tag in "ABC":
        view = cluster.topology(tag)
        assert view["clustered"] is True and view["this_node"] == tag
        assert {n["tag"]: n["state"] for n in view["nodes"]} == {"A": "up", "B": "up", "C": "up"}
        assert {n["tag"]: n["url"] for n in view["nodes"]}["B"] == cluster.nodes["B"].url
        assert view["etcd"]["healthy"] is True
    observers = wait_until(
        lambda: {cluster.topology(tag)["observer"] for tag in "ABC"} & set("ABC"),
        10,
        "an observer is elected",
    )
    assert len(observers) == 1, "every node names the same observer"


def test_a_task_created_through_a_is_read_on_b_and_c(cluster: RookCluster, tmp_path: Path) -> None:
    with cluster.http("A") as http:
        created = http.post(
            TASKS,
            json={
                "name": "nightly to s3",
                "full_backup_cron": "0 2 * * *",
                "destinations": [
                    {
                        "kind": "s3",
                        "bucket": "b",
                        "access_key_id": "AKIA-CLUSTER",
                        "secret_access_key": "never-echoed-secret",
                    }
                ],
            },
        )
        assert created.status_code == 201, created.text
        task = created.json()
    for tag in "BC":
        with cluster.http(tag) as http:
            seen = http.get(f"{TASKS}/{task['id']}")
            assert seen.status_code == 200, seen.text
            assert seen.json() == task
            assert "never-echoed-secret" not in seen.text
            status = http.get(f"{TASKS}/{task['id']}/status").json()
            # The task runs on its database's node, and says so everywhere else.
            assert status["state"] == "not-on-this-node" and status["node"] == "A"
    with cluster.http("A") as http:
        status = http.get(f"{TASKS}/{task['id']}/status").json()
        assert status["state"] == "active" and status["node"] == "A"


def test_an_api_key_made_on_a_works_on_b(cluster: RookCluster) -> None:
    with cluster.http("A") as http:
        made = http.post("/admin/keys", json={"role": "reader", "name": "ci reader"})
        assert made.status_code == 201, made.text
        token = made.json()["key"]
    with cluster.http("B") as http:
        http.headers["Authorization"] = f"Bearer {token}"
        assert http.get("/databases").status_code == 200
        assert http.post("/databases", json={"name": "nope"}).status_code == 403


def test_a_request_for_a_database_on_another_node_is_forwarded(cluster: RookCluster) -> None:
    with cluster.http("B") as http:
        put = http.put("/databases/shop/docs/users%2F7", json={"name": "Ann"})
        assert put.status_code in (200, 201), put.text
        listed = http.get("/databases").json()["databases"]
        assert [(d["name"], d["node"]) for d in listed] == [("shop", "A")]
    with cluster.http("C") as http:
        doc = http.get("/databases/shop/docs/users%2F7")
        assert doc.status_code == 200 and doc.json()["name"] == "Ann"
    with cluster.http("A") as http:
        assert http.get("/databases/shop").json()["documents"] >= 1
        # A node does not send a forwarded request on again, and refuses forged ones.
        forged = http.get(
            "/databases/shop/docs/users%2F7",
            headers={"X-Rookdb-Node": "B", "X-Rookdb-Node-Time": "0"},
        )
        assert forged.status_code == 401 and "cluster's key" in forged.json()["message"]


def test_a_node_that_must_not_join_is_refused_with_a_clear_message(
    cluster: RookCluster, tmp_path: Path
) -> None:
    port = free_port()
    base = [
        "serve", "--data-dir", str(tmp_path / "x"), "--port", str(port),
        "--cluster-key-file", str(cluster.key_file),
    ]  # fmt: skip
    live_tag = cli(
        *base,
        "--node-tag", "A", "--cluster", cluster.cluster_option,
        "--advertise-url", f"http://127.0.0.1:{port}",
    )  # fmt: skip
    assert live_tag.returncode == 1 and "in use by a live node" in live_tag.stderr

    other_key = tmp_path / "other.key"
    other_key.write_text(new_cluster_key())
    other_key.chmod(0o600)
    wrong_key = cli(
        "serve", "--data-dir", str(tmp_path / "y"), "--port", str(port),
        "--node-tag", "D", "--cluster", cluster.cluster_option,
        "--advertise-url", f"http://127.0.0.1:{port}", "--cluster-key-file", str(other_key),
    )  # fmt: skip
    assert wrong_key.returncode == 1 and "same key file" in wrong_key.stderr

    silent = f"http://127.0.0.1:{free_port()}"
    no_etcd = cli(
        *base, "--node-tag", "D", "--cluster", silent,
        "--advertise-url", f"http://127.0.0.1:{port}",
    )  # fmt: skip
    assert no_etcd.returncode == 1 and silent in no_etcd.stderr

    for bad in ("not a url", "ftp://127.0.0.1:1", "http://0.0.0.0:80", "http://127.0.0.1"):
        refused = cli(
            *base, "--node-tag", "D", "--cluster", cluster.cluster_option, "--advertise-url", bad
        )
        assert refused.returncode == 1 and "--advertise-url" in refused.stderr, bad
    for result in (live_tag, wrong_key, no_etcd, refused):
        assert "Traceback" not in result.stderr
    # None of them joined.
    assert {n["tag"] for n in cluster.topology("B")["nodes"]} == {"A", "B", "C"}


def test_a_killed_node_is_down_within_15_seconds(cluster: RookCluster) -> None:
    node = cluster.nodes["C"]
    assert node.served is not None
    node.served.process.send_signal(signal.SIGKILL)
    node.served.process.wait(10)
    wait_until(lambda: cluster.node_state("A", "C") == "down", 15, "C shows as down on A")
    assert cluster.node_state("B", "C") == "down"
    # Its tag is free again: C restarts and is up.
    cluster.start_node("C")
    wait_until(lambda: cluster.node_state("A", "C") == "up", 15, "C is up again")
