"""Watching the cluster state on a real 3-member etcd: resumed, or reloaded after compaction."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cluster_processes import wait_until
from etcd_server import EtcdCluster, start_etcd
from rookdb.cluster.watch import PrefixWatch
from rookdb.system.etcd import b64

PREFIX = "/rookdb/watch-test/"


class Seen:
    def __init__(self) -> None:
        self.calls: list[bool] = []
        self._lock = threading.Lock()

    def __call__(self, reload: bool) -> None:
        with self._lock:
            self.calls.append(reload)

    def changes(self) -> int:
        with self._lock:
            return self.calls.count(False)

    def reloads(self) -> int:
        with self._lock:
            return self.calls.count(True)


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    cluster = start_etcd(tmp_path_factory.mktemp("etcd"), 3)
    yield cluster
    cluster.stop()


def put(url: str, key: str, value: str) -> int:
    answer = httpx.post(f"{url}/v3/kv/put", json={"key": b64(key), "value": b64(value)})
    answer.raise_for_status()
    return int(answer.json()["header"]["revision"])


def test_a_watch_resumes_on_another_member_without_missing_a_change(
    etcd: EtcdCluster, tmp_path: Path
) -> None:
    seen = Seen()
    watch = PrefixWatch(etcd.endpoints, PREFIX, seen).start()
    try:
        wait_until(lambda: watch.revision, 10, "the watch is created")
        assert seen.reloads() == 1, "a new watch reads everything once"
        put(etcd.endpoints[1], PREFIX + "a", "1")
        wait_until(lambda: seen.changes() == 1, 10, "the first change is seen")

        # The member the watch streams from stops; a change lands meanwhile elsewhere.
        first = etcd.members[0]
        assert first.process is not None
        first.process.terminate()
        first.process.wait(10)
        changed_at = put(etcd.endpoints[1], PREFIX + "b", "2")
        wait_until(lambda: (watch.revision or 0) >= changed_at, 15, "the change made meanwhile")
        assert seen.reloads() == 1, "resumed from its revision, nothing to reload"
    finally:
        watch.stop()
        initial = ",".join(f"{m.name}={m.peer_url}" for m in etcd.members)
        etcd.start_member(etcd.members[0], initial, state="existing")
        etcd.wait_healthy()


def test_a_watch_resumed_from_a_compacted_revision_asks_for_a_full_reload(
    etcd: EtcdCluster,
) -> None:
    url = etcd.endpoints[1]
    last_seen = put(url, PREFIX + "c", "1")
    put(url, PREFIX + "c", "2")
    newest = put(url, PREFIX + "c", "3")
    httpx.post(f"{url}/v3/kv/compaction", json={"revision": str(newest)}).raise_for_status()

    seen = Seen()
    watch = PrefixWatch(etcd.endpoints, PREFIX, seen, after_revision=last_seen).start()
    try:
        wait_until(lambda: watch.reloads == 1, 10, "the compaction is noticed")
        wait_until(lambda: (watch.revision or 0) >= newest, 10, "watching again from now")
        assert seen.reloads() >= 1
        put(url, PREFIX + "d", "1")
        wait_until(lambda: seen.changes() >= 1, 10, "changes after the reload are seen")
    finally:
        watch.stop()
