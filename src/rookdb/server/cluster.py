"""`GET /cluster/topology`: the cluster as this node sees it (a single node describes itself)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rookdb.app_state import AppState
from rookdb.cluster.member import ClusterMember
from rookdb.server.render import json_response

router = APIRouter(tags=["cluster"])

STALE_HEADER = "x-rookdb-stale"


@router.get("/cluster/topology")
async def cluster_topology(request: Request) -> Response:
    """Every node (tag, URL, up/down, last seen), the observer and etcd's health.

    Without a cluster: this node alone, `"clustered": false` and `"etcd": null`.
    """
    state = AppState.of(request.app)
    if state.cluster is None:
        node = state.instance.node_tag
        return json_response(
            {
                "clustered": False,
                "this_node": node,
                "nodes": [
                    {"tag": node, "url": None, "state": "up", "joined_at": None, "last_seen": None}
                ],
                "observer": None,
                "etcd": None,
                "stale": False,
            }
        )
    view = await run_in_threadpool(state.cluster.topology)
    return json_response({"clustered": True, **view})


class MarkStaleAnswers:
    """ASGI middleware: an answer read from the node's last known copy says so in a header.

    Without a cluster leader a node still answers reads, from its own copy of the
    cluster state; `X-Rookdb-Stale: 1` tells the caller that copy may be behind.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cluster = AppState.of(scope["app"]).cluster

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start" and cluster and cluster.store.stale:
                message = {**message, "headers": [*message["headers"], (b"x-rookdb-stale", b"1")]}
            await send(message)

        await self.app(scope, receive, marked if cluster is not None else send)


class ClusterService:
    """Runs this node's cluster membership beside the server: etcd checks and the watch.

    A change made through another node (a task created there) wakes the scheduler
    at once rather than at its next regular look. `on_change` hears which
    namespaces changed (None: anything may have).
    """

    def __init__(
        self, cluster: ClusterMember, on_change: Callable[[frozenset[str] | None], None]
    ) -> None:
        self._cluster = cluster
        self._on_change = on_change

    def start(self) -> None:
        self._cluster.start(self._on_change)

    def stop(self) -> None:
        self._cluster.stop()
