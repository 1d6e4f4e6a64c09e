"""`/backups/explore/...` and `/databases/{db}/restore-selected`: the backup explorer over HTTP.

Thin: parse, call one `rookdb.explorer` function, render. The questions
(get, history, documents, diff, attachment) are POSTs because their body
carries the source's credentials and key, which never belong in a URL or a
log; they only read, so a reader may ask them. Putting documents back into
a live database is a write: operators and admins.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from rookdb.app_state import principal
from rookdb.errors import InvalidInput
from rookdb.explorer import BackupDiff, BackupExplorer, backup_retrieval, open_backup
from rookdb.explorer.restore_into import Selection, restore_selected
from rookdb.explorer.retrieval import check_may_start
from rookdb.restore.jobs import is_absolute_source
from rookdb.server.dependencies import InstanceDep
from rookdb.server.json_body import StrictJsonRoute
from rookdb.server.render import json_response

router = APIRouter(tags=["backup explorer"], route_class=StrictJsonRoute)

MAX_PAGE = 1000


class BackupPoint(BaseModel):
    """Which backup and which point of its chain."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(
        max_length=4096,
        description="A run folder (or folder of run folders, or one backup file) on the "
        "server's machine, as an absolute path, or a destination URL (s3://bucket/prefix ...).",
    )
    until: str | None = Field(
        default=None,
        max_length=4096,
        description="The point: a backup file (name), or the last file taken at or before "
        "this ISO 8601 time; the newest file when absent.",
    )
    encryption_key: str | None = Field(default=None, max_length=4096, description="Write-only.")
    source_options: dict[str, str] | None = Field(
        default=None,
        description="Settings and credentials for a destination URL. Write-only.",
    )

    def open(self) -> BackupExplorer:
        """The explorer at the point `until`."""
        return self.open_at(self.until)

    def open_at(self, until: str | None) -> BackupExplorer:
        """The explorer at point `until` (None: the newest file) of this source."""
        if not is_absolute_source(self.source):
            raise InvalidInput(
                f"source {self.source!r} must be an absolute path on the server's machine or "
                "a destination URL",
                field="source",
            )
        return open_backup(
            self.source,
            until,
            encryption_key=self.encryption_key,
            credentials=self.source_options or None,
        )


class DocumentQuestion(BackupPoint):
    """Body of `POST /backups/explore/get` and `/history`."""

    id: str = Field(max_length=512, description="The document id.")


class AttachmentQuestion(DocumentQuestion):
    """Body of `POST /backups/explore/attachment`."""

    name: str = Field(max_length=256, description="The attachment's name.")


class DocumentsQuestion(BackupPoint):
    """Body of `POST /backups/explore/documents`: one page of the ids present at the point."""

    collection: str | None = Field(default=None, max_length=128)
    prefix: str | None = Field(default=None, max_length=512)
    start: int = Field(default=0, ge=0)
    page_size: int = Field(default=100, ge=1, le=MAX_PAGE)


class DiffQuestion(BackupPoint):
    """Body of `POST /backups/explore/diff`: `until` is the earlier point, `to` the later."""

    to: str | None = Field(default=None, max_length=4096, description="The later point.")
    collection: str | None = Field(default=None, max_length=128)
    limit: int = Field(default=1000, ge=1, le=100_000, description="Rows returned at most.")


class RetrievalQuestion(BackupPoint):
    """Body of `POST /backups/explore/retrieval`: a destination URL in cold storage."""

    start: bool = Field(
        default=False,
        description="Request the retrieval of every file not yet retrieved (jobs already "
        "requested are reused); false: only say where it stands.",
    )


class RestoreSelected(BackupPoint):
    """Body of `POST /databases/{db}/restore-selected`."""

    ids: list[str] = Field(default_factory=list, max_length=10_000)
    collection: str | None = Field(default=None, max_length=128)
    prefix: str | None = Field(default=None, max_length=512)
    on_conflict: Literal["skip", "overwrite", "overwrite-if-older"] = "skip"
    dry_run: bool = False


@router.post("/backups/explore/get")
def explore_get(body: DocumentQuestion) -> Response:
    """A document as of the point (with `@metadata`), or where it was deleted; 404 when the
    backup does not hold it at that point."""
    with body.open() as explorer:
        return json_response(explorer.get(body.id).to_json() | _point(explorer))


@router.post("/backups/explore/history")
def explore_history(body: DocumentQuestion) -> Response:
    """Every version of a document up to the point, newest first."""
    with body.open() as explorer:
        versions = [v.to_json() for v in explorer.history(body.id)]
        return json_response({"versions": versions} | _point(explorer))


@router.post("/backups/explore/documents")
def explore_documents(body: DocumentsQuestion) -> Response:
    """One page of the documents present at the point, in id order."""
    with body.open() as explorer:
        listed = explorer.documents(body.collection, body.prefix)
        page = list(islice(listed, body.start, body.start + body.page_size + 1))
        more = len(page) > body.page_size
        documents = [d.to_json() for d in page[: body.page_size]]
        return json_response({"documents": documents, "more": more} | _point(explorer))


@router.post("/backups/explore/diff")
def explore_diff(body: DiffQuestion) -> Response:
    """Ids added, changed and deleted from the point `until` to the point `to`."""
    with body.open() as before, body.open_at(body.to) as after:
        compared = BackupDiff(before, after, body.collection)
        rows = [row.to_json() for row in islice(compared.rows(), body.limit)]
        complete = len(rows) < body.limit
        if not complete:
            for _ in compared.rows():
                pass  # count the rest for the statistics
        statistics = compared.statistics.to_json()
    return json_response({"rows": rows, "complete": complete, "statistics": statistics})


@router.post("/backups/explore/attachment")
def explore_attachment(body: AttachmentQuestion) -> Response:
    """An attachment's content as of the point, streamed (checked against its hash)."""
    explorer = body.open()
    try:
        found = explorer.attachment(body.id, body.name)
    except BaseException:
        explorer.close()
        raise

    def stream() -> Iterator[bytes]:
        try:
            yield from found.chunks
        finally:
            explorer.close()

    return StreamingResponse(
        stream(),
        media_type=found.content_type,
        headers={
            "Content-Length": str(found.info.size),
            "X-Rookdb-Attachment-Hash": found.info.hash,
            "X-Rookdb-Attachment-Etag": str(found.info.etag),
            "X-Rookdb-Backup-File": quote(found.info.file_name, safe=""),
        },
    )


@router.post("/backups/explore/retrieval")
def explore_retrieval(body: RetrievalQuestion, request: Request) -> Response:
    """Glacier: request (`start`, operators and admins) or follow (readers too) the retrieval
    of the run folder at the point, file by file (not-requested, in-progress, ready,
    downloaded, failed); once `ready`, the other questions read the retrieved copy."""
    if body.start:
        key = principal(request)
        check_may_start(key.role if key is not None else None)
    found = backup_retrieval(
        body.source, body.until, credentials=body.source_options or None, start=body.start
    )
    return json_response(found.to_json())


@router.post("/databases/{db}/restore-selected")
def put_back(db: str, body: RestoreSelected, instance: InstanceDep) -> Response:
    """Put selected documents of a backup back into live database `db` as new writes (or,
    with `dry_run`, say what would change)."""
    selection = Selection(tuple(body.ids), body.collection, body.prefix)
    live = instance.database(db)
    with body.open() as explorer:
        result = restore_selected(explorer, live, selection, body.on_conflict, dry_run=body.dry_run)
    return json_response(result.to_json())


def _point(explorer: BackupExplorer) -> dict[str, Any]:
    return {
        "point": explorer.point.describe(),
        "slow_files": explorer.slow_files(),
        "snapshot_files": explorer.snapshot_files(),
    }
