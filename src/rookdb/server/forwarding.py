"""Requests a node cannot answer itself go to the database's write node (a cluster only).

In a cluster every node lists every database; a database's data lives on the
members of its group. A member answers reads from its own copy; a write sent
to a member that is not the write node, and any request to a node outside the
group, is sent on to the write node, signed with the cluster key, and the
answer streamed back as it comes (bodies are never held whole: exports and
attachments can be large). The caller's own API key goes along; keys are
cluster-wide, so the other node checks it as this one did. A group's topology
goes to its write node too (it knows every member's progress).

Backup task definitions and status, and a database's group of nodes, are
cluster state, not the database's data: every node answers them itself from
the cluster store (a task created through any node, its status shown as
`not-on-this-node` with the node that runs it).

The Studio's document forms (save, delete) are writes too, sent on the same
way: the session cookie and the form's CSRF token are valid on every node (both
signed with the cluster's secrets), and the write node answers as its Studio.

A member that sent a write on answers only once its own copy holds it (at most
READ_YOUR_WRITES_SECONDS): whoever wrote through it, a browser following the
Studio's redirect or a client, then reads what it wrote from it.

A request that already came from a node is never sent on again (no loops).
While a group has no live write node the answer is 503 `no-write-node`
(retryable, also in the `X-Rookdb-Error` header for clients that retry).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import httpx
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rookdb.app_state import AppState
from rookdb.cluster.groups import Group
from rookdb.cluster.member import ClusterMember
from rookdb.cluster.node_requests import NODE_HEADER
from rookdb.errors import DatabaseElsewhere, NoWriteNode, RookError
from rookdb.security.roles import database_of
from rookdb.server.render import json_response
from rookdb.server.replication import RECORD_STATE, WRITTEN_ETAG_HEADER, committed_past, is_read
from rookdb.tasks.assignments import Assignment, Assignments

log = logging.getLogger(__name__)

# Headers about one connection, not the request: never passed on.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
_TIMEOUT = httpx.Timeout(10.0, read=600.0)
READ_YOUR_WRITES_SECONDS = 5.0
# The Studio's document writes (the Studio's other pages are served by each node).
_STUDIO_WRITE = re.compile(r"^/studio/databases/[^/]+/(documents|doc/delete)/?$")
_RUN_NOW = re.compile(r"^/databases/[^/]+/tasks/backups/([^/]+)/(backup-now|drill-now)/?$")
# Answered by every node from the cluster state (see the module docstring).
_CLUSTER_STATE = re.compile(
    r"^/databases/[^/]+/(tasks/backups(/[^/]+(/(status|history|enable|disable))?)?"
    r"|group/nodes(/[^/]+)?)/?$"
)


class ForwardToNode:
    """ASGI middleware: send a request for another node's database to that node."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _may_go_elsewhere(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        state = AppState.of(scope["app"])
        cluster = state.cluster
        database = database_of(scope["path"])
        if cluster is None or database is None or _CLUSTER_STATE.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        try:
            node_url = await run_in_threadpool(_elsewhere, state, cluster, scope, database)
        except RookError as exc:
            # The code in a header too: a client retries no-write-node without reading the body.
            answer = json_response(exc.to_dict(), exc.http_status, {"X-Rookdb-Error": exc.code})
            await answer(scope, receive, send)
            return
        if node_url is None:
            await self.app(scope, receive, send)
            return
        await self._forward(state, node_url, scope, receive, send)

    async def _forward(
        self, state: AppState, node_url: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        cluster = state.cluster
        assert cluster is not None
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=_TIMEOUT)
        target = _target(scope)
        headers = [
            (name, value)
            for name, value in Headers(scope=scope).items()
            if name.lower() not in _HOP_BY_HOP and not name.lower().startswith("x-rookdb-node")
        ]
        headers.extend(cluster.requests.headers(scope["method"], target).items())
        request = self._client.build_request(
            scope["method"], node_url + target, headers=headers, content=_body(receive)
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.ConnectError:
            # Nothing was sent: the node died (its lease not yet gone). Retryable.
            gone = NoWriteNode(
                f"the node at {node_url} that takes {database_of(scope['path'])!r}'s writes "
                "does not answer; if it is down, another member of its group takes over "
                "within seconds: retry"
            )
            marked = {"X-Rookdb-Error": gone.code}
            await json_response(gone.to_dict(), gone.http_status, marked)(scope, receive, send)
            return
        except httpx.HTTPError as exc:
            error = DatabaseElsewhere(
                f"database {database_of(scope['path'])!r} lives on the node at {node_url}, "
                f"which did not answer ({type(exc).__name__}); try again, or ask that node"
            )
            await json_response(error.to_dict(), 502)(scope, receive, send)
            return
        written = response.headers.get(WRITTEN_ETAG_HEADER)
        if written is not None and written.isdigit():
            await _hold_until_local_copy_has(state, database_of(scope["path"]), int(written))
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status_code,
                    "headers": [
                        (k.encode("latin-1"), v.encode("latin-1"))
                        for k, v in response.headers.multi_items()
                        if k.lower() not in _HOP_BY_HOP
                    ],
                }
            )
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            await response.aclose()


def _may_go_elsewhere(method: str, path: str) -> bool:
    return path.startswith("/databases/") or (method == "POST" and bool(_STUDIO_WRITE.match(path)))


async def _hold_until_local_copy_has(state: AppState, database: str | None, etag: int) -> None:
    """Wait (bounded) until this node's copy of `database` holds `etag`, when it has one."""
    if database is None:
        return
    try:
        db = await run_in_threadpool(state.instance.database, database)
    except RookError:
        return  # not a member: it holds no copy to read from
    if not await committed_past(db.engine, etag - 1, READ_YOUR_WRITES_SECONDS):
        log.info("database %s: this node's copy did not reach etag %s in time", database, etag)


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def _elsewhere(state: AppState, cluster: ClusterMember, scope: Scope, database: str) -> str | None:
    """The URL of the node holding `database` when it is another one; None to serve it here."""
    headers = Headers(scope=scope)
    target = _target(scope)
    if headers.get(NODE_HEADER) is not None:
        # Checked (forged ones refused), and never sent on again.
        cluster.requests.sender(headers, scope["method"], target)
        return None
    record = state.instance.system.get_database(database)
    # AwaitMajority, further in, needs the same record: one etcd read per request.
    scope.setdefault("state", {})[RECORD_STATE] = record
    group = Group.from_settings(record.settings) if record is not None else None
    if group is None:
        return None  # not found (the route says so), or a database of this node alone
    me = state.instance.node_tag
    path = scope["path"]
    run_now = _RUN_NOW.match(path)
    if run_now is not None:
        assignment = Assignments(state.instance.system).get(database, run_now.group(1))
        if assignment is not None:  # placed: it runs there (else on the write node)
            return _responsible_url(cluster, me, assignment, run_now.group(1))
    if group.write_node == me:
        return None
    # Members answer reads from their own copy; writes, and a group's topology (its
    # write node knows every member's progress), go to the write node.
    if me in group.members and is_read(scope["method"], path) and not path.endswith("/topology"):
        return None
    url = cluster.node_url(group.write_node)
    if url is None:
        if len(group.members) > 1:
            raise NoWriteNode(
                f"database {database!r} has no write node now ({group.write_node} is down); "
                "a live member takes over within seconds: retry"
            )
        raise DatabaseElsewhere(
            f"database {database!r} lives on node {group.write_node}, which is down: it is "
            "unavailable until that node is back"
        )
    return url


def _responsible_url(
    cluster: ClusterMember, me: str, assignment: Assignment, task_id: str
) -> str | None:
    """Backup Now and Drill Now run where the task runs: its responsible node's URL."""
    if assignment.node == me:
        return None
    url = cluster.node_url(assignment.node)
    if url is None:
        raise NoWriteNode(
            f"task {task_id} runs on node {assignment.node}, which is down; the observer "
            "gives it to another member within seconds: retry"
        )
    return url


def _target(scope: Scope) -> str:
    """The path (as sent, still percent-encoded) and query of a request, as signed."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else scope["path"]
    query = scope["query_string"].decode("latin-1")
    return path + (f"?{query}" if query else "")
