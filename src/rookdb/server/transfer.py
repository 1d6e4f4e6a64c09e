"""Export, import and one-off backups over HTTP (the CLI's `export`, `import`, `backup run`).

- `GET /databases/{db}/export?since_etag=N&compression=zstd` streams an export
  file (the logical backup format) as it is written; nothing is staged.
- `POST /databases/{db}/import?incremental=true` takes a file as the raw
  (chunked) request body, received into a work folder of the data dir and
  then imported; 200 with the import's result.
- `POST /databases/{db}/backups {"to", ...}` backs up now into a folder on
  the server's machine; 201 with the file written (200 `skipped` when an
  incremental found no change).

An encryption key travels percent-encoded in the `X-Rookdb-Encryption-Key`
header, never in a URL (URLs end up in access logs).
"""

from __future__ import annotations

import dataclasses
import errno
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.types import Receive, Scope, Send

from rookdb.backup import run_backup
from rookdb.errors import InvalidInput, StorageError
from rookdb.instance import check_database_name
from rookdb.restore import import_file
from rookdb.server.attachments import UNLIMITED_BODY
from rookdb.server.dependencies import InstanceDep
from rookdb.server.export_stream import ExportStream
from rookdb.server.json_body import StrictJsonRoute
from rookdb.server.render import json_response
from rookdb.storage.model import MAX_INTEGER

router = APIRouter(
    prefix="/databases/{db}", tags=["export and import"], route_class=StrictJsonRoute
)

UPLOAD_NAME = "upload.rookdb"
KEY_HEADER = "X-Rookdb-Encryption-Key"

EncryptionKey = Annotated[
    str | None,
    Header(
        alias=KEY_HEADER,
        description="Key for AES-256-GCM (32 bytes as base64, or a passphrase), "
        "percent-encoded as UTF-8.",
    ),
]
_FILE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


class RunBackup(BaseModel):
    """Body of `POST /databases/{db}/backups`."""

    model_config = ConfigDict(extra="forbid")
    to: str = Field(
        max_length=4096,
        description="The folder of run folders, an absolute path on the server's machine.",
    )
    type: Literal["backup", "snapshot"] = "backup"
    incremental: bool = Field(
        default=False, description="Continue the current chain of the database in `to`."
    )
    compression: Literal["zstd", "gzip", "none"] = "zstd"
    encryption_key: str | None = Field(default=None, max_length=4096, description="Write-only.")


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def export(
    db: str,
    instance: InstanceDep,
    since_etag: Annotated[int, Query(ge=0, le=MAX_INTEGER)] = 0,
    compression: Literal["zstd", "gzip", "none"] = "zstd",
    encryption_key: EncryptionKey = None,
) -> Response:
    """The database's changes after `since_etag` (all of it by default) as an export file,
    streamed as it is written; deletes included."""
    database = instance.database(db)
    stream = ExportStream.open(
        database, since_etag, compression=compression, encryption_key=_key(encryption_key)
    )
    name = f"{database.name}.rookdb-export"
    return _ExportResponse(stream, {"Content-Disposition": f'attachment; filename="{name}"'})


# Import bodies are backup files: no limit but the disk's, as for attachments.
@router.post("/import", max_body_size=UNLIMITED_BODY, openapi_extra=_FILE_BODY)
async def import_(
    db: str,
    request: Request,
    instance: InstanceDep,
    incremental: bool = False,
    file_name: Annotated[
        str | None, Query(max_length=255, description="The file's name, for the result.")
    ] = None,
    encryption_key: EncryptionKey = None,
) -> Response:
    """Import the export (or backup) file sent as the body into the database (created when
    missing); `incremental=true` applies its deletes too."""
    check_database_name(db)
    name = _file_name(file_name)
    # Received into a locked work folder of the data dir (same disk as the databases,
    # cleaned if the server dies), never held in memory.
    with instance.staging() as folder:
        received = folder / name
        await _receive(request, received, instance.data_dir)
        result = await run_in_threadpool(
            import_file,
            instance,
            received,
            db,
            incremental=incremental,
            encryption_key=_key(encryption_key),
        )
    return json_response(dataclasses.replace(result, source=name).to_json())


@router.post("/backups", status_code=201)
def back_up(db: str, body: RunBackup, instance: InstanceDep) -> Response:
    """Back up the database now into a folder on the server: a full backup (or snapshot) in
    a new run folder, or an incremental continuing its current chain there."""
    if not Path(body.to).is_absolute():
        raise InvalidInput(
            f"to {body.to!r} must be an absolute path on the server's machine", field="to"
        )
    run = run_backup(
        instance.database(db),
        Path(body.to),
        backup_type=body.type,
        incremental=body.incremental,
        compression=body.compression,
        encryption_key=body.encryption_key or None,
    )
    return json_response(run.to_json(), 200 if run.skipped else 201)


def _key(header: str | None) -> str | None:
    if not header:
        return None
    try:
        return unquote(header, errors="strict")
    except UnicodeDecodeError:
        raise InvalidInput(
            f"{KEY_HEADER} must be percent-encoded UTF-8", field=KEY_HEADER
        ) from None


def _file_name(given: str | None) -> str:
    """The client's file name as a plain name inside the work folder (never a path out of it)."""
    name = (given or "").strip()
    if not name or name in (".", "..") or any(c in name for c in "/\\\0"):
        return UPLOAD_NAME
    return name


async def _receive(request: Request, target: Path, data_dir: Path) -> None:
    try:
        with open(target, "wb") as out:
            async for chunk in request.stream():
                out.write(chunk)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageError(
                f"disk full while receiving the file in {data_dir}: nothing was imported"
            ) from exc
        raise StorageError(f"cannot receive the file in {data_dir}: {exc.strerror}") from exc


class _ExportResponse(StreamingResponse):
    """Streams an export; its writer is stopped when the response ends, however it ends."""

    def __init__(self, stream: ExportStream, headers: dict[str, str]) -> None:
        super().__init__(
            iterate_in_threadpool(iter(stream)),
            media_type="application/octet-stream",
            headers=headers,
        )
        self._stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The writer holds a read transaction: end it even when the client leaves early.
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._stream.close()  # does not block: safe inside a cancelled task
