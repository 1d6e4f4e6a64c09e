"""Documents: put/get/delete one, list, get many, atomic batches, collections, identities.

Ids contain '/', so a document lives at `/databases/{db}/docs/{id...}` with the
rest of the path as its id (clients percent-encode '?', '#', '%' and dot
segments). Attachments are not under this path: see `attachments.py`.
"""

from __future__ import annotations

import tempfile
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from rookdb.errors import NotFound
from rookdb.server.attachments import SPOOL_IN_MEMORY, UNLIMITED_BODY, receive_into
from rookdb.server.dependencies import InstanceDep
from rookdb.server.json_body import StrictJsonRoute
from rookdb.server.render import etag_header, expected_etag, json_response
from rookdb.storage import BatchOperation, Document
from rookdb.storage.json_lines import insert_json_lines
from rookdb.storage.model import MAX_INTEGER

router = APIRouter(prefix="/databases/{db}", tags=["documents"], route_class=StrictJsonRoute)

MAX_BATCH_OPERATIONS = 100_000
MAX_GET_MANY = 10_000


class GetManyRequest(BaseModel):
    """Body of `POST /databases/{db}/docs/get`."""

    model_config = ConfigDict(extra="forbid")
    ids: list[str] = Field(max_length=MAX_GET_MANY)


class BatchOperationIn(BaseModel):
    """One step of a batch: a put (with body) or a delete."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["put", "delete"]
    id: str
    body: dict[str, Any] | None = None
    expected_etag: int | None = Field(default=None, ge=0, le=MAX_INTEGER)


class BatchRequest(BaseModel):
    """Body of `POST /databases/{db}/batch`: applied all together or not at all."""

    model_config = ConfigDict(extra="forbid")
    operations: list[BatchOperationIn] = Field(max_length=MAX_BATCH_OPERATIONS)


def document_body(doc: Document | None) -> dict[str, Any] | None:
    """A document as the API shows it (`@metadata` included), or None."""
    return doc.to_json() if doc is not None else None


@router.get("/docs")
def list_documents(
    db: str,
    instance: InstanceDep,
    collection: str | None = None,
    start: Annotated[int, Query(ge=0, le=MAX_INTEGER)] = 0,
    page_size: Annotated[int, Query(ge=1)] = 100,
) -> Response:
    """Documents, optionally of one collection, ordered by id, one page at a time."""
    docs = instance.database(db).list_documents(collection, start=start, page_size=page_size)
    return json_response({"documents": [d.to_json() for d in docs]})


@router.post("/docs/get")
def get_documents(db: str, body: GetManyRequest, instance: InstanceDep) -> Response:
    """Many documents by id, in the order asked; null where one does not exist."""
    docs = instance.database(db).get_many(body.ids)
    return json_response({"results": [document_body(d) for d in docs]})


@router.get("/docs/{doc_id:path}")
def get_document(db: str, doc_id: str, instance: InstanceDep) -> Response:
    """One document with its `@metadata`; its etag is also in the ETag header."""
    doc = instance.database(db).get(doc_id)
    if doc is None:
        raise NotFound(f"document {doc_id!r} does not exist in database {db!r}", field="id")
    return json_response(doc.to_json(), headers={"ETag": etag_header(doc.etag)})


@router.put("/docs/{doc_id:path}")
def put_document(
    db: str,
    doc_id: str,
    body: Annotated[dict[str, Any], Body()],
    instance: InstanceDep,
    if_match: Annotated[str | None, Header()] = None,
    if_none_match: Annotated[str | None, Header()] = None,
    expected_etag_param: Annotated[
        int | None, Query(alias="expected_etag", ge=0, le=MAX_INTEGER)
    ] = None,
) -> Response:
    """Create or replace a document; `If-Match: "N"` or `?expected_etag=N` guards the write."""
    expected = expected_etag(if_match, if_none_match, expected_etag_param)
    result = instance.database(db).put(doc_id, body, expected_etag=expected)
    return json_response(
        {"id": result.id, "etag": result.etag, "change_vector": result.change_vector},
        headers={"ETag": etag_header(result.etag)},
    )


@router.delete("/docs/{doc_id:path}")
def delete_document(
    db: str,
    doc_id: str,
    instance: InstanceDep,
    if_match: Annotated[str | None, Header()] = None,
    expected_etag_param: Annotated[
        int | None, Query(alias="expected_etag", ge=0, le=MAX_INTEGER)
    ] = None,
) -> Response:
    """Delete a document and its attachments, leaving a tombstone; `deleted` is false if missing."""
    expected = expected_etag(if_match, None, expected_etag_param)
    deleted = instance.database(db).delete(doc_id, expected_etag=expected)
    return json_response({"id": doc_id, "deleted": deleted})


@router.post("/batch")
def run_batch(db: str, body: BatchRequest, instance: InstanceDep) -> Response:
    """Apply puts and deletes atomically: every operation or none."""
    operations = [
        BatchOperation(op.type, op.id, op.body, op.expected_etag) for op in body.operations
    ]
    results = instance.database(db).batch(operations)
    return json_response(
        {
            "results": [
                {"type": r.type, "id": r.id, "etag": r.etag, "deleted": r.deleted} for r in results
            ]
        }
    )


_JSON_LINES_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-ndjson": {
                "schema": {"type": "string", "description": '{"id": "...", "body": {...}} per line'}
            }
        },
    }
}


# Bodies are staged (in memory up to 1 MB, then in a file in the data dir), never held whole.
@router.post("/bulk-insert", max_body_size=UNLIMITED_BODY, openapi_extra=_JSON_LINES_BODY)
async def bulk_insert(db: str, request: Request, instance: InstanceDep) -> Response:
    """Insert or replace many documents sent as JSON lines, `{"id": ..., "body": {...}}`
    each; every line is checked before the first write, so a bad line writes nothing."""
    database = await run_in_threadpool(instance.database, db)
    with tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY, dir=instance.data_dir) as spool:  # type: ignore[call-overload]
        await receive_into(request, spool, instance.data_dir)
        spool.seek(0)
        result = await run_in_threadpool(insert_json_lines, database, spool)
    return json_response(result.to_json())


@router.get("/collections")
def list_collections(db: str, instance: InstanceDep) -> Response:
    """Collection names with their document counts."""
    return json_response({"collections": instance.database(db).collections()})


@router.get("/identities")
def list_identities(db: str, instance: InstanceDep) -> Response:
    """Identity counters by name (the last value handed out)."""
    return json_response({"identities": instance.database(db).identities()})
