"""How deeply a JSON request body may nest (the framework limits size, not depth).

A body such as `[[[[...]]]]` a hundred thousand levels deep is a few hundred
kilobytes, well under the size limit, yet it exhausts the parser's recursion
and would end as a 500. The body is checked before the app parses it: string
contents are dropped, then matching bracket pairs are peeled off one level
per pass; anything left after MAX_JSON_DEPTH passes nests too deeply.
"""

from __future__ import annotations

import re

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rookdb.errors import InvalidInput
from rookdb.studio_paths import STUDIO_PREFIX

MAX_JSON_DEPTH = 64

_ESCAPED = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_PAIR = re.compile(rb"\[\]|\{\}")
_BODY_METHODS = ("POST", "PUT", "PATCH")
_IMPORT = re.compile(r"^/databases/[^/]+/(import|bulk-insert)$")


def nests_deeper_than(body: bytes, limit: int) -> bool:
    """Whether a JSON text nests arrays and objects more than `limit` levels deep."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False  # cannot be deeper than it has brackets
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", _ESCAPED.sub(b"", body)))
    for peeled_levels in range(limit):
        if not brackets:
            return False
        peeled = _PAIR.sub(b"", brackets)
        if len(peeled) == len(brackets):
            # Unbalanced (invalid JSON), but a parser still descends into a long run of
            # openings before it notices: such a run must be refused too.
            run = limit - peeled_levels + 1
            return re.search(rb"[\[{]{%d,}" % run, brackets) is not None
        brackets = peeled
    return bool(brackets)


def _exempt(method: str, path: str) -> bool:
    # Attachment uploads and imported files are raw bytes, streamed; a bulk insert is JSON
    # lines, each checked by the core; Studio forms are not JSON. An import is exactly
    # POST /databases/{db}/import: a document id may end in "/import".
    if method == "POST" and _IMPORT.match(path):
        return True
    return path.endswith("/attachments") or path.startswith(STUDIO_PREFIX + "/")


class JsonDepthLimit:
    """Answer 400 to JSON bodies nested more than `max_depth` levels, before parsing."""

    def __init__(
        self, app: ASGIApp, max_depth: int = MAX_JSON_DEPTH, max_buffer: int = 32 << 20
    ) -> None:
        self.app = app
        self.max_depth = max_depth
        self.max_buffer = max_buffer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in _BODY_METHODS
            or _exempt(scope["method"], scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        complete = False
        while size <= self.max_buffer:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                complete = True
                break
        if complete:
            body = b"".join(m.get("body", b"") for m in messages)
            # A large body takes a moment to scan: not on the event loop.
            if await run_in_threadpool(nests_deeper_than, body, self.max_depth):
                await _refuse(send, self.max_depth)
                return
        # Too big to check here: the app's size limit answers 413 as it reads on.
        await self.app(scope, _replay(messages, receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


async def _refuse(send: Send, limit: int) -> None:
    error = InvalidInput(
        f"request body nests arrays or objects more than {limit} levels deep", field="body"
    )
    body = orjson.dumps(error.to_dict())
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})
