"""`/admin/keys`: create, list and revoke API keys (admin keys only; see `server/auth.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from rookdb.security.keys import ApiKeys
from rookdb.server.dependencies import InstanceDep
from rookdb.server.json_body import StrictJsonRoute
from rookdb.server.render import json_response

router = APIRouter(prefix="/admin/keys", tags=["api keys"], route_class=StrictJsonRoute)

KeyId = Annotated[str, Path(pattern=r"^[0-9a-f]{8}$", description="The key's public id.")]


class CreateKey(BaseModel):
    """Body of `POST /admin/keys`."""

    model_config = ConfigDict(extra="forbid")
    role: str
    databases: list[str] | None = Field(default=None, max_length=1000)
    name: str = Field(default="", max_length=200)


@router.get("")
def list_keys(instance: InstanceDep) -> Response:
    """Every API key (never the secret): id, name, role, databases, created, revoked."""
    return json_response({"keys": [k.to_json() for k in ApiKeys(instance.system).list()]})


@router.post("", status_code=201)
def create_key(body: CreateKey, instance: InstanceDep) -> Response:
    """Create a key; the answer's `key` is the only time the secret is shown."""
    key, token = ApiKeys(instance.system).create(body.role, body.databases, body.name)
    return json_response({**key.to_json(), "key": token}, 201)


@router.delete("/{key_id}")
def revoke_key(key_id: KeyId, instance: InstanceDep) -> Response:
    """Revoke a key at once (its record stays, marked revoked)."""
    return json_response(ApiKeys(instance.system).revoke(key_id).to_json())
