"""HTTP for database groups: the change stream for followers, majority writes, topology.

- `NodeEndpoints` answers `GET /cluster/internal/replication/{db}?after=N` before
  the API-key gate: only a request signed with the cluster key (another node)
  gets it. It holds the request while nothing is new (long poll), then streams
  the changes after N in the logical backup format. A follower asking from
  beyond the write node's last etag has a history the group does not: refused
  with 409 `diverged`.
- `AwaitMajority` holds the answer to a write on a group database with write
  concern `majority` until a majority of the group holds it; when that does
  not happen in time the answer is 504 `write-not-confirmed` (the write is on
  the write node, and not yet confirmed), never a plain success.
- `GET /databases/{db}/topology`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rookdb.app_state import AppState
from rookdb.cluster.groups import Group
from rookdb.cluster.replication import (
    LONG_POLL_SECONDS,
    REPLICATION_PATH,
    SNAPSHOT_HEADER,
    Replication,
    export_changes,
)
from rookdb.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    NotWriteNode,
    RookError,
    Unauthorized,
    WriteNotConfirmed,
)
from rookdb.security.roles import database_of
from rookdb.server.json_body import StrictJsonRoute
from rookdb.server.render import json_response
from rookdb.storage.engine import Engine

RECORD_STATE = "rookdb.database_record"  # left by ForwardToNode (rookdb.server.forwarding)
# On a write node's answer to a write: the database's last etag once it was done. A
# member that sent the write on waits for its own copy to hold it (read your writes).
WRITTEN_ETAG_HEADER = "X-Rookdb-Written-Etag"

router = APIRouter(tags=["cluster"], route_class=StrictJsonRoute)
# How long a majority write waits for the group before answering write-not-confirmed.
CONFIRM_SECONDS = 5.0
_READ_POSTS = ("/docs/get", "/queries")


def is_read(method: str, path: str) -> bool:
    """Whether a request only reads (any member may answer it)."""
    method = method.upper()
    return method in ("GET", "HEAD", "OPTIONS") or (method == "POST" and path.endswith(_READ_POSTS))


class Diverged(Conflict):
    code = "diverged"


@router.get("/databases/{db}/topology")
async def database_topology(db: str, request: Request) -> Response:
    """The database's group: members (state, applied etag, lag), write node, term."""
    state = AppState.of(request.app)
    if state.replication is None:
        record = await run_in_threadpool(state.instance.system.get_database, db)
        if record is None:
            raise NotFound(f"database {db!r} does not exist")
        last = await run_in_threadpool(lambda: state.instance.database(db).engine.last_etag)
        node = state.instance.node_tag
        member = {
            "tag": node,
            "state": "up",
            "role": "write node",
            "applied_etag": last,
            "lag_etags": 0,
            "lag_seconds": 0.0,
            "error": None,
        }
        return json_response(
            {
                "database": record.name,
                "members": [member],
                "write_node": node,
                "term": 1,
                "write_concern": "1",
            }
        )
    return json_response(await run_in_threadpool(state.replication.topology, db))


class GroupNode(BaseModel):
    """Body of `POST /databases/{db}/group/nodes`."""

    model_config = ConfigDict(extra="forbid")
    node: str


@router.post("/databases/{db}/group/nodes", status_code=201)
async def add_group_node(db: str, body: GroupNode, request: Request) -> Response:
    """Add a live node to the database's group; it catches up from the write node."""
    replication = _replication(request)
    group = await run_in_threadpool(replication.add_node, db, body.node)
    return json_response(group.to_json(), 201)


@router.delete("/databases/{db}/group/nodes/{node}")
async def remove_group_node(db: str, node: str, request: Request) -> Response:
    """Take a node out of the database's group (its copy is dropped)."""
    replication = _replication(request)
    group = await run_in_threadpool(replication.remove_node, db, node)
    return json_response(group.to_json())


def _replication(request: Request) -> Replication:
    replication = AppState.of(request.app).replication
    if replication is None:
        raise InvalidInput(
            "database groups need a cluster (rookdb serve --cluster ...)", field="node"
        )
    return replication


class NodeEndpoints:
    """ASGI middleware (outermost): the node-to-node endpoints, signed with the cluster key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(REPLICATION_PATH):
            await self.app(scope, receive, send)
            return
        state = AppState.of(scope["app"])
        try:
            response = await self._changes(state, scope)
        except RookError as exc:
            response = json_response(exc.to_dict(), exc.http_status)
        await response(scope, receive, send)

    async def _changes(self, state: AppState, scope: Scope) -> Response:
        cluster, replication = state.cluster, state.replication
        if cluster is None or replication is None:
            raise NotFound("this node is not in a cluster")
        query = scope["query_string"].decode("latin-1")
        target = scope["path"] + (f"?{query}" if query else "")
        sender = cluster.requests.sender(Headers(scope=scope), scope["method"], target)
        if sender is None:
            raise Unauthorized("only another node of the cluster may follow a database")
        name = scope["path"][len(REPLICATION_PATH) :]
        params = parse_qs(query)
        try:
            after = int(params.get("after", ["0"])[0])
            held_term = int(params.get("term", ["1"])[0])
        except ValueError:
            raise InvalidInput("after and term must be numbers", field="after") from None
        db = await run_in_threadpool(state.instance.database, name)
        record = await run_in_threadpool(state.instance.system.get_database, name)
        group = Group.from_settings(record.settings) if record else None
        if group is None or group.write_node != cluster.tag:
            raise NotWriteNode(
                f"node {cluster.tag} is not the write node of {name!r}"
                + (f" (it is {group.write_node})" if group else "")
            )
        last = db.engine.last_etag
        common = group.diverged_from(held_term, after)
        if common is None and after > last:
            common = last
        if common is not None:
            error = Diverged(
                f"node {sender} holds {name!r} up to etag {after} (term {held_term}); the "
                f"group's history parts from it after etag {common}"
            )
            return json_response({**error.to_dict(), "common_etag": common}, error.http_status)
        replication.applied.report(name, sender, after, caught_up=after >= last)
        if not await committed_past(db.engine, after, LONG_POLL_SECONDS):
            return Response(status_code=204)
        if after == 0 and params.get("snapshot") == ["1"]:
            # A member starting from nothing: a consistent copy of the file is the fast way.
            path = await run_in_threadpool(_copy_of, db)
            return _streamed_file(path, {SNAPSHOT_HEADER: "snapshot"})
        path = await run_in_threadpool(_export_after, db, after)
        return _streamed_file(path)


def _export_after(db: object, after: int) -> Path:
    from rookdb.storage import Database

    assert isinstance(db, Database)
    fd, name = tempfile.mkstemp(prefix="replication-", suffix=".rookdb")
    with os.fdopen(fd, "wb") as out:
        export_changes(db, after, out)
    return Path(name)


def _copy_of(db: object) -> Path:
    from rookdb.storage import Database

    assert isinstance(db, Database)
    fd, name = tempfile.mkstemp(prefix="replication-copy-", suffix=".rookdb")
    os.close(fd)
    os.unlink(name)  # the copy makes its own file
    db.copy_to(Path(name))
    return Path(name)


def _streamed_file(path: Path, headers: dict[str, str] | None = None) -> Response:
    from starlette.background import BackgroundTask
    from starlette.responses import FileResponse

    return FileResponse(
        path,
        media_type="application/octet-stream",
        headers=headers,
        background=BackgroundTask(lambda: path.unlink(missing_ok=True)),
    )


class AwaitMajority:
    """ASGI middleware: a write with write concern majority is answered once a majority holds it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or is_read(scope["method"], path):
            await self.app(scope, receive, send)
            return
        state = AppState.of(scope["app"])
        name = database_of(path)
        if state.replication is None or name is None or "/tasks/" in path:
            await self.app(scope, receive, send)
            return
        known = scope.get("state", {})
        if RECORD_STATE in known:  # read by ForwardToNode for this request already
            record = known[RECORD_STATE]
        else:
            record = await run_in_threadpool(state.instance.system.get_database, name)
        group = Group.from_settings(record.settings) if record else None
        if group is None or group.write_node != state.instance.node_tag:
            await self.app(scope, receive, send)
            return
        if group.acks_needed <= 1:
            await self.app(scope, receive, _stamp_written_etag(state, name, send))
            return
        held: list[Message] = []

        async def hold(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, hold)
        status = next((m["status"] for m in held if m["type"] == "http.response.start"), 500)
        if status < 400:
            with contextlib.suppress(RookError):
                etag = state.instance.database(name).engine.last_etag
                confirmed = await run_in_threadpool(
                    state.replication.applied.wait_for,
                    name,
                    etag,
                    group.followers(),
                    group.acks_needed - 1,
                    CONFIRM_SECONDS,
                )
                if not confirmed:
                    error = WriteNotConfirmed(
                        f"the write is on write node {group.write_node} (etag {etag}) but a "
                        f"majority of {', '.join(group.members)} did not confirm it within "
                        f"{CONFIRM_SECONDS:.0f} s: it may be lost if that node fails now; "
                        "read it back before writing it again"
                    )
                    await json_response(error.to_dict(), error.http_status)(scope, receive, send)
                    return
        stamped = _stamp_written_etag(state, name, send)
        for message in held:
            await stamped(message)


async def committed_past(engine: Engine, after: int, timeout: float) -> bool:
    """Whether the engine's last etag passes `after` within `timeout` seconds.

    Woken by the commit itself: a write with write concern majority waits for this
    round trip, so polling here would add its interval to every such write.
    """
    loop = asyncio.get_running_loop()
    moved = asyncio.Event()

    def committed(etag: int) -> None:
        if etag > after:
            with contextlib.suppress(RuntimeError):  # the server is shutting down
                loop.call_soon_threadsafe(moved.set)

    engine.add_commit_listener(committed)
    try:
        if engine.last_etag <= after:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(moved.wait(), timeout)
    finally:
        engine.remove_commit_listener(committed)
    return engine.last_etag > after


def _stamp_written_etag(state: AppState, name: str, send: Send) -> Send:
    """`send`, adding the database's last etag to the start of a successful answer."""

    async def stamped(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] < 400:
            with contextlib.suppress(RookError):
                etag = state.instance.database(name).engine.last_etag
                headers = list(message.get("headers", []))
                headers.append((WRITTEN_ETAG_HEADER.lower().encode(), str(etag).encode()))
                message = {**message, "headers": headers}
        await send(message)

    return stamped
