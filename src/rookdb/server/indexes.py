"""Indexes (definitions that make fields queryable) and queries over them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from rookdb.errors import NotFound
from rookdb.server.dependencies import InstanceDep
from rookdb.server.json_body import StrictJsonRoute
from rookdb.server.render import json_response
from rookdb.storage import Condition
from rookdb.storage.model import MAX_INTEGER

router = APIRouter(prefix="/databases/{db}", tags=["indexes"], route_class=StrictJsonRoute)


class IndexRequest(BaseModel):
    """Body of `PUT /databases/{db}/indexes/{name}`."""

    model_config = ConfigDict(extra="forbid")
    collection: str
    fields: list[str] = Field(min_length=1)


class WhereClause(BaseModel):
    """One condition: `field op value`; op is one of == != < <= > >= in."""

    model_config = ConfigDict(extra="forbid")
    field: str
    op: str = "=="
    value: Any = None


class QueryRequest(BaseModel):
    """Body of `POST /databases/{db}/queries`."""

    model_config = ConfigDict(extra="forbid")
    collection: str
    where: list[WhereClause] = Field(default_factory=list)
    start: int = Field(default=0, ge=0, le=MAX_INTEGER)
    page_size: int = Field(default=100, ge=1)
    index: str | None = None
    order_by: str | None = None


@router.get("/indexes")
def list_indexes(db: str, instance: InstanceDep) -> Response:
    """Every index definition of the database."""
    indexes = instance.database(db).list_indexes()
    return json_response({"indexes": [i.to_json() for i in indexes]})


@router.put("/indexes/{name:path}")
def put_index(db: str, name: str, body: IndexRequest, instance: InstanceDep) -> Response:
    """Define an index and build it over the existing documents."""
    index = instance.database(db).create_index(name, body.collection, body.fields)
    return json_response(index.to_json())


@router.get("/indexes/{name:path}")
def get_index(db: str, name: str, instance: InstanceDep) -> Response:
    """One index definition."""
    index = instance.database(db).get_index(name)
    if index is None:
        raise NotFound(f"index {name!r} does not exist in database {db!r}", field="name")
    return json_response(index.to_json())


@router.delete("/indexes/{name:path}")
def delete_index(db: str, name: str, instance: InstanceDep) -> Response:
    """Drop an index; `deleted` is false when there was none."""
    return json_response({"name": name, "deleted": instance.database(db).delete_index(name)})


@router.post("/queries")
def run_query(db: str, body: QueryRequest, instance: InstanceDep) -> Response:
    """Documents of a collection matching every condition (indexed fields only), paged."""
    result = instance.database(db).query(
        body.collection,
        [Condition(c.field, c.op, c.value) for c in body.where],
        start=body.start,
        page_size=body.page_size,
        index=body.index,
        order_by=body.order_by,
    )
    return json_response(
        {
            "documents": [d.to_json() for d in result.documents],
            "total": result.total,
            "index": result.index,
            "skipped": result.skipped,
        }
    )
