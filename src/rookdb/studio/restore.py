"""Studio pages: create a database from a backup (pick a source, a point in time, watch it land)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from rookdb.backup.chain import RunFolderInfo, find_run_folders, read_run_folder
from rookdb.errors import InvalidInput, NotFound, RookError
from rookdb.instance import check_database_name
from rookdb.studio.restore_jobs import RestoreJobs
from rookdb.studio.web import error_page, instance_of, redirect, render

router = APIRouter()


def restore_jobs(request: Request) -> RestoreJobs:
    """The Studio's restore jobs of this server (created on first use)."""
    jobs = getattr(request.app.state, "studio_restores", None)
    if jobs is None:
        # Imported when first used: the restore package loads the whole restore path.
        restore_database = importlib.import_module("rookdb.restore").restore_database
        jobs = RestoreJobs(instance_of(request), restore_database)
        request.app.state.studio_restores = jobs
    return jobs


@router.get("/restore", response_class=HTMLResponse)
def restore_page(request: Request, source: str = "") -> Response:
    """Step 1: where the backups are; step 2 (with a source): the chain as a timeline."""
    source = source.strip()
    folders: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    if source:
        try:
            folders = [_timeline(f) for f in list_chains(source)]
            if not folders:
                errors["source"] = f"No backup files were found in {source}."
        except RookError as exc:
            errors["source"] = exc.message
    context = {
        "source": source,
        "folders": folders,
        "errors": errors,
        "form": {"database": _suggested_name(request, folders)},
    }
    return render(request, "restore.html", context, status_code=400 if errors else 200)


@router.post("/restore", response_class=HTMLResponse)
async def start_restore(request: Request) -> Response:
    """Start the restore of the chosen point in time into a new database."""
    form = await request.form()
    source = str(form.get("source", "")).strip()
    point = str(form.get("point", ""))
    database = str(form.get("database", "")).strip()
    key = str(form.get("encryption_key", "")) or None
    folder, _, until = point.partition("|")
    errors: dict[str, str] = {}
    try:
        check_database_name(database)
        if instance_of(request).has_database(database):
            raise InvalidInput(f"a database named {database} already exists", field="database")
    except RookError as exc:
        errors["database"] = exc.message
    if not folder:
        errors["point"] = "Pick the point in time to restore."
    if errors:
        folders: list[dict[str, Any]] = []
        try:
            folders = [_timeline(f) for f in list_chains(source)]
        except RookError as exc:
            errors.setdefault("source", exc.message)
        context = {
            "source": source,
            "folders": folders,
            "errors": errors,
            "form": {"database": database, "point": point},
        }
        return render(request, "restore.html", context, status_code=400)
    job = restore_jobs(request).start(folder, database, until=until or None, encryption_key=key)
    return redirect(f"/restore/jobs/{job.id}")


@router.get("/restore/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str) -> Response:
    """The progress of a restore; the page moves to the new database when it is done."""
    job = restore_jobs(request).get(job_id)
    if job is None:
        return error_page(request, NotFound("this restore is no longer remembered by the server"))
    return render(request, "restore_job.html", {"job": job.to_json()})


@router.get("/restore/jobs/{job_id}.json")
def job_json(request: Request, job_id: str) -> Response:
    """What the progress page polls."""
    job = restore_jobs(request).get(job_id)
    if job is None:
        return JSONResponse({"state": "failed", "error": "unknown restore"}, status_code=404)
    body = job.to_json()
    body["next"] = f"/studio/databases/{job.database}?notice=Restored+into+{job.database}."
    return JSONResponse(body)


def list_chains(source: str) -> list[RunFolderInfo]:
    """The run folders at `source` (a run folder, or a folder of run folders), oldest first."""
    if "://" in source and not source.startswith("file://"):
        raise InvalidInput(
            "the Studio lists local folders only for now; restore from a URL with "
            "`rookdb restore URL --database NAME`",
            field="source",
        )
    root = Path(source.removeprefix("file://")).expanduser()
    return [read_run_folder(path) for path in find_run_folders(root)]


def _timeline(folder: RunFolderInfo) -> dict[str, Any]:
    return {
        "path": str(folder.path),
        "name": folder.name,
        "database": folder.database,
        "problems": list(folder.problems),
        "size_bytes": sum(f.size_bytes for f in folder.files),
        "files": [
            {
                "file_name": f.file_name,
                "kind": f.kind,
                "type": f.type,
                "created_at": f.created_at,
                "since_etag": f.since_etag,
                "last_etag": f.last_etag,
                "size_bytes": f.size_bytes,
                "documents": f.counts.get("documents", 0),
                "encrypted": f.encrypted,
                "value": f"{folder.path}|{f.file_name}",
            }
            for f in folder.files
        ],
    }


def _suggested_name(request: Request, folders: list[dict[str, Any]]) -> str:
    base = next((f["database"] for f in reversed(folders) if f["database"]), None)
    if not base:
        return ""
    instance = instance_of(request)
    for n in range(1, 100):
        name = f"{base}-restored" + (f"-{n}" if n > 1 else "")
        if not instance.has_database(name):
            return name
    return ""
