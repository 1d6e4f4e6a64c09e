"""`create_app`: the FastAPI application over one `Instance`.

Two extension points, each in one place below:
- `_include_routers`: every HTTP area is one router; add an area with one line.
  The API lives under `/databases`, `/health` ...; the Studio will be mounted
  at `/` and must come last so it never shadows an API route.
- `default_services`: objects with `start()`/`stop()` that run beside the
  server for its lifetime (the backup scheduler plugs in here). They start in
  order after the app is ready and stop in reverse order before it exits.

The core objects routes and Studio pages use are built here once, as the
app's `AppState` (one `BackupTasks`, over the scheduler among the services).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp

from rookdb import __version__, studio
from rookdb.alerts.service import Alerts, statuses_of
from rookdb.app_state import AppState
from rookdb.cluster.member import ClusterMember
from rookdb.cluster.replication import Replication
from rookdb.instance import Instance
from rookdb.restore import RestoreJobs
from rookdb.security.keys import ApiKeys
from rookdb.server import alerts as alert_routes
from rookdb.server import (
    attachments,
    changes,
    cluster,
    databases,
    documents,
    errors,
    health,
    indexes,
    keys,
    restores,
    transfer,
)
from rookdb.server import destinations as destination_routes
from rookdb.server import explorer as explorer_routes
from rookdb.server import metrics as metrics_routes
from rookdb.server import replication as replication_routes
from rookdb.server import tasks as task_routes
from rookdb.server.auth import AuthGate, document_security
from rookdb.server.forwarding import ForwardToNode
from rookdb.server.limits import JsonDepthLimit
from rookdb.server.render import JSONBody
from rookdb.server.url_text import RequireUtf8Url
from rookdb.system.watched_reads import DATABASES, NODES
from rookdb.tasks import BackupScheduler, BackupTasks
from rookdb.tasks.assignments import ASSIGNMENTS_NAMESPACE
from rookdb.tasks.status import STATUS_NAMESPACE
from rookdb.tasks.store import TASKS_NAMESPACE

log = logging.getLogger("rookdb.server")

# JSON request bodies above this are refused with 413; attachment uploads have no limit.
MAX_JSON_BODY = 32 * 1024 * 1024
# Which changes to the cluster state make a service look again at once.
SCHEDULER_WAKES = frozenset({TASKS_NAMESPACE, ASSIGNMENTS_NAMESPACE, STATUS_NAMESPACE, DATABASES})
REPLICATION_WAKES = frozenset({DATABASES, NODES})


class Service(Protocol):
    """Something that runs beside the HTTP server for its lifetime."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


class RookApp(FastAPI):
    """FastAPI with our JSON 413 around the whole stack (see `PlainBodyLimitAsJson`)."""

    def build_middleware_stack(self) -> ASGIApp:
        return errors.PlainBodyLimitAsJson(super().build_middleware_stack())


def default_services(
    instance: Instance, member: ClusterMember | None = None, replication: Replication | None = None
) -> list[Service]:
    """The background services `rookdb serve` runs: the backup scheduler (and in a cluster,
    this node's membership first, so that it stops last, then its database groups)."""
    scheduler = BackupScheduler(instance)
    if member is None or replication is None:
        return [scheduler]

    def changed(namespaces: frozenset[str] | None) -> None:
        # Followers report their progress on every write: that wakes neither (it would
        # make every document write cost a look at every task on every node).
        if namespaces is None or namespaces & SCHEDULER_WAKES:
            scheduler.notify()
        if namespaces is None or namespaces & REPLICATION_WAKES:
            replication.notify()

    return [cluster.ClusterService(member, changed), replication, scheduler]


def backup_tasks_for(instance: Instance, services: Sequence[object]) -> BackupTasks:
    """The app's task service, over the scheduler among its services (or an idle one)."""
    scheduler = next((s for s in services if isinstance(s, BackupScheduler)), None)
    return BackupTasks(instance, scheduler)


def create_app(
    instance: Instance,
    *,
    services: Sequence[Service] | None = None,
    max_json_body: int = MAX_JSON_BODY,
    auth: bool = False,
    member: ClusterMember | None = None,
) -> FastAPI:
    """The HTTP API over `instance` (which the caller opens and closes).

    With `auth`, every route but /health and the Studio's login needs an API key
    (see `rookdb.server.auth`); without, the server must listen on loopback only.
    """
    app = RookApp(
        title="rookdb",
        version=__version__,
        description="A document database whose headline feature is backup tasks.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=_lifespan,
        default_response_class=JSONBody,
        max_body_size=max_json_body,
        # Accept a JSON body sent without a Content-Type (curl, scripts).
        strict_content_type=False,
    )
    replication = Replication(instance, member) if member is not None else None
    app.state.services = list(
        default_services(instance, member, replication) if services is None else services
    )
    backup_tasks = backup_tasks_for(instance, app.state.services)
    alert_service = Alerts(
        instance.system,
        instance.secrets,
        clock=backup_tasks.clock,
        node=backup_tasks.scheduler.node_tag,
        statuses=statuses_of(backup_tasks),
    )
    if services is None:
        app.state.services.append(alert_service)  # after the scheduler: it stops first
    AppState(
        instance=instance,
        api_keys=ApiKeys(instance.system),
        backup_tasks=backup_tasks,
        # Restores started over HTTP or from the Studio (both find them here).
        restores=RestoreJobs(instance),
        auth_required=auth,
        cluster=member,
        replication=replication,
        alerts=alert_service,
    ).install(app)
    errors.install(app)
    # The last added runs first: the gate refuses strangers before any body is buffered.
    app.add_middleware(RequireUtf8Url)
    app.add_middleware(JsonDepthLimit, max_buffer=max_json_body)
    if member is not None:
        # After the gate (the caller's key is checked here first), before any body is read.
        app.add_middleware(replication_routes.AwaitMajority)
        app.add_middleware(ForwardToNode)
        app.add_middleware(cluster.MarkStaleAnswers)
    app.add_middleware(AuthGate)
    if member is not None:
        # Node-to-node requests carry the cluster key's signature, not an API key.
        app.add_middleware(replication_routes.NodeEndpoints)
    _include_routers(app)
    document_security(app)
    return app


def _include_routers(app: FastAPI) -> None:
    """Every area of the HTTP API, in one place."""
    app.include_router(health.router)
    app.include_router(databases.router)
    app.include_router(documents.router)
    app.include_router(attachments.router)
    app.include_router(indexes.router)
    app.include_router(changes.router)
    app.include_router(cluster.router)
    app.include_router(replication_routes.router)
    app.include_router(transfer.router)
    app.include_router(restores.router)
    app.include_router(explorer_routes.router)
    app.include_router(task_routes.router)
    app.include_router(destination_routes.router)
    app.include_router(metrics_routes.router)
    app.include_router(keys.router)
    app.include_router(alert_routes.router)
    # Backup tasks and metrics go above this line; the Studio (mounted at "/") last.
    studio.mount_studio(app)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    services: list[Service] = app.state.services
    started: list[Service] = []
    try:
        for service in services:
            await run_in_threadpool(service.start)
            started.append(service)
        yield
    finally:
        # Running restores get a moment to finish before the instance closes under them.
        await run_in_threadpool(AppState.of(app).restores.stop)
        for service in reversed(started):
            try:
                await run_in_threadpool(service.stop)
            except Exception:
                # One service failing to stop must not keep the others running.
                log.exception("background service %r failed to stop", service)
