"""Studio pages: browse a backup without restoring it, and put documents back.

Pick a backup location (or come from the restore page's timeline), pick a
point of a chain, page through the ids present there (by collection or
prefix), open a document as of that point beside the live document (a line
diff of the two), see its history, and put selected documents back into a
live database: the confirmation shows the dry run first. Every question is
one `rookdb.explorer` call; credentials stay on the server in the listing.
"""

from __future__ import annotations

import difflib
from itertools import islice
from typing import Any
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from rookdb.app_state import backup_tasks_of, instance_of, principal
from rookdb.destinations.base import ArchiveNeedsRetrieval
from rookdb.errors import EncryptionKeyError, InvalidInput, NotFound, RookError
from rookdb.explorer import BackupExplorer, FoundDocument, backup_retrieval, open_backup
from rookdb.explorer.restore_into import Selection, check_on_conflict, restore_selected
from rookdb.explorer.retrieval import check_may_start
from rookdb.explorer.task_source import destination_source
from rookdb.studio.restore import list_chains, listed_sources
from rookdb.studio.restore_jobs import ListedSource
from rookdb.studio.web import error_page, redirect, render

router = APIRouter()

PAGE_SIZE = 50


def _open(listed: ListedSource, point: str) -> BackupExplorer:
    folder, _, until = point.partition("|")
    if not folder:
        raise InvalidInput("Pick a point of a chain to browse.", field="point")
    return open_backup(
        folder, until or None, encryption_key=listed.encryption_key, credentials=listed.credentials
    )


def _needs_retrieval(request: Request, listed: ListedSource, point: str, message: str) -> Response:
    """The page saying a Glacier chain needs a retrieval, offering it, and where it stands."""
    folder, _, until = point.partition("|")
    try:
        status = backup_retrieval(folder, until or None, credentials=listed.credentials)
    except RookError as exc:
        return error_page(request, exc)
    context = {
        "nav": "browse",
        "listing": listed.id,
        "point": point,
        "message": message,
        "status": status,
        "query": urlencode({"listing": listed.id, "point": point}),
    }
    return render(request, "browse_retrieval.html", context, status_code=409)


def _needs_key(request: Request, listing: str, point: str, exc: EncryptionKeyError) -> Response:
    """The page asking for the key of an encrypted chain (posted, never put in a URL)."""
    context = {"nav": "browse", "listing": listing, "point": point, "message": exc.message}
    return render(request, "browse_key.html", context, status_code=exc.http_status)


def _listed(request: Request, listing: str) -> ListedSource:
    listed = listed_sources(request).get(listing)
    if listed is None:
        raise NotFound("That listing has expired: enter the backup location again.")
    return listed


@router.get("/browse", response_class=HTMLResponse)
def browse_page(
    request: Request,
    listing: str = "",
    point: str = "",
    collection: str = "",
    prefix: str = "",
    page: int = 1,
    source: str = "",
) -> Response:
    """A location's points (with a listing), or one point's documents (with a point);
    `source`, a local folder such as a backup task's destination, lists it at once."""
    context: dict[str, Any] = {"nav": "browse", "listing": listing, "point": point}
    if source and not listing and source.startswith("/"):
        # A local folder needs no credentials: nothing secret is remembered.
        return redirect(f"/browse?listing={listed_sources(request).remember(source, None).id}")
    if not listing:
        return render(request, "browse.html", context | {"folders": []})
    try:
        listed = _listed(request, listing)
        if not point:
            folders = list_chains(listed)
            return render(request, "browse.html", context | {"folders": folders})
        page = max(page, 1)
        with _open(listed, point) as explorer:
            listed_docs = explorer.documents(collection or None, prefix or None)
            start = (page - 1) * PAGE_SIZE
            documents = list(islice(listed_docs, start, start + PAGE_SIZE + 1))
            described = explorer.point.describe()
            database = explorer.point.database
            slow = explorer.slow_files()
            snapshots = explorer.snapshot_files()
    except EncryptionKeyError as exc:
        return _needs_key(request, listing, point, exc)
    except ArchiveNeedsRetrieval as exc:
        return _needs_retrieval(request, listed, point, exc.message)
    except RookError as exc:
        return error_page(request, exc)
    databases = _live_databases(request)
    context |= {
        "described": described,
        "documents": documents[:PAGE_SIZE],
        "more": len(documents) > PAGE_SIZE,
        "page": page,
        "collection": collection,
        "prefix": prefix,
        "slow": slow,
        "snapshots": snapshots,
        "databases": databases,
        "live": database if database in databases else (databases[0] if databases else ""),
        "query": urlencode({"listing": listing, "point": point}),
    }
    return render(request, "browse_point.html", context)


@router.post("/browse/source", response_class=HTMLResponse)
async def browse_source(request: Request) -> Response:
    """Remember a backup location (its credentials and key stay on the server) and show its
    points; with `listing`, give that listed location the key of its encrypted backups."""
    from rookdb.studio.restore import _config_fields

    form = await request.form()
    if form.get("listing") and form.get("retrieve"):
        return _retrieve(request, str(form.get("listing", "")), str(form.get("point", "")))
    if form.get("listing"):
        return _keyed(
            request,
            str(form.get("listing", "")),
            str(form.get("point", "")),
            str(form.get("encryption_key", "")),
        )
    source = str(form.get("source", "")).strip()
    credentials = {
        key: str(form.get(key, "")).strip()
        for key in ("user", "secret", "endpoint_url", "region")
        if str(form.get(key, "")).strip()
    }
    key = str(form.get("encryption_key", "")) or None
    try:
        if not source:
            raise InvalidInput("Enter a folder or a destination URL.", field="source")
        fields = _config_fields(source, credentials)
        listed = listed_sources(request).remember(source, fields, key)
    except RookError as exc:
        context = {"nav": "browse", "folders": [], "errors": {"source": exc.message}}
        return render(request, "browse.html", context | {"source": source}, status_code=400)
    return redirect(f"/browse?listing={listed.id}")


def _retrieve(request: Request, listing: str, point: str) -> Response:
    # Posted to the location's own route, as reading it is: the retrieval only makes the
    # listed backups readable; the destination's credentials stay on the server.
    folder, _, until = point.partition("|")
    try:
        key = principal(request)
        check_may_start(key.role if key is not None else None)
        listed = _listed(request, listing)
        backup_retrieval(folder, until or None, credentials=listed.credentials, start=True)
    except RookError as exc:
        return error_page(request, exc)
    return redirect(f"/browse?{urlencode({'listing': listing, 'point': point})}")


def _keyed(request: Request, listing: str, point: str, key: str) -> Response:
    # Posted to the location's own route (a reader's POST): the key never enters a URL.
    if not key:
        missing = EncryptionKeyError("Enter the encryption key.", field="encryption_key")
        return _needs_key(request, listing, point, missing)
    if listed_sources(request).set_key(listing, key) is None:
        return error_page(request, NotFound("That listing has expired: enter the location again."))
    query = {"listing": listing, "point": point} if point else {"listing": listing}
    return redirect(f"/browse?{urlencode(query)}")


@router.get("/databases/{name}/tasks/{task_id}/browse", response_class=HTMLResponse)
def browse_task(request: Request, name: str, task_id: str, destination: int = 0) -> Response:
    """List the backups of a task's destination (any kind): its settings, secrets and
    encryption key are taken from the stored task, on the server."""
    try:
        stored = backup_tasks_of(request).tasks.get(name, task_id)
        configs = stored.destination_dicts()
        if not 0 <= destination < len(configs):
            raise NotFound(
                f"task {task_id!r} has no destination {destination}", field="destination"
            )
        source, credentials = destination_source(configs[destination])
    except RookError as exc:
        return error_page(request, exc)
    listed = listed_sources(request).remember(source, credentials, stored.encryption_key)
    return redirect(f"/browse?listing={listed.id}")


@router.get("/browse/doc", response_class=HTMLResponse)
def browse_document(
    request: Request, listing: str, point: str, id: str, live: str = ""
) -> Response:
    """A document as of the point, its diff against the live document, its history."""
    try:
        listed = _listed(request, listing)
        with _open(listed, point) as explorer:
            found: FoundDocument | None = None
            missing: str | None = None
            try:
                found = explorer.get(id)
            except NotFound as exc:
                missing = exc.message
            history = explorer.history(id) if found is not None else []
            described = explorer.point.describe()
            database = explorer.point.database
    except EncryptionKeyError as exc:
        return _needs_key(request, listing, point, exc)
    except RookError as exc:
        return error_page(request, exc)
    instance = instance_of(request)
    databases = _live_databases(request)
    live = live or (database if database in databases else "")
    current = None
    if live in databases:
        document = instance.database(live).get(id)
        current = document.to_json() if document is not None else None
    backup_json = _pretty(found.document) if found and found.document else ""
    live_json = _pretty(current) if current else ""
    # The diff leaves out what every write changes (etag, change vector, time):
    # it shows what differs in content.
    diff = list(
        difflib.unified_diff(
            _pretty(_content(current)).splitlines() if current else [],
            _pretty(_content(found.document)).splitlines() if found and found.document else [],
            "live",
            "backup",
            lineterm="",
        )
    )
    context = {
        "nav": "browse",
        "listing": listing,
        "point": point,
        "described": described,
        "id": id,
        "found": found,
        "missing": missing,
        "backup_json": backup_json,
        "live_json": live_json,
        "diff": diff[2:],
        "history": history,
        "databases": databases,
        "live": live,
        "query": urlencode({"listing": listing, "point": point}),
    }
    return render(request, "browse_document.html", context)


@router.post("/browse/restore-selected", response_class=HTMLResponse)
async def browse_restore(request: Request) -> Response:
    """Put selected documents back: without `confirm`, the dry run to confirm; with it, the
    writes, then back to the point with what was done."""
    form = await request.form()
    listing = str(form.get("listing", ""))
    point = str(form.get("point", ""))
    ids = tuple(str(v) for v in form.getlist("id") if str(v))
    live = str(form.get("live", ""))
    confirmed = form.get("confirm") == "yes"
    try:
        listed = _listed(request, listing)
        on_conflict = check_on_conflict(str(form.get("on_conflict", "skip")))
        if not ids:
            raise InvalidInput("Select at least one document to restore.", field="id")
        database = instance_of(request).database(live)
        with _open(listed, point) as explorer:
            result = restore_selected(
                explorer, database, Selection(ids), on_conflict, dry_run=not confirmed
            )
    except RookError as exc:
        return error_page(request, exc)
    if confirmed:
        query = urlencode({"listing": listing, "point": point, "notice": result.summary()})
        return redirect(f"/browse?{query}")
    context = {
        "nav": "browse",
        "listing": listing,
        "point": point,
        "result": result,
        "ids": ids,
        "live": live,
        "on_conflict": on_conflict,
        "query": urlencode({"listing": listing, "point": point}),
    }
    return render(request, "browse_confirm.html", context)


def _live_databases(request: Request) -> list[str]:
    """The databases that live on this node (those a restore can write into)."""
    return [d.record.name for d in instance_of(request).list_databases() if d.stats is not None]


_PER_WRITE = ("@etag", "@change-vector", "@last-modified")


def _content(document: dict[str, Any]) -> dict[str, Any]:
    meta = {k: v for k, v in (document.get("@metadata") or {}).items() if k not in _PER_WRITE}
    return {**document, "@metadata": meta}


def _pretty(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
