"""URLs must be UTF-8 once percent-decoded (`x%FF` is no text).

The ASGI server decodes a path or query with replacement characters, so
`/docs/x%FF` and `/docs/x%FE` both reached the routes as the id `x\ufffd` and
wrote the same document. Ids, names and every other value in a URL are text:
the raw bytes are checked before routing, and a URL that is not UTF-8 is a
400 naming the query parameter (or `path`).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from rookdb.errors import InvalidInput


def url_problem(raw_path: bytes | None, query_string: bytes) -> InvalidInput | None:
    """What in a raw URL is not UTF-8 once percent-decoded, or None."""
    if raw_path is not None and not _is_utf8(unquote_to_bytes(raw_path)):
        return InvalidInput(
            "the URL path is not UTF-8 once percent-decoded (such as %FF): "
            "ids and names are text, sent as percent-encoded UTF-8",
            field="path",
        )
    for pair in query_string.split(b"&"):
        name, _, value = pair.partition(b"=")
        name_bytes = unquote_to_bytes(name.replace(b"+", b" "))
        if not _is_utf8(name_bytes):
            return InvalidInput("a query parameter name is not UTF-8", field="query")
        if not _is_utf8(unquote_to_bytes(value.replace(b"+", b" "))):
            field = name_bytes.decode()
            return InvalidInput(
                f"query parameter {field!r} is not UTF-8 once percent-decoded (such as %FF): "
                "send text as percent-encoded UTF-8",
                field=field,
            )
    return None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class RequireUtf8Url:
    """Answer 400 to a request whose path or query is not UTF-8, before any route sees it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = url_problem(scope.get("raw_path"), scope.get("query_string", b""))
            if problem is not None:
                body = orjson.dumps(problem.to_dict())
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ]
                await send({"type": "http.response.start", "status": 400, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
