"""Alerts on the cluster's store (a real etcd), seen by two nodes at once: every change is
announced once and every notification delivered once, whoever looks and sends."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from alerts_receivers import WebhookReceiver
from etcd_server import EtcdCluster, start_etcd
from rookdb.alerts import Alerts, Notification
from rookdb.alerts.monitor import StatusSource
from rookdb.security.secrets import MasterKeys
from rookdb.system.etcd import EtcdClient, EtcdSystemStore
from rookdb.tasks import ManualClock
from rookdb.tasks.model import BackupTask, parse_task
from rookdb.tasks.status_view import TaskStatus

SECRET = "cluster-hook-key"
TASK = parse_task({"name": "Nightly", "full_backup_cron": "0 2 * * *",
                   "destinations": [{"kind": "local", "path": "/a"},
                                    {"kind": "local", "path": "/b"}]}).model_copy(
    update={"id": "t-1"}
)  # fmt: skip


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    cluster = start_etcd(tmp_path_factory.mktemp("etcd"))
    yield cluster
    cluster.stop()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(secret=SECRET).start()
    yield server
    server.stop()


class Statuses:
    """What every node reads for the one task: a run with one destination failing."""

    def __init__(self) -> None:
        self.body: dict[str, Any] = {}
        self.fail("2026-11-22T02:00:00Z")

    def fail(self, started: str) -> None:
        self.body = {
            "task_id": "t-1", "state": "active", "node": "A",
            "last_run": {"kind": "full", "started_at": started, "error": "1 of 2 failed"},
            "destinations": [
                {"kind": "local", "name": "Local (/a)", "state": "failed",
                 "error": "removed again: another destination failed"},
                {"kind": "local", "name": "Local (/b)", "state": "failed", "error": "disk full"},
            ],
        }  # fmt: skip

    def succeed(self) -> None:
        self.body = {
            "task_id": "t-1", "state": "active", "node": "A",
            "last_run": {"kind": "full", "started_at": "2026-11-22T04:00:00Z"},
        }  # fmt: skip

    def source(self) -> StatusSource:
        def read() -> list[tuple[str, BackupTask, TaskStatus]]:
            return [("shop", TASK, TaskStatus.from_json(self.body))]

        return read


def together(nodes: list[Alerts], act: Callable[[Alerts], list[Any]]) -> list[Any]:
    """Run `act` on every node at the same moment; everything they returned."""
    barrier, results = threading.Barrier(len(nodes)), []

    def run(node: Alerts) -> None:
        barrier.wait()
        results.extend(act(node))

    threads = [threading.Thread(target=run, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_two_nodes_on_etcd_announce_and_deliver_each_change_once(
    etcd: EtcdCluster, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    clock, statuses, keys = ManualClock("2026-11-22T03:00:00Z"), Statuses(), MasterKeys(tmp_path)
    stores = [EtcdSystemStore(EtcdClient(etcd.endpoints), cluster="alerts") for _ in range(3)]
    try:
        nodes = [
            Alerts(store, keys, clock=clock, node=tag, statuses=statuses.source())
            for store, tag in zip(stores, "ABC", strict=True)
        ]
        nodes[0].add_channel(
            {"kind": "webhook", "name": "ops", "url": receiver.url, "secret": SECRET}
        )
        opened: list[Notification] = together(nodes, lambda n: n.evaluate())
        assert [(n.phase, n.incident.subject) for n in opened] == [("opened", "Local (/b)")]
        assert together(nodes, lambda n: n.deliver_due())[0].outcome == "delivered"
        assert len(receiver.received) == 1 and receiver.received[0].signature_ok

        statuses.fail("2026-11-22T03:00:00Z")  # the next run fails the same way: a repeat
        assert together(nodes, lambda n: n.evaluate()) == []
        [incident] = nodes[2].open_incidents()
        assert incident.occurrences == 2

        statuses.succeed()
        clock.advance(hours=1)
        recovered = together(nodes, lambda n: n.evaluate())
        assert [n.phase for n in recovered] == ["recovered"]
        together(nodes, lambda n: n.deliver_due())
        assert [r.json()["event"] for r in receiver.received] == [
            "incident.opened",
            "incident.recovered",
        ]
        assert [i.state for i in nodes[1].incidents(include_closed=True)] == ["recovered"]
    finally:
        for store in stores:
            store.close()
