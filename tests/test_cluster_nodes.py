"""Nodes on a real etcd: the key check, one live node per tag, down once its lease is gone."""

from __future__ import annotations

import base64
import itertools
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from etcd_server import EtcdCluster, free_port, start_etcd
from rookdb.cluster.key import cluster_key_id, new_cluster_key, read_cluster_key
from rookdb.cluster.nodes import NodeRegistry
from rookdb.errors import AlreadyExists, InvalidInput
from rookdb.system.etcd import EtcdClient

_names = itertools.count()
JOIN_AND_WAIT = """
import sys, time
from rookdb.cluster.nodes import NodeRegistry
from rookdb.system.etcd import EtcdClient
endpoints, cluster, key_id = sys.argv[1:4]
registry = NodeRegistry(EtcdClient(endpoints.split(",")), cluster=cluster, tag="A",
                        url="http://127.0.0.1/A", key_id=key_id, ttl=2)
registry.join()
print("joined", flush=True)
time.sleep(120)
"""
KEY_ID = cluster_key_id(b"k" * 32)


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    cluster = start_etcd(tmp_path_factory.mktemp("etcd"))
    yield cluster
    cluster.stop()


@pytest.fixture
def cluster_name() -> str:
    return f"nodes-{next(_names)}"


def node(etcd: EtcdCluster, cluster: str, tag: str, *, key_id: str = KEY_ID) -> NodeRegistry:
    client = EtcdClient(etcd.endpoints)
    return NodeRegistry(
        client, cluster=cluster, tag=tag, url=f"http://127.0.0.1/{tag}", key_id=key_id, ttl=2
    )


def wait_for(condition, seconds: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_nodes_join_and_each_sees_every_node(etcd: EtcdCluster, cluster_name: str) -> None:
    a, b = node(etcd, cluster_name, "A"), node(etcd, cluster_name, "B")
    a.join()
    b.join()
    try:
        assert [(n.tag, n.state) for n in a.nodes()] == [("A", "up"), ("B", "up")]
        assert [n.url for n in b.nodes()] == ["http://127.0.0.1/A", "http://127.0.0.1/B"]
    finally:
        a.leave()
        b.leave()


def test_a_live_tag_is_refused_and_free_again_once_its_lease_is_gone(
    etcd: EtcdCluster, cluster_name: str
) -> None:
    # A node in a process of its own, killed without leaving: down within its lease TTL.
    child = subprocess.Popen(
        [sys.executable, "-c", JOIN_AND_WAIT, ",".join(etcd.endpoints), cluster_name, KEY_ID],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "joined"
        with pytest.raises(AlreadyExists, match="in use by a live node"):
            node(etcd, cluster_name, "A").join()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    watcher = node(etcd, cluster_name, "B")
    wait_for(lambda: [(n.tag, n.state) for n in watcher.nodes()] == [("A", "down")])
    again = node(etcd, cluster_name, "A")
    again.join()
    assert [(n.tag, n.state) for n in watcher.nodes()] == [("A", "up")]
    again.leave()
    assert [(n.tag, n.state) for n in watcher.nodes()] == [("A", "down")]


def test_a_node_paused_past_its_lease_registers_again(etcd: EtcdCluster, cluster_name: str) -> None:
    # SIGSTOP longer than the lease TTL: the node is down; SIGCONT: it comes back by itself.
    child = subprocess.Popen(
        [sys.executable, "-c", JOIN_AND_WAIT, ",".join(etcd.endpoints), cluster_name, KEY_ID],
        stdout=subprocess.PIPE,
        text=True,
    )
    watcher = node(etcd, cluster_name, "B")
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "joined"
        child.send_signal(signal.SIGSTOP)
        wait_for(lambda: [(n.tag, n.state) for n in watcher.nodes()] == [("A", "down")])
        child.send_signal(signal.SIGCONT)
        wait_for(lambda: [(n.tag, n.state) for n in watcher.nodes()] == [("A", "up")])
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)


def test_a_node_with_another_cluster_key_is_refused(etcd: EtcdCluster, cluster_name: str) -> None:
    first = node(etcd, cluster_name, "A")
    first.join()
    other = node(etcd, cluster_name, "B", key_id=cluster_key_id(b"x" * 32))
    with pytest.raises(InvalidInput, match="same key file"):
        other.join()
    assert [n.tag for n in node(etcd, cluster_name, "C").nodes()] == ["A"]
    first.leave()


def test_cluster_key_files(tmp_path: Path) -> None:
    path = tmp_path / "cluster.key"
    path.write_text(new_cluster_key() + "\n")
    key = read_cluster_key(path)
    assert len(key) == 32 and cluster_key_id(key) != cluster_key_id(b"y" * 32)
    path.write_text("not a key")
    with pytest.raises(InvalidInput, match="32 random bytes"):
        read_cluster_key(path)
    with pytest.raises(InvalidInput, match="rookdb cluster key"):
        read_cluster_key(tmp_path / "missing.key")


def test_cluster_status_lists_the_nodes_and_etcd_health(
    etcd: EtcdCluster, cluster_name: str
) -> None:
    from rookdb_process import cli

    a = node(etcd, cluster_name, "A")
    a.join()
    try:
        endpoints = ",".join(etcd.endpoints)
        done = cli(
            "cluster", "status", "--cluster", endpoints, "--cluster-name", cluster_name, "--json"
        )
        assert done.returncode == 0, done.stderr
        view = json.loads(done.stdout)
        assert [(n["tag"], n["state"]) for n in view["nodes"]] == [("A", "up")]
        assert view["etcd"]["healthy"] is True
    finally:
        a.leave()
    dead = f"http://127.0.0.1:{free_port()}"
    done = cli("cluster", "status", "--cluster", dead)
    assert done.returncode == 1 and "does not answer" in done.stderr
    assert "Traceback" not in done.stderr
    key = cli("cluster", "key")
    assert key.returncode == 0 and len(base64.b64decode(key.stdout.strip())) == 32
