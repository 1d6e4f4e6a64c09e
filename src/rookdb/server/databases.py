"""`/databases`: create, list, show and delete databases."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict

from rookdb.app_state import visible
from rookdb.errors import NotFound
from rookdb.instance import DatabaseInfo, Instance
from rookdb.server.dependencies import InstanceDep
from rookdb.server.json_body import StrictJsonRoute
from rookdb.server.render import json_response

router = APIRouter(tags=["databases"], route_class=StrictJsonRoute)


class CreateDatabase(BaseModel):
    """Body of `POST /databases`."""

    model_config = ConfigDict(extra="forbid")
    name: str


def database_info(instance: Instance, name: str) -> dict[str, Any]:
    """A database's record and statistics, as listed by `GET /databases`."""
    db = instance.database(name)
    record = instance.system.get_database(db.name)
    if record is None:  # deleted between the two reads
        raise NotFound(f"database {name!r} does not exist")
    return DatabaseInfo(record, db.stats(), instance.home_of(record)).to_json()


@router.get("/databases")
def list_databases(request: Request, instance: InstanceDep) -> Response:
    """Every database with its statistics (those the caller's API key may see)."""
    infos = [i for i in instance.list_databases() if visible(request, i.record.name)]
    return json_response({"databases": [info.to_json() for info in infos]})


@router.post("/databases", status_code=201)
def create_database(body: CreateDatabase, instance: InstanceDep) -> Response:
    """Create an empty database; 409 when the name is taken."""
    instance.create_database(body.name)
    return json_response(database_info(instance, body.name), 201)


@router.get("/databases/{db}")
def get_database(db: str, instance: InstanceDep) -> Response:
    """One database's record and statistics."""
    return json_response(database_info(instance, db))


@router.delete("/databases/{db}")
def delete_database(db: str, instance: InstanceDep) -> Response:
    """Delete a database and its file; 404 when it does not exist."""
    instance.delete_database(db)
    return json_response({"deleted": True, "name": db})
