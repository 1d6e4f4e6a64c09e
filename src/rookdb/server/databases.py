"""`/databases`: create, list, show and delete databases."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict

from rookdb.app_state import AppState, visible
from rookdb.errors import InvalidInput, NotFound
from rookdb.instance import DatabaseInfo, Instance, check_database_name
from rookdb.server.dependencies import InstanceDep
from rookdb.server.json_body import StrictJsonRoute
from rookdb.server.render import json_response

router = APIRouter(tags=["databases"], route_class=StrictJsonRoute)


class CreateDatabase(BaseModel):
    """Body of `POST /databases` (the group options only mean something in a cluster)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    nodes: list[str] | None = None
    replication_factor: int | None = None
    write_concern: Literal["1", "majority"] | None = None


def database_info(instance: Instance, name: str) -> dict[str, Any]:
    """A database's record and statistics, as listed by `GET /databases`."""
    record = instance.system.get_database(name)
    if record is not None and not instance.is_local(record):
        return DatabaseInfo(record, None, instance.home_of(record)).to_json()
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
def create_database(body: CreateDatabase, request: Request, instance: InstanceDep) -> Response:
    """Create an empty database; 409 when the name is taken.

    In a cluster, on a group of nodes: `nodes` (the first is the write node) or
    `replication_factor` live nodes (default min(3, live nodes)); `write_concern`
    1 or majority (default majority for 3 members or more).
    """
    replication = AppState.of(request.app).replication
    asked_group = body.nodes is not None or body.replication_factor is not None
    if replication is None:
        if asked_group or body.write_concern is not None:
            raise InvalidInput(
                "nodes, replication_factor and write_concern need a cluster "
                "(rookdb serve --cluster ...)",
                field="nodes",
            )
        instance.create_database(body.name)
    else:
        check_database_name(body.name)
        group = replication.new_group(body.nodes, body.replication_factor, body.write_concern)
        instance.register_database(body.name, group)
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
