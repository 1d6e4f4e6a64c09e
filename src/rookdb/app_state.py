"""`AppState`: the core objects one server holds, found the same way by the API and the Studio.

`rookdb.server.create_app` builds one `AppState` and leaves it on the ASGI
app; the HTTP routes (`rookdb.server`) and the Studio pages (`rookdb.studio`)
both read it here. That keeps the dependency one-way: the server mounts the
Studio, and the Studio never imports the server. It also means there is one
`BackupTasks` per app, over the scheduler the server runs: "one run per task
at a time" holds only within one scheduler.

Errors on a Studio page should look like the Studio, yet the server's gate
and exception handlers answer them. So the Studio adds its own `ErrorPage`
when it is mounted, and the server asks `AppState.error_page` before
answering in JSON; the server never renders a page itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.types import Scope

from rookdb.alerts import Alerts
from rookdb.cluster.member import ClusterMember
from rookdb.cluster.replication import Replication
from rookdb.errors import RookError
from rookdb.instance import Instance
from rookdb.restore import RestoreJobs
from rookdb.security.keys import ApiKey, ApiKeys
from rookdb.tasks import BackupTasks

ErrorPage = Callable[[Request, RookError], Response | None]
"""The answer to an error on a request this page owns, or None to leave it to the API."""

_PRINCIPAL = "api_key"  # where the caller's ApiKey is left in the request state


@dataclass
class AppState:
    """What a running app serves: its instance and the core services over it."""

    instance: Instance
    api_keys: ApiKeys
    backup_tasks: BackupTasks
    restores: RestoreJobs
    auth_required: bool
    cluster: ClusterMember | None = None  # this node's membership, when in a cluster
    replication: Replication | None = None  # its database groups, when in a cluster
    error_pages: list[ErrorPage] = field(default_factory=list)
    alerts: Alerts | None = None  # incidents, channels, deliveries (create_app makes it)

    def install(self, app: Starlette) -> None:
        """Leave this state on `app`, where `of` finds it."""
        app.state.rookdb = self

    @staticmethod
    def of(app: Starlette) -> AppState:
        """The state `create_app` left on `app`."""
        state = getattr(app.state, "rookdb", None)
        if not isinstance(state, AppState):
            raise RuntimeError("this app was not made by rookdb.server.create_app")
        return state

    def error_page(self, request: Request, error: RookError) -> Response | None:
        """The page answering `error` on this request, if a mounted part owns the request."""
        for page in self.error_pages:
            response = page(request, error)
            if response is not None:
                return response
        return None


def instance_of(request: HTTPConnection) -> Instance:
    """The Instance the app serves."""
    return AppState.of(request.app).instance


def backup_tasks_of(request: HTTPConnection) -> BackupTasks:
    """The app's one backup task service, over the scheduler the server runs."""
    return AppState.of(request.app).backup_tasks


def alerts_of(request: HTTPConnection) -> Alerts:
    """The app's alerts (incidents, channels, deliveries), shared by the API and the Studio."""
    alerts = AppState.of(request.app).alerts
    if alerts is None:
        raise RuntimeError("this app was made without alerts")
    return alerts


def restore_jobs_of(request: HTTPConnection) -> RestoreJobs:
    """The app's restore jobs (started over HTTP or from the Studio)."""
    return AppState.of(request.app).restores


def set_principal(scope: Scope, key: ApiKey) -> None:
    """Record the key a request was authenticated with (the server's gate does this)."""
    scope.setdefault("state", {})[_PRINCIPAL] = key


def principal(request: HTTPConnection) -> ApiKey | None:
    """The key a request was authenticated with (None when authentication is off)."""
    key = request.scope.get("state", {}).get(_PRINCIPAL)
    return key if isinstance(key, ApiKey) else None


def visible(request: HTTPConnection, database: str) -> bool:
    """Whether the caller may see a database (for server-wide lists)."""
    key = principal(request)
    return key is None or key.allows_database(database)
