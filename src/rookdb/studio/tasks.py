"""Studio pages: a database's ongoing backup tasks, the task form, Backup Now and history."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from rookdb.app_state import backup_tasks_of, instance_of
from rookdb.destinations.probe import check_destination
from rookdb.errors import RookError
from rookdb.studio import cron_reading
from rookdb.studio.task_form import (
    KINDS,
    TaskForm,
    blank_form,
    destination_from_fields,
    error_slot,
    form_from_post,
    form_from_task,
    payload_from_post,
)
from rookdb.studio.web import error_page, redirect, render
from rookdb.tasks.model import destination_label
from rookdb.tasks.service import with_stored_secrets
from rookdb.tasks.upload import reveal

router = APIRouter()

ZONES = (
    "UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York",
    "America/Chicago", "America/Los_Angeles", "Asia/Tokyo", "Asia/Singapore", "Australia/Sydney",
)  # fmt: skip

# "destinations[1]: s3 destination: field 'bucket' is required" -> "field 'bucket' is required"
_WHERE = re.compile(r"^destinations\[\d+\]: (\w+ destination: )?")


@router.get("/databases/{name}/tasks", response_class=HTMLResponse)
def tasks_page(request: Request, name: str) -> Response:
    """One card per backup task: state, destinations, last and next backups, actions."""
    try:
        instance_of(request).database(name)
        rows = backup_tasks_of(request).overview(name)
    except RookError as exc:
        return error_page(request, exc)
    cards = [
        {
            "task": row.task,
            "status": row.status,
            "destinations": [destination_label(d) for d in row.task["destinations"]],
        }
        for row in rows
    ]
    return render(request, "tasks.html", {"db": name, "tab": "tasks", "cards": cards})


@router.get("/databases/{name}/tasks/{task_id}/status.json")
def task_status(request: Request, name: str, task_id: str) -> Response:
    """The status JSON the task card polls (Refresh, progress of a run)."""
    try:
        return JSONResponse(backup_tasks_of(request).status(name, task_id))
    except RookError as exc:
        return JSONResponse(exc.to_dict(), status_code=exc.http_status)


@router.get("/databases/{name}/tasks/new", response_class=HTMLResponse)
def new_task_page(request: Request, name: str) -> Response:
    """The form for a new backup task, filled with a sensible default schedule."""
    try:
        instance_of(request).database(name)
    except RookError as exc:
        return error_page(request, exc)
    return _form_page(request, name, None, blank_form(), {})


@router.post("/databases/{name}/tasks", response_class=HTMLResponse)
async def create_task(request: Request, name: str) -> Response:
    """Create the task from the form; errors come back next to their fields."""
    form = await request.form()
    payload, numbers = payload_from_post(form)
    try:
        task = backup_tasks_of(request).create(name, payload)
    except RookError as exc:
        errors = {error_slot(exc.field, numbers): _plain(exc.message, exc.field)}
        return _form_page(request, name, None, form_from_post(form), errors, status_code=400)
    return redirect(f"/databases/{name}/tasks#task-{task['id']}", notice=f"Created {task['name']}.")


@router.get("/databases/{name}/tasks/{task_id}/edit", response_class=HTMLResponse)
def edit_task_page(request: Request, name: str, task_id: str) -> Response:
    """The form of an existing task (secrets are never filled back in)."""
    try:
        task = backup_tasks_of(request).get(name, task_id)
    except RookError as exc:
        return error_page(request, exc)
    return _form_page(request, name, task_id, form_from_task(task), {})


@router.post("/databases/{name}/tasks/{task_id}/edit", response_class=HTMLResponse)
async def update_task(request: Request, name: str, task_id: str) -> Response:
    """Save the changed task; blank secret fields keep their stored values."""
    form = await request.form()
    service = backup_tasks_of(request)
    try:
        stored = {"destinations": service.tasks.get(name, task_id).destination_dicts()}
    except RookError as exc:
        return error_page(request, exc)
    payload, numbers = payload_from_post(form, stored)
    try:
        task = service.update(name, task_id, payload)
    except RookError as exc:
        errors = {error_slot(exc.field, numbers): _plain(exc.message, exc.field)}
        page = form_from_post(form)
        return _form_page(request, name, task_id, page, errors, status_code=400)
    return redirect(f"/databases/{name}/tasks#task-{task_id}", notice=f"Saved {task['name']}.")


@router.post("/databases/{name}/tasks/{task_id}/backup-now", response_class=HTMLResponse)
async def backup_now(request: Request, name: str, task_id: str) -> Response:
    """Start a full or incremental run at once; the card shows its progress."""
    form = await request.form()
    full = str(form.get("kind", "full")) != "incremental"
    try:
        backup_tasks_of(request).backup_now(name, task_id, full=full)
    except RookError as exc:
        return error_page(request, exc)
    kind = "full" if full else "incremental"
    return redirect(f"/databases/{name}/tasks#task-{task_id}", notice=f"Started a {kind} backup.")


@router.post("/databases/{name}/tasks/{task_id}/{action}", response_class=HTMLResponse)
def change_task(request: Request, name: str, task_id: str, action: str) -> Response:
    """Enable, disable or delete a task."""
    service = backup_tasks_of(request)
    try:
        title = service.get(name, task_id)["name"]
        if action == "enable":
            service.enable(name, task_id)
            notice = f"Enabled {title}."
        elif action == "disable":
            service.disable(name, task_id)
            notice = f"Disabled {title}: it will not run until enabled again."
        elif action == "delete":
            service.delete(name, task_id)
            notice = f"Deleted {title}. Its backups stay on the destinations."
        else:
            return Response(status_code=404)
    except RookError as exc:
        return error_page(request, exc)
    return redirect(f"/databases/{name}/tasks", notice=notice)


@router.get("/databases/{name}/tasks/{task_id}/history", response_class=HTMLResponse)
def history_page(request: Request, name: str, task_id: str) -> Response:
    """The task's last runs: when, kind, size, duration, result per destination."""
    service = backup_tasks_of(request)
    try:
        task = service.get(name, task_id)
        runs = service.runs(name, task_id)
        status = service.task_status(name, task_id)
    except RookError as exc:
        return error_page(request, exc)
    # Per-destination results are kept with the status, so only the latest run has them.
    last = status.last_run
    rows = [
        {
            "run": run,
            "destinations": status.destinations
            if last is not None and run.started_at == last.started_at
            else (),
        }
        for run in runs
    ]
    context = {"db": name, "tab": "tasks", "task": task, "runs": rows}
    return render(request, "task_history.html", context)


@router.post("/databases/{name}/tasks/test-destination")
async def test_destination(request: Request, name: str) -> Response:
    """Test connection: write, read back and delete a probe file on one destination."""
    form = await request.form()
    kind = str(form.get("kind", ""))
    task_id, index = str(form.get("task_id", "")), str(form.get("index", ""))
    try:
        if task_id and index.isdigit():
            # A blank secret of a stored destination is filled in by the core, and only
            # while the destination still points where that secret was meant to go.
            stored = backup_tasks_of(request).tasks.get(name, task_id).destinations
            previous = reveal(stored[int(index)]) if int(index) < len(stored) else {}
            config = destination_from_fields(kind, form, "", previous)
            config = with_stored_secrets(stored, int(index), config)
        else:
            config = destination_from_fields(kind, form, "")
    except RookError as exc:
        return JSONResponse({"ok": False, "message": _plain(exc.message, exc.field)})
    report = check_destination(config)
    if report.error is not None:
        return JSONResponse(
            {"ok": False, "message": _plain(report.error.message, report.error.field)}
        )
    return JSONResponse(
        {"ok": True, "message": f"{report.destination}: written, read back, deleted."}
    )


@router.get("/cron-preview")
def cron_preview(expr: str = "", timezone: str = "UTC") -> Response:
    """Plain words and the next three run times of a cron, as the form's fields are typed."""
    return JSONResponse(cron_reading.preview(expr, timezone, datetime.now(UTC)).to_json())


def _form_page(
    request: Request,
    name: str,
    task_id: str | None,
    form: TaskForm,
    errors: dict[str, str],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    now = datetime.now(UTC)
    zone = form.values.get("timezone") or "UTC"
    previews = {
        kind: cron_reading.preview(form.values.get(f"{kind}_backup_cron", ""), zone, now)
        for kind in ("full", "incremental")
        if form.values.get(f"{kind}_backup_cron")
    }
    base = f"/databases/{name}/tasks"
    context = {
        "db": name,
        "tab": "tasks",
        "task_id": task_id,
        "form": form,
        "errors": errors,
        "kinds": KINDS,
        "zones": ZONES,
        "nodes": sorted(backup_tasks_of(request).scheduler.live_nodes),
        "previews": previews,
        "placeholder": _generated_name_hint(form),
        "action": "/studio" + (f"{base}/{task_id}/edit" if task_id else base),
        "test_url": f"/studio{base}/test-destination",
    }
    return render(request, "task_form.html", context, status_code=status_code)


def _generated_name_hint(form: TaskForm) -> str:
    verb = "Snapshot" if form.values.get("type") == "snapshot" else "Backup"
    labels = [
        destination_label({"kind": d["kind"], **d["values"]})
        for d in form.destinations
        if d["kind"] in KINDS
    ]
    return f"{verb} to " + (", ".join(labels) if labels else "…")


def _plain(message: str, field: str | None = None) -> str:
    text = _WHERE.sub("", message)
    if field:
        # "full_backup_cron: '0 25 * * *' is not ..." sits next to that field already.
        text = text.removeprefix(f"{field}: ").removeprefix(f"{field.rsplit('.', 1)[-1]}: ")
    return text[:1].upper() + text[1:]
