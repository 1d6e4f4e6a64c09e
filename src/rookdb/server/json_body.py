"""How the HTTP API reads JSON request bodies: strict JSON, through one parser for every route.

The parser is `rookdb.storage.strict_json.parse_json` (why orjson alone is not
enough is said there). Every router uses `StrictJsonRoute`; a test walks the
app's routes to keep it so.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from rookdb.storage.strict_json import parse_json


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
