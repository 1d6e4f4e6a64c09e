"""The etcd system store (cluster state) under the system store contract, on a real etcd."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from etcd_server import EtcdCluster, start_etcd
from rookdb.errors import ClusterUnavailable
from rookdb.system import SystemStore
from rookdb.system.etcd import EtcdClient, EtcdSystemStore

from .contract import OpenStore, SystemStoreContract

_clusters = itertools.count()


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    cluster = start_etcd(tmp_path_factory.mktemp("etcd"))
    yield cluster
    cluster.stop()


class TestEtcdSystemStore(SystemStoreContract):
    @pytest.fixture
    def open_store(self, etcd: EtcdCluster) -> Iterator[OpenStore]:
        # A cluster name of its own per test: one etcd, no test sees another's keys.
        name = f"test-{next(_clusters)}"
        opened: list[SystemStore] = []

        def open_one() -> SystemStore:
            opened.append(EtcdSystemStore(EtcdClient(etcd.endpoints), cluster=name))
            return opened[-1]

        yield open_one
        for store in opened:
            store.close()


def test_a_dead_endpoint_is_skipped_and_no_endpoint_is_a_clear_503(
    etcd: EtcdCluster, tmp_path: Path
) -> None:
    from etcd_server import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    store = EtcdSystemStore(EtcdClient([dead, *etcd.endpoints], timeout=2.0), cluster="failover")
    store.put("ns", "a", {"n": 1})
    assert store.get("ns", "a") is not None
    store.close()
    nowhere = EtcdSystemStore(EtcdClient([dead], timeout=2.0), cluster="failover")
    with pytest.raises(ClusterUnavailable) as caught:
        nowhere.get("ns", "a")
    assert caught.value.http_status == 503 and dead in caught.value.message
    nowhere.close()
