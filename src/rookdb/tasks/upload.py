"""The tasks layer's view of backup destinations: config, masking, upload, list, delete.

One narrow seam over `rookdb.destinations`, so the runner and retention deal
in plain config dicts (as stored with the task) and never in backend types.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr

from rookdb.destinations import (
    Destination,
    RemoteFile,
    from_config,
    public_config,
    upload_to_all,
)
from rookdb.destinations.config import SECRET_FIELDS, DestinationConfig, parse_config
from rookdb.destinations.retry import RetryPolicy
from rookdb.errors import RookError

MASK = "********"  # what `public_config` shows in place of a secret

__all__ = [
    "MASK",
    "SECRET_FIELDS",
    "DestinationConfig",
    "delete_file",
    "display_name",
    "list_files",
    "parse_destination",
    "public_config",
    "remove_abandoned_uploads",
    "reveal",
    "upload_all",
]


def parse_destination(config: object) -> DestinationConfig:
    """Validate one destination entry; InvalidInput names the field."""
    return parse_config(config)  # type: ignore[arg-type]  # it rejects non-objects itself


def reveal(config: BaseModel) -> dict[str, Any]:
    """The config as plain JSON with secrets in clear text (stored, never shown)."""
    return {
        key: value.get_secret_value() if isinstance(value, SecretStr) else value
        for key, value in config.model_dump().items()
    }


def display_name(config: dict[str, Any]) -> str:
    """How the status names a destination, e.g. 'Local (/backups)'."""
    try:
        destination = from_config(config)
    except RookError:
        return str(config.get("kind"))
    try:
        return destination.name
    finally:
        destination.close()


def upload_all(
    configs: Sequence[dict[str, Any]],
    local_path: Path,
    remote_path: str,
    *,
    retry: RetryPolicy | None = None,
    state_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Put one file on every destination at once; one status entry per destination, in order."""
    built: list[Destination] = []
    entries: list[dict[str, Any] | None] = []
    for config in configs:
        try:
            built.append(from_config(config, state_dir=state_dir))
            entries.append(None)
        except RookError as exc:
            entries.append(
                {
                    "kind": config.get("kind"),
                    "name": str(config.get("kind")),
                    "state": "failed",
                    "error": exc.message,
                    "at": None,
                }
            )
    try:
        results = iter(upload_to_all(built, local_path, remote_path, retry=retry))
        return [entry or next(results).to_json() for entry in entries]
    finally:
        for destination in built:
            destination.close()


def list_files(
    config: dict[str, Any], prefix: str = "", *, state_dir: Path | None = None
) -> list[RemoteFile]:
    """Every file under `prefix` on one destination."""
    destination = from_config(config, state_dir=state_dir)
    try:
        return destination.list(prefix)
    finally:
        destination.close()


def remove_abandoned_uploads(
    config: dict[str, Any], grace_seconds: float, *, state_dir: Path | None = None
) -> tuple[str, ...]:
    """Remove partial uploads of killed runs from one destination; the paths removed."""
    destination = from_config(config, state_dir=state_dir)
    try:
        return destination.remove_abandoned_uploads(grace_seconds)
    finally:
        destination.close()


def delete_file(config: dict[str, Any], remote_path: str, *, state_dir: Path | None = None) -> None:
    """Delete one file from one destination (no error when it is already gone)."""
    destination = from_config(config, state_dir=state_dir)
    try:
        destination.delete(remote_path)
    finally:
        destination.close()
