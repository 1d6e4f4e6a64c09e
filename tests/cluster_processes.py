"""A real cluster for tests: etcd members and `rookdb serve --cluster ...` node processes."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from etcd_server import EtcdCluster, free_port, start_etcd
from rookdb_process import Served, cli, serve

T = TypeVar("T")


def wait_until(condition: Callable[[], T], seconds: float, what: str) -> T:
    """Poll `condition` until it returns something true; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        time.sleep(0.1)


@dataclass
class Node:
    tag: str
    data_dir: Path
    port: int
    served: Served | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class RookCluster:
    """etcd plus rookdb nodes A, B, C ... sharing one key file."""

    base: Path
    etcd: EtcdCluster
    key_file: Path
    nodes: dict[str, Node] = field(default_factory=dict)
    admin_key: str = ""

    @property
    def cluster_option(self) -> str:
        return ",".join(self.etcd.endpoints)

    def serve_args(self, node: Node, *, key_file: Path | None = None) -> list[str]:
        return [
            "--data-dir", str(node.data_dir),
            "--port", str(node.port),
            "--node-tag", node.tag,
            "--cluster", self.cluster_option,
            "--advertise-url", node.url,
            "--cluster-key-file", str(key_file or self.key_file),
        ]  # fmt: skip

    def start_node(self, tag: str, env: dict[str, str] | None = None) -> Node:
        node = self.nodes.get(tag) or Node(tag, self.base / f"node-{tag}", free_port())
        for attempt in range(3):
            try:
                node.served = serve(self.serve_args(node), env=env)
                break
            except AssertionError as exc:
                # A free port picked earlier may be taken by another process meanwhile.
                if "address is in use" not in str(exc) or attempt == 2:
                    raise
                node.port = free_port()
        assert node.served is not None
        if node.served.admin_key:
            self.admin_key = node.served.admin_key
        self.nodes[tag] = node
        return node

    def http(self, tag: str, **kwargs: Any) -> httpx.Client:
        options: dict[str, Any] = {"timeout": 30, **kwargs}
        return httpx.Client(
            base_url=self.nodes[tag].url,
            headers={"Authorization": f"Bearer {self.admin_key}"},
            **options,
        )

    def topology(self, tag: str) -> dict[str, Any]:
        with self.http(tag) as http:
            answer = http.get("/cluster/topology")
            assert answer.status_code == 200, answer.text
            return dict(answer.json())

    def node_state(self, observer: str, tag: str) -> str | None:
        for node in self.topology(observer)["nodes"]:
            if node["tag"] == tag:
                return str(node["state"])
        return None

    def stop(self) -> None:
        for node in self.nodes.values():
            if node.served is not None and node.served.process.poll() is None:
                node.served.stop()
        self.etcd.stop()


def start_cluster(base: Path, tags: str = "ABC", etcd_members: int = 3) -> RookCluster:
    """A real etcd of `etcd_members` members and one node per tag, all up."""
    etcd = start_etcd(base / "etcd", etcd_members)
    key_file = base / "cluster.key"
    key_file.write_text(cli("cluster", "key").stdout)
    key_file.chmod(0o600)
    cluster = RookCluster(base, etcd, key_file)
    try:
        for tag in tags:
            cluster.start_node(tag)
    except BaseException:
        cluster.stop()
        raise
    return cluster
