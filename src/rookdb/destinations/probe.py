"""Test connection: check one destination config before a task depends on it.

``check_destination`` builds the destination, writes a probe file, reads it
back and deletes it (``Destination.check_access``), and reports which step
failed and why, in a form the HTTP API, the CLI and the Studio all show.
Secrets never appear in the report: backends keep them out of their
messages, and the report scrubs any secret value of the config once more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rookdb.destinations.base import failed_step
from rookdb.destinations.registry import from_config, secret_fields
from rookdb.errors import DestinationError, InvalidInput, RookError

log = logging.getLogger(__name__)

FailedStep = Literal["config", "write", "read back", "delete"]
_MASK = "********"


@dataclass(frozen=True)
class AccessReport:
    """The outcome of a test connection: ok, or the failing step with a reason."""

    kind: str
    destination: str  # display name, e.g. "S3 (bucket)"; the kind when the config is invalid
    error: RookError | None = None
    step: FailedStep | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def http_status(self) -> int:
        """200, or the error's status (400 for a bad config, 502 for a failing destination)."""
        return 200 if self.error is None else self.error.http_status

    def to_json(self) -> dict[str, Any]:
        """``{"ok": true, "destination": ...}`` or ``{"ok": false, "step": ..., "error": ...}``."""
        if self.error is None:
            return {"ok": True, "kind": self.kind, "destination": self.destination}
        return {
            "ok": False,
            "kind": self.kind,
            "destination": self.destination,
            "step": self.step,
            "error": self.error.message,
            "code": self.error.code,
            "retryable": self.error.retryable,
            # The usual error body's key too, so HTTP clients raise the right message.
            "message": self.error.message,
        }


def check_destination(config: dict[str, Any], *, state_dir: Path | None = None) -> AccessReport:
    """Write, read back and delete a probe file on the destination ``config`` describes."""
    if not isinstance(config, dict):
        error = InvalidInput("a destination must be a JSON object", field="destination")
        return AccessReport("?", "?", error, "config")
    kind = str(config.get("kind"))
    secrets = _secret_values(config)
    try:
        destination = from_config(config, state_dir=state_dir, as_input=True)
    except RookError as exc:
        return AccessReport(kind, kind, _scrubbed(exc, secrets), "config")
    try:
        destination.check_access()
    except RookError as exc:
        return AccessReport(kind, destination.name, _scrubbed(exc, secrets), failed_step(exc))
    except Exception as exc:
        # A backend bug: the log keeps the traceback, the user gets one line.
        log.exception("test connection of %s crashed", destination.name)
        error = DestinationError(f"{destination.name}: unexpected {type(exc).__name__}")
        return AccessReport(kind, destination.name, error, None)
    finally:
        destination.close()
    return AccessReport(kind, destination.name)


def _secret_values(config: dict[str, Any]) -> list[str]:
    values = [config.get(name) for name in secret_fields()]
    # Very short values would mask ordinary words; no real secret is that short.
    return [v for v in values if isinstance(v, str) and len(v) >= 4]


def _scrubbed(error: RookError, secrets: list[str]) -> RookError:
    message = error.message
    for value in secrets:
        message = message.replace(value, _MASK)
    if message == error.message:
        return error
    return type(error)(message, field=error.field)
