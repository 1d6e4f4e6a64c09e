"""Studio pages: create a database from a backup (pick a source, a point in time, watch it land).

A source is a local folder (a run folder, or a destination folder holding run
folders) or a destination URL such as ``s3://bucket/prefix``. Local chains
are listed from the files' headers (`rookdb.backup.chain`, as `backup ls`);
remote ones from the destination's file listing, by file name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from rookdb.app_state import instance_of, restore_jobs_of
from rookdb.backup.catalog import find_run_folders
from rookdb.backup.chain import read_run_folder
from rookdb.destinations import config_from_url
from rookdb.errors import InvalidInput, NotFound, RookError
from rookdb.instance import check_database_name
from rookdb.restore.remote import list_remote_run_folders
from rookdb.restore.source import is_destination_url
from rookdb.studio.restore_jobs import ListedSource, ListedSources, page_view
from rookdb.studio.state import StudioState
from rookdb.studio.web import error_page, redirect, render

router = APIRouter()

# What the generic credential inputs mean for each kind of URL.
CREDENTIALS: dict[str, dict[str, str]] = {
    "s3": {"user": "access_key_id", "secret": "secret_access_key"},
    "glacier": {"user": "access_key_id", "secret": "secret_access_key"},
    "azure": {"user": "account_name", "secret": "account_key"},
    "gcs": {"secret": "credentials_json"},
    "ftp": {"user": "user", "secret": "password"},
}


def listed_sources(request: Request) -> ListedSources:
    """The backup locations listed in this server's Studio."""
    return StudioState.of(request.app).listed_sources


@router.get("/restore", response_class=HTMLResponse)
def restore_page(request: Request, listing: str = "") -> Response:
    """Step 1: where the backups are; with a listed source, step 2: the chains as a timeline."""
    if not listing:
        return _page(request, None, [], {}, {})
    listed = listed_sources(request).get(listing)
    if listed is None:
        errors = {"source": "That listing has expired: enter the backup location again."}
        return _page(request, None, [], errors, {}, status_code=404)
    try:
        folders = list_chains(listed)
    except RookError as exc:
        return _page(request, listed, [], {"source": exc.message}, {}, status_code=400)
    form = {"database": _suggested_name(request, folders)}
    return _page(request, listed, folders, {}, form)


@router.post("/restore/source", response_class=HTMLResponse)
async def list_source(request: Request) -> Response:
    """List the backups at a location; the credentials stay on the server."""
    form = await request.form()
    source = str(form.get("source", "")).strip()
    credentials = {
        key: str(form.get(key, "")).strip()
        for key in ("user", "secret", "endpoint_url", "region")
        if str(form.get(key, "")).strip()
    }
    try:
        if not source:
            raise InvalidInput("Enter a folder or a destination URL.", field="source")
        listed = listed_sources(request).remember(source, _config_fields(source, credentials))
        folders = list_chains(listed)
        if not folders:
            raise NotFound(f"no backup files were found at {source}", field="source")
    except RookError as exc:
        values = {"source": source, **{k: v for k, v in credentials.items() if k != "secret"}}
        return _page(request, None, [], {"source": exc.message}, values, status_code=400)
    return redirect(f"/restore?listing={listed.id}")


@router.post("/restore", response_class=HTMLResponse)
async def start_restore(request: Request) -> Response:
    """Start the restore of the chosen point in time into a new database."""
    form = await request.form()
    listed = listed_sources(request).get(str(form.get("listing", "")))
    if listed is None:
        expired = {"source": "That listing has expired: enter the backup location again."}
        return _page(request, None, [], expired, {}, status_code=404)
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
        folders = list_chains(listed)
        context_form = {"database": database, "point": point}
        return _page(request, listed, folders, errors, context_form, status_code=400)
    job = restore_jobs_of(request).start(
        folder,
        database,
        until=until or None,
        encryption_key=key,
        source_options=listed.credentials,
    )
    return redirect(f"/restore/jobs/{job.id}")


@router.get("/restore/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str) -> Response:
    """The progress of a restore; the page moves to the new database when it is done."""
    try:
        status = restore_jobs_of(request).status(job_id)
    except NotFound:
        return error_page(request, NotFound("this restore is no longer remembered by the server"))
    return render(request, "restore_job.html", {"job": page_view(status), "nav": "restore"})


@router.get("/restore/jobs/{job_id}/progress.json")
def job_json(request: Request, job_id: str) -> Response:
    """What the progress page polls."""
    try:
        status = restore_jobs_of(request).status(job_id)
    except NotFound:
        return JSONResponse({"state": "failed", "error": "unknown restore"}, status_code=404)
    body = page_view(status)
    body["next"] = f"/studio/databases/{status.database}?notice=Restored+into+{status.database}."
    return JSONResponse(body)


def list_chains(listed: ListedSource) -> list[dict[str, Any]]:
    """The run folders at a source as timeline entries, oldest first."""
    if is_destination_url(listed.source):
        return _remote_chains(listed.source, listed.credentials)
    root = Path(listed.source.removeprefix("file://")).expanduser()
    return [_local_chain(read_run_folder(path)) for path in find_run_folders(root)]


def _local_chain(folder: Any) -> dict[str, Any]:
    return {
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
                "etags": (f.since_etag, f.last_etag),
                "size_bytes": f.size_bytes,
                "documents": f.counts.get("documents", 0),
                "encrypted": f.encrypted,
                "value": f"{folder.path}|{f.file_name}",
            }
            for f in folder.files
        ],
    }


def _remote_chains(url: str, credentials: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [
        {
            "name": folder.name,
            "database": folder.listed.database,
            "problems": [],
            "size_bytes": folder.listed.size_bytes,
            "files": [
                {
                    "file_name": f.name,
                    "kind": "full" if f.is_full else f.kind,
                    "type": "snapshot" if f.kind == "snapshot" else "backup",
                    "created_at": f.taken_at.strftime("%Y-%m-%dT%H:%M:%SZ") if f.taken_at else None,
                    "etags": None,
                    "size_bytes": f.size,
                    "documents": None,
                    "encrypted": None,
                    "value": f"{folder.url}|{f.name}",
                }
                for f in folder.files
            ],
        }
        for folder in list_remote_run_folders(url, credentials)
    ]


def _page(
    request: Request,
    listed: ListedSource | None,
    folders: list[dict[str, Any]],
    errors: dict[str, str],
    form: dict[str, Any],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "nav": "restore",
        "listed": listed,
        "source": form.get("source") or (listed.source if listed else ""),
        "folders": folders,
        "errors": errors,
        "form": form,
    }
    return render(request, "restore.html", context, status_code=status_code)


def _config_fields(source: str, given: dict[str, str]) -> dict[str, Any] | None:
    """The generic credential inputs as the config fields of the URL's destination kind."""
    if not is_destination_url(source) or not given:
        return None
    kind = config_from_url(source)[0]["kind"]
    names = {**CREDENTIALS.get(kind, {}), "endpoint_url": "endpoint_url", "region": "region"}
    if kind not in ("s3", "glacier"):
        names.pop("region")
    if kind == "ftp":
        names.pop("endpoint_url")
    unknown = sorted(set(given) - set(names))
    if unknown:
        labels = {"user": "user / key id", "secret": "secret", "endpoint_url": "endpoint URL"}
        what = ", ".join(labels.get(u, u) for u in unknown)
        raise InvalidInput(f"{kind} locations do not take: {what}", field="source")
    return {names[key]: value for key, value in given.items()}


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
