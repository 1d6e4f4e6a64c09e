"""`/restores`: restore a backup chain into a new database, as a job followed by its id.

Thin: parse, call the app's `RestoreJobs`, render its status. A status never
holds the source options or the encryption key it was started with.
"""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from rookdb.errors import InvalidInput
from rookdb.restore.jobs import is_absolute_source
from rookdb.server.dependencies import JobsDep
from rookdb.server.json_body import StrictJsonRoute
from rookdb.server.render import json_response

router = APIRouter(tags=["restores"], route_class=StrictJsonRoute)


class StartRestore(BaseModel):
    """Body of `POST /restores`."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(
        max_length=4096,
        description="A run folder (or folder of run folders, or one backup file) on the "
        "server's machine, as an absolute path, or a destination URL (s3://bucket/prefix ...).",
    )
    database: str = Field(max_length=64, description="The new database to create.")
    until: str | None = Field(
        default=None,
        max_length=4096,
        description="Stop at this backup file (name), or at the last file created at or "
        "before this ISO 8601 time.",
    )
    encryption_key: str | None = Field(default=None, max_length=4096, description="Write-only.")
    source_options: dict[str, str] | None = Field(
        default=None,
        description="Settings and credentials for a destination URL (endpoint_url, "
        "access_key_id, secret_access_key ...). Write-only.",
    )


@router.post("/restores", status_code=202)
def start_restore(body: StartRestore, jobs: JobsDep) -> Response:
    """Start a restore into a new database; 202 with the job (poll `GET /restores/{id}`)."""
    if not is_absolute_source(body.source):
        raise InvalidInput(
            f"source {body.source!r} must be an absolute path on the server's machine or a "
            "destination URL",
            field="source",
        )
    status = jobs.start(
        body.source,
        body.database,
        until=body.until,
        encryption_key=body.encryption_key,
        source_options=body.source_options,
    )
    return json_response(status.to_json(), 202, {"Location": f"/restores/{status.id}"})


@router.get("/restores")
def list_restores(jobs: JobsDep) -> Response:
    """The restores this server remembers (running, and finished ones for a while), newest first."""
    return json_response({"restores": [status.to_json() for status in jobs.list()]})


@router.get("/restores/{job_id}")
def restore_status(job_id: str, jobs: JobsDep) -> Response:
    """A restore's state, progress (bytes), and its result or error once finished."""
    return json_response(jobs.status(job_id).to_json())
