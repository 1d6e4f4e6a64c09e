"""The gate in front of every route: who is asking (API key or Studio session) and may they.

An ASGI middleware, so that a request is refused before it is routed and
before its body is read. It asks `rookdb.security.roles` which action the
method and path need, and checks the caller's key:
401 without a valid key, 403 with the wrong role or outside the key's
databases. The API answers in the usual JSON error format; a part mounted on
the app may answer for its own paths instead (the Studio sends a browser to
its login page, see `rookdb.app_state.ErrorPage`).

With authentication off (`rookdb serve --open`, loopback only) every route is
open, but requests must name a loopback host (so a web page cannot reach the
server through DNS rebinding) and writes from another origin are refused.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from rookdb.app_state import AppState, set_principal
from rookdb.errors import Forbidden, RookError, Unauthorized
from rookdb.security.keys import ApiKey
from rookdb.security.roles import (
    SCOPED_SERVER_WIDE,
    Action,
    allows,
    database_of,
    required_action,
)
from rookdb.security.session import SESSION_COOKIE, session_key_id
from rookdb.server.render import json_response
from rookdb.studio_paths import is_studio_path

_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def is_loopback(host: str) -> bool:
    """Whether a host name or address only reaches this machine."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AuthGate:
    """Refuse requests their caller may not make (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = AppState.of(scope["app"])
        path: str = scope["path"]
        try:
            key = self._check(state, scope, path)
        except RookError as exc:
            await self._deny(state, scope, exc)(scope, receive, send)
            return
        if key is not None:
            set_principal(scope, key)
        await self.app(scope, receive, send)

    def _check(self, state: AppState, scope: Scope, path: str) -> ApiKey | None:
        method = scope["method"]
        action = required_action(method, path)
        headers = Headers(scope=scope)
        if not state.auth_required:
            _check_open_request(headers, method, path, action)
            return None
        if action is Action.PUBLIC:
            return None
        key = _authenticate(state, headers, method, path)
        if not allows(key.role, action):
            raise Forbidden(
                f"this API key has the role {key.role!r}; {method} {path} needs "
                f"{'an admin' if action is Action.ADMIN else 'an operator or admin'} key"
            )
        if key.databases is not None:
            database = database_of(path)
            if database is None and path not in SCOPED_SERVER_WIDE:
                raise Forbidden(
                    f"this API key is limited to the databases {', '.join(key.databases)}; "
                    f"{method} {path} concerns the whole server"
                )
            if database is not None and not key.allows_database(database):
                raise Forbidden(f"this API key does not give access to database {database!r}")
        return key

    def _deny(self, state: AppState, scope: Scope, error: RookError) -> Response:
        page = state.error_page(Request(scope), error)
        if page is not None:
            return page
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, Unauthorized) else None
        return json_response(error.to_dict(), error.http_status, headers)


def _authenticate(state: AppState, headers: Headers, method: str, path: str) -> ApiKey:
    keys = state.api_keys
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("send the API key as `Authorization: Bearer <key>`")
        key = keys.authenticate(token.strip())
        if key is None:
            raise Unauthorized("the API key is not valid or was revoked")
        return key
    # Browsers send the Studio's session cookie. The API honours it for reads only
    # (so /docs and JSON links work after logging in): a cross-site form can then
    # never write through the API on a logged-in user's behalf.
    if is_studio_path(path) or method in _SAFE_METHODS:
        cookie = _cookie(headers, SESSION_COOKIE)
        if cookie:
            key_id = session_key_id(state.instance.secrets.derive("studio-session"), cookie)
            key = keys.active(key_id) if key_id else None
            if key is not None:
                return key
    if is_studio_path(path):
        raise Unauthorized("log in to the Studio with an API key")
    raise Unauthorized(
        "this server requires an API key: send `Authorization: Bearer <key>` "
        "(rookdb --api-key or $ROOKDB_API_KEY)"
    )


def _cookie(headers: Headers, name: str) -> str | None:
    for part in headers.get("cookie", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value.strip('"')
    return None


def _check_open_request(headers: Headers, method: str, path: str, action: Action) -> None:
    if action is Action.PUBLIC and path == "/health":
        return
    host = urlsplit("//" + headers.get("host", "")).hostname or ""
    if not is_loopback(host):
        raise Forbidden(
            f"this server runs without authentication and answers loopback names only, "
            f"not {host!r}: start it with authentication to serve other hosts"
        )
    origin = headers.get("origin")
    if method not in _SAFE_METHODS and origin and origin != "null":
        if urlsplit(origin).netloc != headers.get("host"):
            raise Forbidden(f"a write from another web site ({origin}) was refused")
    elif method not in _SAFE_METHODS and origin == "null":
        raise Forbidden("a write from an opaque origin was refused")


def document_security(app: FastAPI) -> None:
    """Declare the bearer key in the OpenAPI schema: per operation, required or not."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes["apiKey"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key (`rookdb keys create`), unless the server runs --open.",
        }
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if required_action(method, path) is Action.PUBLIC:
                    operation["security"] = []
                    continue
                operation["security"] = [{"apiKey": []}]
                responses = operation.setdefault("responses", {})
                responses.setdefault("401", {"description": "No valid API key"})
                responses.setdefault(
                    "403", {"description": "The key's role or databases do not allow this"}
                )
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
