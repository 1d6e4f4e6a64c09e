"""How the HTTP API reads JSON request bodies: strict JSON, through one parser for every route.

Python's json module takes `NaN`, `Infinity` and `-Infinity` (JSON has none:
a document `{"a": NaN}` was stored as null), lone surrogate escapes, and
`1e400` as infinity. orjson refuses all of them, but turns an integer past
64 bits into a float, silently changing it; so a body holding a long run of
digits is read again by the json module, for exact integers, once orjson has
vouched for the rest. (Storage then refuses integers it cannot keep.)

Every router uses `StrictJsonRoute`; a test walks the app's routes to keep it so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute

# Any integer orjson would turn into a float has at least 19 digits.
_LONG_NUMBER = re.compile(rb"\d{19,}")


def parse_json(body: bytes) -> Any:
    """A JSON text as Python values; `json.JSONDecodeError` when it is not strict JSON."""
    value = orjson.loads(body)
    if _LONG_NUMBER.search(body):
        return json.loads(body)
    return value


class StrictJsonRequest(Request):
    """A request whose `json()` is `parse_json`."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = parse_json(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """A route whose JSON body is read by `parse_json` (FastAPI catches its JSONDecodeError)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict
