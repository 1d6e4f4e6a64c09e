"""What the Studio's restore pages keep between two pages: the backup locations listed.

Credentials typed once stay on the server between "show backups" and
"restore" instead of going back to the browser. The restores themselves are
the core's restore jobs (`rookdb.restore.jobs`, on the app's state, as the
HTTP API finds them); this module also words a job's status for the page.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from rookdb.restore import JobState, RestoreJobStatus

# Listed sources (with their credentials) are forgotten after this long.
SOURCE_TTL_SECONDS = 3600.0


@dataclass(frozen=True)
class ListedSource:
    """A backup source the user listed: where, and the credentials given for it."""

    id: str
    source: str
    credentials: dict[str, Any] | None = field(repr=False)
    listed_at: float
    # Browsing an encrypted chain: kept on the server with the credentials, never rendered.
    encryption_key: str | None = field(default=None, repr=False)


class ListedSources:
    """The backup locations listed in the Studio, each for a while."""

    def __init__(self) -> None:
        self._sources: dict[str, ListedSource] = {}
        self._lock = threading.Lock()

    def remember(
        self,
        source: str,
        credentials: dict[str, Any] | None,
        encryption_key: str | None = None,
    ) -> ListedSource:
        """Keep a listed source for the restore (or browsing) that follows."""
        now = time.monotonic()
        listed = ListedSource(
            secrets.token_hex(8), source, credentials or None, now, encryption_key or None
        )
        with self._lock:
            for key in [
                k for k, v in self._sources.items() if now - v.listed_at > SOURCE_TTL_SECONDS
            ]:
                del self._sources[key]
            self._sources[listed.id] = listed
        return listed

    def get(self, source_id: str) -> ListedSource | None:
        """A listed source, while it is remembered."""
        with self._lock:
            return self._sources.get(source_id)

    def set_key(self, source_id: str, encryption_key: str | None) -> ListedSource | None:
        """Give a listed source the encryption key of its backups (None: forget it)."""
        with self._lock:
            listed = self._sources.get(source_id)
            if listed is None:
                return None
            listed = replace(listed, encryption_key=encryption_key or None)
            self._sources[source_id] = listed
            return listed


def page_view(status: RestoreJobStatus) -> dict[str, Any]:
    """A restore job as the progress page shows and polls it."""
    if status.state is JobState.DONE:
        message = f"Restored into {status.database}."
    elif status.state is JobState.FAILED:
        message = "The restore failed."
    elif status.fraction is not None:
        message = f"Restoring… {int(status.fraction * 100)}%"
    else:
        message = status.notes[-1] if status.notes else "Starting…"
    return {
        "id": status.id,
        "source": status.source,
        "database": status.database,
        "until": status.until,
        "state": status.state.value,
        "message": message,
        "fraction": status.fraction,
        "error": status.error["message"] if status.error else None,
    }
