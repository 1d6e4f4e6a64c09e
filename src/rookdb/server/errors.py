"""Error mapping: every failure becomes a JSON body `{"error", "message", "field"?}`.

RookErrors keep their own status; request validation errors become 400 naming
the field; unknown routes and methods keep their 404/405; anything unexpected
is a 500 whose body says nothing about the internals (uvicorn logs the
traceback on the server side). A part mounted on the app may answer errors on
its own paths instead (the Studio shows them as pages: `AppState.error_page`).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rookdb.app_state import AppState
from rookdb.errors import InvalidInput, PayloadTooLarge, RookError
from rookdb.server.render import json_response

_LOCATIONS = ("body", "query", "path", "header", "cookie")
_HTTP_CODES = {404: "not-found", 405: "method-not-allowed", 413: "payload-too-large"}


def install(app: FastAPI) -> None:
    """Register the handlers that turn exceptions into JSON error responses."""
    app.add_exception_handler(RookError, _rook_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


def error_response(error: RookError, headers: dict[str, str] | None = None) -> Response:
    """The JSON response for one RookError."""
    return json_response(error.to_dict(), error.http_status, headers)


async def _rook_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RookError)
    page = AppState.of(request.app).error_page(request, exc)
    return error_response(exc) if page is None else page


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return error_response(validation_error(exc.errors()))


def validation_error(errors: Any) -> InvalidInput:
    """One InvalidInput naming the first invalid field (the input itself is never echoed)."""
    first: dict[str, Any] = dict(errors[0]) if errors else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in _LOCATIONS]
    kind = first.get("type", "")
    is_body = tuple(first.get("loc", ()))[:1] == ("body",)
    if kind == "json_invalid":
        reason = (first.get("ctx") or {}).get("error", "malformed")
        return InvalidInput(f"request body is not valid JSON: {reason}", field="body")
    if is_body and not loc and kind == "missing":
        return InvalidInput("request body is required: send a JSON object", field="body")
    if is_body and not loc and isinstance(first.get("input"), str | bytes):
        return InvalidInput(
            "request body must be a JSON object sent with Content-Type: application/json",
            field="body",
        )
    field = ".".join(loc) or "body"
    message = str(first.get("msg", "invalid value"))
    more = len(errors) - 1 if errors else 0
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return InvalidInput(f"{field}: {message}{suffix}", field=field)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 413:
        limit = request.scope.get(MAX_BODY_SIZE_SCOPE_KEY)
        allowed = f"at most {limit} bytes" if isinstance(limit, int) else "a smaller body"
        return error_response(
            PayloadTooLarge(
                f"request body is too large: this endpoint accepts {allowed}", field="body"
            )
        )
    code = _HTTP_CODES.get(exc.status_code, "http-error")
    if exc.status_code == 404:
        message = f"no such endpoint: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    return json_response(
        {"error": code, "message": message}, exc.status_code, dict(exc.headers or {})
    )


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    return json_response(
        {"error": "internal-error", "message": "internal server error; see the server log"},
        500,
    )


def _too_large(scope: Scope) -> PayloadTooLarge:
    limit = scope.get(MAX_BODY_SIZE_SCOPE_KEY)
    allowed = f"at most {limit} bytes" if isinstance(limit, int) else "a smaller body"
    return PayloadTooLarge(
        f"request body is too large: this endpoint accepts {allowed}", field="body"
    )


class PlainBodyLimitAsJson:
    """Turn the plain-text 413 of the framework's body limit into our JSON error.

    FastAPI enforces `max_body_size` (per app, router or route) outside the
    exception handlers and answers with a text body of its own; rewriting it
    here, around the whole app, keeps that per-route setting as the one way to
    configure limits.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replaced = False

        async def send_json_413(message: Message) -> None:
            nonlocal replaced
            if message["type"] == "http.response.start" and message["status"] == 413:
                content_type = Headers(raw=message.get("headers", [])).get("content-type", "")
                if content_type.startswith("text/plain"):
                    replaced = True
                    body = orjson.dumps(_too_large(scope).to_dict())
                    headers = [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ]
                    await send({"type": "http.response.start", "status": 413, "headers": headers})
                    await send({"type": "http.response.body", "body": body})
                    return
            if not replaced:
                await send(message)

        await self.app(scope, receive, send_json_413)
