"""`GET /health`: a liveness probe for scripts, tests and load balancers."""

from __future__ import annotations

from fastapi import APIRouter, Response

from rookdb.server.json_body import StrictJsonRoute
from rookdb.server.render import json_response

router = APIRouter(tags=["health"], route_class=StrictJsonRoute)


@router.get("/health")
async def health() -> Response:
    """Answer `{"status": "ok"}` while the server runs."""
    return json_response({"status": "ok"})
