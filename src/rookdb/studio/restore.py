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

from rookdb.backup.catalog import find_run_folders
from rookdb.backup.chain import read_run_folder
from rookdb.backup.naming import is_backup_file_name, parse_run_folder_name
from rookdb.destinations import config_from_url, from_config
from rookdb.errors import InvalidInput, NotFound, RookError
from rookdb.instance import check_database_name
from rookdb.restore import DestinationSource, LocalFolderSource, restore_database
from rookdb.studio.restore_jobs import ListedSource, RestoreJobs
from rookdb.studio.web import error_page, instance_of, redirect, render

router = APIRouter()

# What the generic credential inputs mean for each kind of URL.
CREDENTIALS: dict[str, dict[str, str]] = {
    "s3": {"user": "access_key_id", "secret": "secret_access_key"},
    "glacier": {"user": "access_key_id", "secret": "secret_access_key"},
    "azure": {"user": "account_name", "secret": "account_key"},
    "gcs": {"secret": "credentials_json"},
    "ftp": {"user": "user", "secret": "password"},
}
_KINDS = {"full-backup": "full", "snapshot": "full", "incremental-backup": "incremental"}


def restore_jobs(request: Request) -> RestoreJobs:
    """The Studio's restore jobs of this server (created on first use)."""
    jobs = getattr(request.app.state, "studio_restores", None)
    if jobs is None:
        jobs = RestoreJobs(instance_of(request), restore_database)
        request.app.state.studio_restores = jobs
    return jobs


@router.get("/restore", response_class=HTMLResponse)
def restore_page(request: Request, listing: str = "") -> Response:
    """Step 1: where the backups are; with a listed source, step 2: the chains as a timeline."""
    if not listing:
        return _page(request, None, [], {}, {})
    listed = restore_jobs(request).source(listing)
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
        listed = restore_jobs(request).remember_source(source, _config_fields(source, credentials))
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
    jobs = restore_jobs(request)
    listed = jobs.source(str(form.get("listing", "")))
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
    source: Any = (
        DestinationSource(folder, listed.credentials)
        if _is_url(folder)
        else LocalFolderSource(Path(folder))
    )
    job = jobs.start(source, database, until=until or None, encryption_key=key, description=folder)
    return redirect(f"/restore/jobs/{job.id}")


@router.get("/restore/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str) -> Response:
    """The progress of a restore; the page moves to the new database when it is done."""
    job = restore_jobs(request).get(job_id)
    if job is None:
        return error_page(request, NotFound("this restore is no longer remembered by the server"))
    return render(request, "restore_job.html", {"job": job.to_json(), "nav": "restore"})


@router.get("/restore/jobs/{job_id}/progress.json")
def job_json(request: Request, job_id: str) -> Response:
    """What the progress page polls."""
    job = restore_jobs(request).get(job_id)
    if job is None:
        return JSONResponse({"state": "failed", "error": "unknown restore"}, status_code=404)
    body = job.to_json()
    body["next"] = f"/studio/databases/{job.database}?notice=Restored+into+{job.database}."
    return JSONResponse(body)


def list_chains(listed: ListedSource) -> list[dict[str, Any]]:
    """The run folders at a source as timeline entries, oldest first."""
    if _is_url(listed.source):
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
    config, leaf = config_from_url(url, credentials)
    destination = from_config(config)
    try:
        listed = destination.list(f"{leaf}/" if leaf else "")
    finally:
        destination.close()
    base = url.rstrip("/")
    folders: dict[str, dict[str, Any]] = {}
    for remote in listed:
        parts = remote.path.split("/")
        rest = parts[1:] if leaf else parts
        if not rest or len(rest) > 2 or not is_backup_file_name(rest[-1]):
            continue
        name = rest[0] if len(rest) == 2 else leaf
        folder_url = f"{base}/{rest[0]}" if len(rest) == 2 else base
        entry = folders.setdefault(
            name,
            {"name": name, "database": _database_of(name), "problems": [], "size_bytes": 0,
             "files": []},
        )  # fmt: skip
        stamp, _, what = rest[-1].partition(".rookdb-")
        entry["size_bytes"] += remote.size
        entry["files"].append(
            {
                "file_name": rest[-1],
                "kind": _KINDS.get(what, what),
                "type": "snapshot" if what == "snapshot" else "backup",
                "created_at": _stamp_time(stamp),
                "etags": None,
                "size_bytes": remote.size,
                "documents": None,
                "encrypted": None,
                "value": f"{folder_url}|{rest[-1]}",
            }
        )
    for entry in folders.values():
        entry["files"].sort(key=lambda f: f["file_name"])
    return [folders[name] for name in sorted(folders)]


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
    if not _is_url(source) or not given:
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


def _is_url(source: str) -> bool:
    return "://" in source and not source.startswith("file://")


def _database_of(folder: str) -> str | None:
    parsed = parse_run_folder_name(folder)
    return parsed[1] if parsed else None


def _stamp_time(stamp: str) -> str | None:
    parts = stamp.split("-")
    if len(parts) < 6:
        return None
    y, mo, d, h, mi, s = parts[:6]
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}Z"


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
