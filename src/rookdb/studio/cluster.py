"""Studio page: the cluster (every node with its state and last sighting, the observer, etcd)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from rookdb.app_state import AppState
from rookdb.studio.web import render

router = APIRouter()


@router.get("/cluster", response_class=HTMLResponse)
async def cluster_page(request: Request) -> HTMLResponse:
    """The topology this node sees; a single node says it is not in a cluster."""
    state = AppState.of(request.app)
    view = await run_in_threadpool(state.cluster.topology) if state.cluster else None
    return render(
        request,
        "cluster.html",
        {"nav": "cluster", "view": view, "this_node": state.instance.node_tag},
    )
