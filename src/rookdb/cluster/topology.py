"""The cluster as one node sees it: every node with its state, the observer, etcd's health.

The JSON of `GET /cluster/topology` and `rookdb cluster status --json`.
"""

from __future__ import annotations

from typing import Any

from rookdb.cluster.nodes import NodeRegistry
from rookdb.errors import ClusterUnavailable
from rookdb.system.etcd import EtcdClient


def etcd_health(client: EtcdClient) -> dict[str, Any]:
    """Whether etcd answers with a leader, and through which endpoints."""
    try:
        status = client.post("maintenance/status", {})
    except ClusterUnavailable as exc:
        return {"healthy": False, "endpoints": client.endpoints, "error": exc.message}
    leader = str(status.get("leader", "0"))
    return {
        "healthy": leader != "0",
        "endpoints": client.endpoints,
        "leader": leader,
        "version": status.get("version"),
        "error": None if leader != "0" else "etcd has no leader (no quorum)",
    }


def topology(registry: NodeRegistry, client: EtcdClient) -> dict[str, Any]:
    """`{"nodes": [...], "observer": tag | None, "etcd": {"healthy": bool, ...}}`."""
    health = etcd_health(client)
    if not health["healthy"]:
        return {"nodes": [], "observer": None, "etcd": health}
    return {
        "nodes": [n.to_json() for n in registry.nodes()],
        "observer": registry.observer(),
        "etcd": health,
    }
