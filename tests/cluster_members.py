"""Cluster members joined in the test's own process, on a real etcd (no HTTP server)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cluster_processes import wait_until
from etcd_server import EtcdCluster
from rookdb.cluster.key import new_cluster_key
from rookdb.cluster.member import ClusterMember, ClusterOptions

_names = itertools.count()


@contextmanager
def joined_members(etcd: EtcdCluster, base: Path, tags: str) -> Iterator[list[ClusterMember]]:
    """One member per tag, in a cluster of their own on `etcd`, watches in sync; left after."""
    key_file = base / "cluster.key"
    key_file.write_text(new_cluster_key())
    key_file.chmod(0o600)
    name = f"members-{next(_names)}"
    joined: list[ClusterMember] = []
    try:
        for number, tag in enumerate(tags):
            options = ClusterOptions.parse(
                ",".join(etcd.endpoints),
                node_tag=tag,
                advertise_url=f"http://127.0.0.1:{9000 + number}",
                key_file=key_file,
                name=name,
            )
            member = ClusterMember.join(options, base / tag, queued_namespaces=[])
            member.start(lambda namespaces: None)
            joined.append(member)
        wait_until(lambda: all(m.store.reads.in_sync for m in joined), 10, "watches in sync")
        yield joined
    finally:
        for member in joined:
            member.stop()
            member.store.close()
