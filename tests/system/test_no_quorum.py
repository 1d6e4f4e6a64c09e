"""etcd without quorum (two of three members stopped): refused changes, stale reads, queued status.

A real 3-member etcd cluster; the node's view is a LastKnownStore over the etcd
store with its copy in a SQLite file, as a node keeps it in its data dir.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from etcd_server import EtcdCluster, start_etcd
from rookdb.errors import ClusterUnavailable
from rookdb.system import SqliteSystemStore
from rookdb.system.etcd import EtcdClient, EtcdSystemStore
from rookdb.system.last_known import LastKnownStore
from rookdb.system.store import Write

STATUS = "backup-task-status"


@pytest.fixture
def etcd3(tmp_path: Path) -> Iterator[EtcdCluster]:
    cluster = start_etcd(tmp_path / "etcd", size=3)
    yield cluster
    cluster.stop()


def node_store(etcd: EtcdCluster, data_dir: Path) -> LastKnownStore:
    cluster = EtcdSystemStore(EtcdClient(etcd.endpoints, timeout=1.5), cluster="q")
    copy = SqliteSystemStore(data_dir / "cluster-copy.sqlite")
    return LastKnownStore(cluster, copy, queued_namespaces=[STATUS])


def test_without_quorum_changes_are_refused_reads_are_stale_and_status_waits(
    etcd3: EtcdCluster, tmp_path: Path
) -> None:
    (tmp_path / "node").mkdir()
    store = node_store(etcd3, tmp_path / "node")
    store.commit(
        [
            Write("tasks", "shop/t-1", {"name": "nightly"}, 0),
            Write(STATUS, "shop/t-1", {"runs": 0}, 0),
        ]
    )
    assert store.get("tasks", "shop/t-1") is not None and not store.stale

    for member in etcd3.members[1:]:
        assert member.process is not None
        member.process.terminate()
        member.process.wait(10)

    started = time.monotonic()
    with pytest.raises(ClusterUnavailable):
        store.commit([Write("tasks", "shop/t-2", {"name": "new"}, 0)])
    assert time.monotonic() - started < 5, "a refused change answers within seconds"

    task = store.get("tasks", "shop/t-1")
    assert task is not None and task.value == {"name": "nightly"} and store.stale
    # The task keeps running on its node: its status lands locally and waits.
    for runs in (1, 2):
        current = store.get(STATUS, "shop/t-1")
        assert current is not None
        store.put(STATUS, "shop/t-1", {"runs": runs}, expected_version=current.version)
    assert store.pending() == 2
    store.close()

    # The node restarts: the outbox is on its disk.
    store = node_store(etcd3, tmp_path / "node")
    assert store.pending() == 2
    initial = ",".join(f"{m.name}={m.peer_url}" for m in etcd3.members)
    for member in etcd3.members[1:]:
        etcd3.start_member(member, initial, state="existing")
    etcd3.wait_healthy()

    deadline = time.monotonic() + 30
    while store.pending():
        try:
            store.deliver()
        except ClusterUnavailable:
            assert time.monotonic() < deadline, "the queued status never reached etcd"
            time.sleep(0.2)
    fresh = EtcdSystemStore(EtcdClient(etcd3.endpoints), cluster="q")
    status = fresh.get(STATUS, "shop/t-1")
    assert status is not None and status.value == {"runs": 2}
    assert fresh.get("tasks", "shop/t-2") is None, "nothing half-written"
    fresh.close()
    store.close()
