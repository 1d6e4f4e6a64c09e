"""The tasks layer's view of backup destinations: config model, masking, upload, list, delete.

One narrow seam so the runner and retention do not care which backend a task
writes to. Until `rookdb.destinations` lands this validates and serves the
local-folder kind itself.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rookdb.errors import DestinationError, InvalidInput, RookError

MASK = "********"
SECRET_FIELDS = frozenset({"secret_access_key", "account_key", "password", "credentials_json"})


class LocalDestinationConfig(BaseModel):
    """A folder on this machine (or a mounted share)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["local"] = "local"
    path: str = Field(min_length=1)


DestinationConfig = LocalDestinationConfig


def parse_destination(config: object) -> DestinationConfig:
    """Validate one destination entry; InvalidInput names the field."""
    if not isinstance(config, dict):
        raise InvalidInput("a destination must be a JSON object", field="destinations")
    if config.get("kind") != "local":
        raise InvalidInput(f"unknown destination kind {config.get('kind')!r}", field="kind")
    try:
        return LocalDestinationConfig.model_validate(config)
    except ValidationError as exc:
        error = exc.errors(include_input=False)[0]
        field = ".".join(str(p) for p in error["loc"])
        raise InvalidInput(f"local destination: {field}: {error['msg']}", field=field) from None


def reveal(config: BaseModel) -> dict[str, Any]:
    """The config as plain JSON with secrets in clear text (stored, never shown)."""
    return config.model_dump(mode="json")


@dataclass(frozen=True, slots=True)
class UploadOutcome:
    """What happened to one file on one destination."""

    kind: str
    name: str
    state: str  # "done" | "failed" | "skipped"
    error: str | None
    at: str


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file found on a destination, by its path relative to the destination root."""

    path: str
    size: int


def public_config(config: dict[str, Any]) -> dict[str, Any]:
    """A destination config with its secrets masked."""
    return dict(config)


def display_name(config: dict[str, Any]) -> str:
    """How the status names a destination, e.g. 'Local (/backups)'."""
    return f"Local ({config.get('path')})"


def upload_all(
    configs: Sequence[dict[str, Any]], local_path: Path, remote_path: str
) -> list[UploadOutcome]:
    """Put one file on every destination; one failing never stops the others."""
    results = []
    for config in configs:
        try:
            target = _root(config) / remote_path
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".in-progress")
            shutil.copyfile(local_path, partial)
            os.replace(partial, target)
            results.append(_outcome(config, "done", None))
        except (OSError, RookError) as exc:
            results.append(_outcome(config, "failed", _reason(exc)))
    return results


def list_files(config: dict[str, Any], prefix: str = "") -> list[StoredFile]:
    """Every file under `prefix` on one destination."""
    root = _root(config)
    try:
        return [
            StoredFile(p.relative_to(root).as_posix(), p.stat().st_size)
            for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).as_posix().startswith(prefix)
        ]
    except OSError as exc:
        raise DestinationError(f"cannot list {display_name(config)}: {exc.strerror}") from exc


def delete_file(config: dict[str, Any], remote_path: str) -> None:
    """Delete one file from one destination (no error when it is already gone)."""
    target = _root(config) / remote_path
    try:
        target.unlink(missing_ok=True)
        if target.parent != _root(config) and not any(target.parent.iterdir()):
            target.parent.rmdir()
    except OSError as exc:
        raise DestinationError(f"cannot delete from {display_name(config)}: {exc}") from exc


def _root(config: dict[str, Any]) -> Path:
    return Path(str(config["path"]))


def _outcome(config: dict[str, Any], state: str, error: str | None) -> UploadOutcome:
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return UploadOutcome(str(config.get("kind")), display_name(config), state, error, at)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RookError):
        return exc.message
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)
    return str(exc)
