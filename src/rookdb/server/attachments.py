"""Attachments, streamed both ways.

URLs carry the document id and attachment name as query parameters
(`/databases/{db}/attachments?id=users/1&name=photo.png`) because both may
contain '/', which would make a path-based URL ambiguous.
"""

from __future__ import annotations

import errno
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, BinaryIO
from urllib.parse import quote

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from rookdb.errors import NotFound, StorageError
from rookdb.server.dependencies import InstanceDep
from rookdb.server.json_body import StrictJsonRoute
from rookdb.server.render import etag_header, json_response
from rookdb.storage import AttachmentInfo

router = APIRouter(prefix="/databases/{db}", tags=["attachments"], route_class=StrictJsonRoute)

# Uploads are staged in memory up to this size, then in a file in the data dir.
SPOOL_IN_MEMORY = 1 << 20
# Attachments have no size limit: the upload route overrides the app's JSON body limit.
UNLIMITED_BODY = 1 << 62

DocId = Annotated[str, Query(alias="id", description="The document id.")]
Name = Annotated[str, Query(description="The attachment name.")]


def attachment_json(info: AttachmentInfo) -> dict[str, object]:
    """An attachment's metadata as the API shows it."""
    return {
        "document_id": info.document_id,
        "name": info.name,
        "content_type": info.content_type,
        "size": info.size,
        "hash": info.hash,
        "etag": info.etag,
    }


def attachment_headers(info: AttachmentInfo) -> dict[str, str]:
    """Response headers describing an attachment (non-ASCII values percent-encoded)."""
    return {
        "Content-Type": info.content_type,
        "Content-Length": str(info.size),
        "ETag": etag_header(info.etag),
        "X-Rookdb-Document-Id": quote(info.document_id, safe=""),
        "X-Rookdb-Attachment-Name": quote(info.name, safe=""),
        "X-Rookdb-Attachment-Hash": info.hash,
    }


@router.get("/attachments/list")
def list_attachments(db: str, doc_id: DocId, instance: InstanceDep) -> Response:
    """Metadata of every attachment of a document."""
    infos = instance.database(db).list_attachments(doc_id)
    return json_response({"attachments": [attachment_json(i) for i in infos]})


@router.put("/attachments", max_body_size=UNLIMITED_BODY)
async def put_attachment(
    db: str,
    doc_id: DocId,
    name: Name,
    request: Request,
    instance: InstanceDep,
    content_type: Annotated[str | None, Header()] = None,
) -> Response:
    """Store the request body as an attachment; its Content-Type is kept."""
    database = await run_in_threadpool(instance.database, db)
    # Fail before receiving a large upload for a document that is not there.
    if await run_in_threadpool(database.get, doc_id) is None:
        raise NotFound(f"document {doc_id!r} does not exist; put it before attaching", field="id")
    # The core stores an attachment inside the database's single write transaction;
    # staging the upload first means a slow client never holds that lock.
    with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY, dir=instance.data_dir) as spool:  # type: ignore[call-overload]
        await receive_into(request, spool, instance.data_dir)
        spool.seek(0)
        info = await run_in_threadpool(
            database.put_attachment,
            doc_id,
            name,
            spool,
            content_type or "application/octet-stream",
        )
    return json_response(attachment_json(info), 201)


async def receive_into(request: Request, spool: BinaryIO, data_dir: Path) -> None:
    """Write the request body into `spool`; StorageError (507 when the disk is full)."""
    try:
        async for chunk in request.stream():
            spool.write(chunk)
    except OSError as exc:
        raise _staging_failed(exc, data_dir) from exc


@router.get("/attachments")
def get_attachment(db: str, doc_id: DocId, name: Name, instance: InstanceDep) -> Response:
    """The attachment's bytes, streamed, with its content type."""
    info, chunks = instance.database(db).get_attachment(doc_id, name)
    return StreamingResponse(_closing(chunks), headers=attachment_headers(info))


@router.head("/attachments")
def attachment_info(db: str, doc_id: DocId, name: Name, instance: InstanceDep) -> Response:
    """The attachment's headers without its bytes."""
    info = instance.database(db).attachment_info(doc_id, name)
    if info is None:
        raise NotFound(f"document {doc_id!r} has no attachment {name!r}", field="name")
    return Response(headers=attachment_headers(info))


@router.delete("/attachments")
def delete_attachment(db: str, doc_id: DocId, name: Name, instance: InstanceDep) -> Response:
    """Delete one attachment; `deleted` is false when there was none."""
    deleted = instance.database(db).delete_attachment(doc_id, name)
    return json_response({"id": doc_id, "name": name, "deleted": deleted})


def _staging_failed(exc: OSError, folder: Path) -> StorageError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageError(
            f"disk full while receiving the upload in {folder}: nothing was saved; "
            "free space on that disk and retry"
        )
    return StorageError(f"cannot receive the upload in {folder}: {exc.strerror or exc}")


async def _closing(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    # The chunks come from a private read transaction; end it even when the
    # client goes away before the last byte.
    try:
        async for chunk in iterate_in_threadpool(chunks):
            yield chunk
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            await run_in_threadpool(close)
