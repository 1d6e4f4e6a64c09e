"""`/databases/{db}/tasks/backups`: backup task definitions, status, Backup Now, history.

Thin: parse, call one `BackupTasks` method, render. Secrets never leave:
the service only returns masked definitions.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from rookdb.server.dependencies import TasksDep
from rookdb.server.json_body import StrictJsonRoute
from rookdb.server.render import json_response

router = APIRouter(tags=["backup tasks"], route_class=StrictJsonRoute)

PREFIX = "/databases/{db}/tasks/backups"
TaskBody = Annotated[dict[str, Any], Body()]


@router.get(PREFIX)
def list_tasks(db: str, tasks: TasksDep) -> Response:
    """Every backup task of the database, each with its status."""
    return json_response({"tasks": tasks.list(db)})


@router.post(PREFIX, status_code=201)
def create_task(db: str, body: TaskBody, tasks: TasksDep) -> Response:
    """Create a task; 400 naming the field when the definition is invalid."""
    return json_response(tasks.create(db, body), 201)


@router.get(PREFIX + "/{task_id}")
def get_task(db: str, task_id: str, tasks: TasksDep) -> Response:
    """One task's definition (secrets masked)."""
    return json_response(tasks.get(db, task_id))


@router.put(PREFIX + "/{task_id}")
def update_task(db: str, task_id: str, body: TaskBody, tasks: TasksDep) -> Response:
    """Replace a task's definition; masked secrets sent back keep their stored value."""
    return json_response(tasks.update(db, task_id, body))


@router.delete(PREFIX + "/{task_id}")
def delete_task(db: str, task_id: str, tasks: TasksDep) -> Response:
    """Delete a task and its status (backups already uploaded stay)."""
    tasks.delete(db, task_id)
    return json_response({"deleted": True, "id": task_id})


@router.post(PREFIX + "/{task_id}/backup-now", status_code=202)
def backup_now(
    db: str, task_id: str, tasks: TasksDep, full: Annotated[bool, Query()] = True
) -> Response:
    """Start a run at once (the schedule is left alone); a run already going is returned."""
    return json_response(tasks.backup_now(db, task_id, full=full), 202)


@router.post(PREFIX + "/{task_id}/drill-now", status_code=202)
def drill_now(
    db: str, task_id: str, tasks: TasksDep, wait: Annotated[bool, Query()] = False
) -> Response:
    """Queue a restore drill of the newest chain; `wait=true` answers 200 with its result."""
    result = tasks.drill_now(db, task_id, wait=wait)
    return json_response(result, 200 if wait else 202)


@router.get(PREFIX + "/{task_id}/status")
def task_status(db: str, task_id: str, tasks: TasksDep) -> Response:
    """The task's status: last backups, next estimated backup, running, last run, destinations."""
    return json_response(tasks.status(db, task_id))


@router.post(PREFIX + "/{task_id}/enable")
def enable_task(db: str, task_id: str, tasks: TasksDep) -> Response:
    """Schedule the task again (from now on)."""
    return json_response(tasks.enable(db, task_id))


@router.post(PREFIX + "/{task_id}/disable")
def disable_task(db: str, task_id: str, tasks: TasksDep) -> Response:
    """Stop scheduling the task."""
    return json_response(tasks.disable(db, task_id))


@router.get(PREFIX + "/{task_id}/history")
def task_history(db: str, task_id: str, tasks: TasksDep) -> Response:
    """The last runs of the task, newest first."""
    return json_response({"runs": tasks.history(db, task_id)})
