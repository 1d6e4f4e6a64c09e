"""`GET /databases/{db}/changes?since_etag=N`: the change feed as NDJSON.

One JSON object per line, in etag order, each with its `kind`; documents carry
their body, attachments only their metadata. The `X-Rookdb-Last-Etag` header
is the etag the stream is consistent up to: resume from it next time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from rookdb.server.dependencies import InstanceDep
from rookdb.server.json_body import StrictJsonRoute
from rookdb.storage import Change, ChangeFeed, DocumentChange
from rookdb.storage.model import MAX_INTEGER

router = APIRouter(prefix="/databases/{db}", tags=["changes"], route_class=StrictJsonRoute)

# Lines are sent in chunks of about this size: each chunk is one hop to a worker thread.
CHUNK_BYTES = 256 * 1024


def change_line(change: Change) -> bytes:
    """One change as an NDJSON line."""
    if isinstance(change, DocumentChange):
        # The stored body is already JSON text: splice it in rather than re-encode it.
        head = orjson.dumps(
            {
                "kind": change.kind,
                "etag": change.etag,
                "id": change.id,
                "collection": change.collection,
                "last_modified": change.last_modified,
                "change_vector": change.change_vector,
            }
        )
        return head[:-1] + b',"body":' + change.body_json.encode() + b"}\n"
    fields = {f.name: getattr(change, f.name) for f in dataclasses.fields(change)}
    return orjson.dumps({"kind": fields.pop("kind"), **fields}) + b"\n"


def ndjson_chunks(feed: ChangeFeed) -> Iterator[bytes]:
    """The feed's changes as NDJSON, batched; closes the feed at the end or on disconnect."""
    try:
        buffer: list[bytes] = []
        size = 0
        for change in feed:
            line = change_line(change)
            buffer.append(line)
            size += len(line)
            if size >= CHUNK_BYTES:
                yield b"".join(buffer)
                buffer, size = [], 0
        if buffer:
            yield b"".join(buffer)
    finally:
        feed.close()


@router.get("/changes", response_class=StreamingResponse)
def stream_changes(
    db: str,
    instance: InstanceDep,
    since_etag: Annotated[int, Query(ge=0, le=MAX_INTEGER)] = 0,
) -> StreamingResponse:
    """Every change after `since_etag` in etag order, streamed as NDJSON."""
    feed = instance.database(db).changes(since_etag)
    return StreamingResponse(
        ndjson_chunks(feed),
        media_type="application/x-ndjson",
        headers={"X-Rookdb-Last-Etag": str(feed.last_etag)},
    )
