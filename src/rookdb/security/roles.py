"""Roles and what each may do; which action a request needs, from its method and route.

    role      read (documents, status,  Backup Now  restore     admin (databases, tasks,
              browse backups)                       selected    restore, keys, writes)
    reader    yes                       no          no          no
    operator  yes                       yes         yes         no   (Drill Now and dismissing
                                                                      an alert: Backup Now)
    admin     yes                       yes         yes         yes

A key may be limited to some databases: it then reaches routes of those
databases only, plus the few server-wide pages that list what it may see.
Anything not named below needs admin, so a new route is closed until
someone decides otherwise.
"""

from __future__ import annotations

from enum import StrEnum

ROLES = ("admin", "operator", "reader")


class Action(StrEnum):
    PUBLIC = "public"
    READ = "read"
    BACKUP_NOW = "backup-now"
    RESTORE_SELECTED = "restore-selected"
    ADMIN = "admin"


ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    "admin": frozenset({Action.READ, Action.BACKUP_NOW, Action.RESTORE_SELECTED, Action.ADMIN}),
    "operator": frozenset({Action.READ, Action.BACKUP_NOW, Action.RESTORE_SELECTED}),
    "reader": frozenset({Action.READ}),
}

# Reachable without a key: a liveness probe, the login page, assets, the redirect to the Studio.
_PUBLIC = {
    ("GET", "/health"),
    ("GET", "/"),
    ("GET", "/studio/login"),
    ("POST", "/studio/login"),
    ("POST", "/studio/logout"),
}
_PUBLIC_PREFIXES = ("/static/",)
# POST routes that only read (a body carries the question).
_READ_POSTS = ("/docs/get", "/queries", "/studio/browse/source")
# The backup explorer's questions: POSTs because the body carries the source's credentials.
_EXPLORE = "/backups/explore/"
# Alert incidents (API and Studio) an operator may dismiss.
_OPERATOR_PREFIXES = ("/alerts/incidents/", "/studio/alerts/incidents/")
# Server-wide pages a key limited to some databases may still use (they list what it may see).
SCOPED_SERVER_WIDE = frozenset(
    {"/databases", "/studio/", "/studio/cron-preview", "/openapi.json", "/docs"}
)
# Where a database name sits in a path: /databases/{db}/... and /studio/databases/{name}/...
_DATABASE_PREFIXES = ("/databases/", "/studio/databases/")


def required_action(method: str, path: str) -> Action:
    """The action a request needs, from its method and path.

    Decided on the path itself rather than the matched route, so that the
    gate runs before routing and before any body is read. Route ids with '/'
    (documents, indexes) never end a POST route, so the suffix rules hold.
    """
    method = "GET" if method.upper() == "HEAD" else method.upper()
    if (method, path) in _PUBLIC or path.startswith(_PUBLIC_PREFIXES):
        return Action.PUBLIC
    if path == "/admin" or path.startswith("/admin/"):
        return Action.ADMIN
    if method == "GET":
        return Action.READ
    if method == "POST" and (path.endswith(_READ_POSTS) or path.startswith(_EXPLORE)):
        return Action.READ
    if method == "POST" and path.endswith("/restore-selected"):
        # Documents put back as new writes: an operator's recovery job, not administration.
        return Action.RESTORE_SELECTED
    if method == "POST" and path.endswith(("/backup-now", "/drill-now")):
        # A drill reads a backup into scratch space: as harmless to the data as Backup Now.
        return Action.BACKUP_NOW
    if method == "POST" and path.startswith(_OPERATOR_PREFIXES) and path.endswith("/dismiss"):
        # Acknowledging an alert is the on-call operator's job; configuring alerts is admin's.
        return Action.BACKUP_NOW
    return Action.ADMIN


def allows(role: str, action: Action) -> bool:
    """Whether a role may perform an action."""
    return action is Action.PUBLIC or action in ROLE_ACTIONS.get(role, frozenset())


def database_of(path: str) -> str | None:
    """The database a request works on, or None for a server-wide request."""
    for prefix in _DATABASE_PREFIXES:
        if path.startswith(prefix):
            name = path[len(prefix) :].split("/", 1)[0]
            return name or None
    return None
