"""Studio pages: the list of databases, create and delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from rookdb.app_state import backup_tasks_of, instance_of, visible
from rookdb.errors import RookError
from rookdb.studio.web import error_page, redirect, render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def databases_page(request: Request) -> HTMLResponse:
    """Every database with its document count, size and last backup."""
    instance = instance_of(request)
    rows = [
        {**info.to_json(), "last_backup": last_backup(request, info.record.name)}
        for info in instance.list_databases()
        if visible(request, info.record.name)
    ]
    return render(request, "databases.html", {"databases": rows, "errors": {}, "form": {}})


@router.post("/databases", response_class=HTMLResponse)
async def create_database(request: Request) -> Response:
    """Create an empty database from the form, then open it."""
    form = await request.form()
    name = str(form.get("name", "")).strip()
    try:
        instance_of(request).create_database(name)
    except RookError as exc:
        instance = instance_of(request)
        rows = [
            {**info.to_json(), "last_backup": last_backup(request, info.record.name)}
            for info in instance.list_databases()
            if visible(request, info.record.name)
        ]
        context = {"databases": rows, "errors": {"name": exc.message}, "form": {"name": name}}
        return render(request, "databases.html", context, status_code=exc.http_status)
    return redirect(f"/databases/{name}", notice=f"Database {name} created.")


@router.get("/databases/{name}/delete", response_class=HTMLResponse)
def confirm_delete(request: Request, name: str) -> Response:
    """Ask before deleting: the database's files go away for good."""
    try:
        stats = instance_of(request).database(name).stats()
    except RookError as exc:
        return error_page(request, exc)
    return render(request, "database_delete.html", {"db": name, "stats": stats, "errors": {}})


@router.post("/databases/{name}/delete", response_class=HTMLResponse)
async def delete_database(request: Request, name: str) -> Response:
    """Delete once the user typed the name again."""
    form = await request.form()
    instance = instance_of(request)
    try:
        stats = instance.database(name).stats()
    except RookError as exc:
        return error_page(request, exc)
    if str(form.get("confirm", "")).strip() != name:
        errors = {"confirm": f"Type {name} to confirm."}
        context = {"db": name, "stats": stats, "errors": errors}
        return render(request, "database_delete.html", context, status_code=400)
    try:
        instance.delete_database(name)
    except RookError as exc:
        return error_page(request, exc)
    return redirect("/", notice=f"Database {name} deleted.")


def last_backup(request: Request, database: str) -> dict[str, Any] | None:
    """The newest successful backup of any of the database's tasks: {'at', 'kind'}."""
    best: dict[str, Any] | None = None
    try:
        tasks = backup_tasks_of(request).list(database)
    except RookError:
        return None
    for task in tasks:
        status = task["status"]
        for kind, key in (("full", "last_full_backup"), ("incremental", "last_incremental_backup")):
            at = status.get(key)
            if at and (best is None or at > best["at"]):
                best = {"at": at, "kind": kind}
    return best
