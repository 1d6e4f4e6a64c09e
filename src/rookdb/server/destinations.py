"""Destination set-up routes: test connection, and the older periodic-backup setup.

`POST /destinations/test` checks one destination config (as in a task): 200
`{"ok": true, "destination": name}`, or the failure's status (400 for an
invalid config, 502 for a destination that refused or did not answer) with
`{"ok": false, "step": "write" | "read back" | "delete" | "config", "error": ...}`.
The config's secrets serve the probe only: never stored, never echoed.

`PUT /databases/{db}/tasks/periodic-backup` turns seed 002's setup (an S3
bucket or a Glacier vault, an interval, AWS keys) into the database's one
periodic backup task, created or replaced (see `rookdb.tasks.periodic`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from rookdb.destinations import check_destination
from rookdb.server.dependencies import TasksDep
from rookdb.server.json_body import StrictJsonRoute
from rookdb.server.render import json_response
from rookdb.tasks.periodic import put_periodic_backup, split_request

router = APIRouter(tags=["destinations"], route_class=StrictJsonRoute)

JsonObject = Annotated[dict[str, Any], Body()]


@router.post("/destinations/test")
def test_destination(config: JsonObject) -> Response:
    """Write, read back and delete a probe file; say which step failed and why."""
    report = check_destination(config)
    return json_response(report.to_json(), report.http_status)


@router.put("/databases/{db}/tasks/periodic-backup")
def periodic_backup(db: str, body: JsonObject, tasks: TasksDep) -> Response:
    """Create or replace the database's periodic backup task from the older setup."""
    setup, aws = split_request(body)
    return json_response(put_periodic_backup(tasks, db, setup, aws))
