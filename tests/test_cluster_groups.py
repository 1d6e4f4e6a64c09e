"""Database groups on real `rookdb serve` processes and a real 3-member etcd.

A database on three nodes: every kind of change written through any member
reaches every member with the same etag, change vector and body; a write with
write concern majority is answered once two of three hold it; when the write
node is SIGKILLed under a bounded write load, another member takes over and
writes go on; when it returns it catches up and all three hold the same
changes, and every acknowledged write is there.
"""

from __future__ import annotations

import itertools
import signal
import time
from collections.abc import Iterator

import httpx
import pytest

import rookdb
from cluster_processes import RookCluster, start_cluster, wait_until
from rookdb_process import cli

RETRYABLE = {421, 502, 503, 504}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RookCluster]:
    running = start_cluster(tmp_path_factory.mktemp("groups"))
    yield running
    running.stop()


def changes(cluster: RookCluster, tag: str, db: str) -> list[str]:
    """Every change a member holds, as its own change feed says (its local copy)."""
    with cluster.http(tag) as http:
        answer = http.get(f"/databases/{db}/changes", params={"since_etag": 0})
        assert answer.status_code == 200, answer.text
        return answer.text.splitlines()


def same_everywhere(cluster: RookCluster, db: str, tags: str = "ABC") -> list[str] | None:
    feeds = [changes(cluster, tag, db) for tag in tags]
    return feeds[0] if feeds[0] and all(feed == feeds[0] for feed in feeds) else None


def test_a_group_needs_live_known_nodes(cluster: RookCluster) -> None:
    with cluster.http("A") as http:
        for body, text in (
            ({"nodes": ["A", "Q"]}, "unknown node"),
            ({"replication_factor": 5}, "more than the 3 live"),
            ({"nodes": ["A"], "replication_factor": 1}, "not both"),
            ({"nodes": ["A", "B"], "write_concern": "2"}, "write_concern"),
        ):
            answer = http.post("/databases", json={"name": "bad", **body})
            assert answer.status_code in (400, 422), answer.text
            assert text in answer.text, answer.text
        assert http.get("/databases/bad").status_code == 404, "nothing half-created"


def test_every_kind_of_change_reaches_every_member_with_the_same_etags(
    cluster: RookCluster,
) -> None:
    made = cli(
        "--url", cluster.nodes["B"].url, "--api-key", cluster.admin_key,
        "db", "create", "shop", "--nodes", "A,B,C",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    with cluster.http("C") as http:  # a follower: every write goes to the write node A
        for n in range(30):
            answer = http.put(f"/databases/shop/docs/users%2F{n}", json={"n": n, "name": f"u{n}"})
            assert answer.status_code in (200, 201), answer.text
        attached = http.put(
            "/databases/shop/attachments",
            params={"id": "users/1", "name": "photo.bin"},
            content=bytes(range(256)) * 64,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert attached.status_code == 201, attached.text
        assert http.delete("/databases/shop/docs/users%2F2").status_code == 200
        index = http.put(
            "/databases/shop/indexes/by-name", json={"collection": "Users", "fields": ["name"]}
        )
        assert index.status_code in (200, 201), index.text
        batch = http.post(
            "/databases/shop/batch",
            json={"operations": [{"type": "put", "id": "orders/1", "body": {"total": 5}}]},
        )
        assert batch.status_code == 200, batch.text
    feed = wait_until(lambda: same_everywhere(cluster, "shop"), 15, "every member holds it all")
    kinds = {line.split('"kind":"')[1].split('"')[0] for line in feed}
    assert {"document", "tombstone", "attachment", "index"} <= kinds, kinds
    for tag in "ABC":
        with cluster.http(tag) as http:
            photo = http.get(
                "/databases/shop/attachments", params={"id": "users/1", "name": "photo.bin"}
            )
            assert photo.content == bytes(range(256)) * 64
            found = http.post(
                "/databases/shop/queries",
                json={
                    "collection": "Users",
                    "where": [{"field": "name", "op": "==", "value": "u7"}],
                    "index": "by-name",
                },
            )
            assert found.status_code == 200, found.text
    with cluster.http("B") as http:
        view = http.get("/databases/shop/topology").json()
    assert view["write_node"] == "A" and view["term"] == 1 and view["write_concern"] == "majority"
    assert {m["tag"]: m["lag_etags"] for m in view["members"]} == {"A": 0, "B": 0, "C": 0}
    with cluster.http("A") as http:
        metrics = http.get("/metrics").text
    assert 'rookdb_replication_lag_etags{database="shop",node="C"} 0.0' in metrics


def test_a_follower_refuses_a_local_write_and_names_the_write_node(cluster: RookCluster) -> None:
    forged = httpx.get(f"{cluster.nodes['A'].url}/cluster/internal/replication/shop?after=0&term=1")
    assert forged.status_code == 401, "only a node of the cluster may follow"


def test_a_node_added_catches_up_and_a_node_removed_drops_its_copy(
    cluster: RookCluster,
) -> None:
    with cluster.http("A") as http:
        made = http.post("/databases", json={"name": "orders", "nodes": ["A", "B"]})
        assert made.status_code == 201, made.text
        for n in range(50):
            assert http.put(f"/databases/orders/docs/o%2F{n}", json={"n": n}).status_code in (
                200,
                201,
            )
    url, key = cluster.nodes["C"].url, cluster.admin_key
    added = cli("--url", url, "--api-key", key, "db", "add-node", "orders", "C", "--json")
    assert added.returncode == 0, added.stderr
    assert '"C"' in added.stdout
    wait_until(lambda: same_everywhere(cluster, "orders"), 15, "C caught up from nothing")
    assert len(changes(cluster, "C", "orders")) == 50

    for args, text in (
        (("add-node", "orders", "Q"), "unknown node"),
        (("add-node", "orders", "C"), "already a member"),
    ):
        refused = cli("--url", url, "--api-key", key, "db", *args)
        assert refused.returncode == 1 and text in refused.stderr, refused.stderr
    removed = cli("--url", url, "--api-key", key, "db", "remove-node", "orders", "B")
    assert removed.returncode == 0, removed.stderr
    copy = cluster.nodes["B"].data_dir / "databases" / "orders.rookdb"
    wait_until(lambda: not copy.exists(), 10, "B dropped its copy")
    with cluster.http("B") as http:  # no longer a member: its reads go to the write node
        assert http.get("/databases/orders/docs/o%2F7").json()["n"] == 7
    cli("--url", url, "--api-key", key, "db", "remove-node", "orders", "C")
    last = cli("--url", url, "--api-key", key, "db", "remove-node", "orders", "A")
    assert last.returncode == 1 and "last member" in last.stderr


def put_until_acknowledged(clients: list[httpx.Client], doc_id: str, deadline: float) -> bool:
    """One write, retried through the members while the group has no write node yet."""
    for client in itertools.cycle(clients):
        try:
            answer = client.put(f"/databases/shop/docs/{doc_id}", json={"id": doc_id})
        except httpx.HTTPError:
            answer = None
        if answer is not None and answer.status_code in (200, 201):
            return True
        if answer is not None and answer.status_code not in RETRYABLE:
            raise AssertionError(answer.text)
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return False


def test_the_write_node_killed_under_load_loses_no_acknowledged_write(
    cluster: RookCluster,
) -> None:
    acknowledged: list[str] = []
    killed_at = None
    client = rookdb.Client(cluster.nodes["B"].url, api_key=cluster.admin_key)
    with cluster.http("B") as b, cluster.http("C") as c, client:
        for n in range(60):  # bounded load
            if n == 20:
                served = cluster.nodes["A"].served
                assert served is not None
                served.process.send_signal(signal.SIGKILL)
                served.process.wait(10)
                killed_at = time.monotonic()
            if n % 2 == 0:  # the Python client retries while the group has no write node
                client.database("shop").put(f"load/{n}", {"id": n})
                acknowledged.append(f"load/{n}")
            elif put_until_acknowledged([c, b], f"load%2F{n}", time.monotonic() + 30):
                acknowledged.append(f"load/{n}")
        assert killed_at is not None
        view = b.get("/databases/shop/topology").json()
    assert view["write_node"] in ("B", "C") and view["term"] >= 2, view
    assert len(acknowledged) == 60, "writes resumed through the other members"
    with cluster.http("B") as http:  # a down node is no member to add
        assert http.post("/databases", json={"name": "solo", "nodes": ["B"]}).status_code == 201
        down = http.post("/databases/solo/group/nodes", json={"node": "A"})
        assert down.status_code == 400 and "down" in down.text, down.text

    cluster.start_node("A")
    feed = wait_until(lambda: same_everywhere(cluster, "shop"), 30, "A caught up")
    ids = {line.split('"id":"')[1].split('"')[0] for line in feed if '"kind":"document"' in line}
    assert set(acknowledged) <= ids, set(acknowledged) - ids
    with cluster.http("A") as http:
        members = {m["tag"]: m for m in http.get("/databases/shop/topology").json()["members"]}
    assert members["A"]["role"] == "follower" and members["A"]["state"] == "up"
