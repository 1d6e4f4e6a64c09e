"""Studio page: a database's group of nodes (members, write node, term, lag), add and remove one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from rookdb.app_state import AppState
from rookdb.errors import RookError
from rookdb.studio.web import error_page, redirect, render

router = APIRouter()


@router.get("/databases/{name}/group", response_class=HTMLResponse)
async def group_page(request: Request, name: str) -> Response:
    """Each member's state, applied etag and lag; the write node and term."""
    try:
        view = await _view(request, name)
    except RookError as exc:
        return error_page(request, exc)
    return render(request, "group.html", _context(request, name, view))


@router.post("/databases/{name}/group/add", response_class=HTMLResponse)
async def add_node(request: Request, name: str) -> Response:
    return await _change(request, name, "add")


@router.post("/databases/{name}/group/remove", response_class=HTMLResponse)
async def remove_node(request: Request, name: str) -> Response:
    return await _change(request, name, "remove")


async def _change(request: Request, name: str, action: str) -> Response:
    form = await request.form()
    node = str(form.get("node", "")).strip()
    replication = AppState.of(request.app).replication
    try:
        if replication is None:
            raise RookError("this server is a single node: a database has no group to change")
        change = replication.add_node if action == "add" else replication.remove_node
        await run_in_threadpool(change, name, node)
    except RookError as exc:
        try:
            view = await _view(request, name)
        except RookError:
            return error_page(request, exc)
        context = {**_context(request, name, view), "error": exc.message, "form_node": node}
        return render(request, "group.html", context, status_code=exc.http_status)
    done = "added to" if action == "add" else "removed from"
    return redirect(f"/databases/{name}/group", notice=f"Node {node} {done} the group of {name}.")


async def _view(request: Request, name: str) -> dict[str, Any] | None:
    state = AppState.of(request.app)
    if state.replication is None:
        await run_in_threadpool(state.instance.database, name)  # NotFound first
        return None
    return await run_in_threadpool(state.replication.topology, name)


def _context(request: Request, name: str, view: dict[str, Any] | None) -> dict[str, Any]:
    return {"db": name, "tab": "group", "view": view, "error": None, "form_node": ""}
