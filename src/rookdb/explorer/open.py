"""Opening a backup for exploring: SOURCE as `rookdb restore` takes it, and a point in it."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rookdb.errors import InvalidInput
from rookdb.explorer.explorer import BackupExplorer
from rookdb.explorer.files import local_opener
from rookdb.explorer.point import locate_point

if TYPE_CHECKING:
    from rookdb.explorer.retrieval import ChainRetrieval


def open_backup(
    source: str | Path,
    until: str | None = None,
    *,
    encryption_key: str | None = None,
    credentials: dict[str, Any] | None = None,
) -> BackupExplorer:
    """An explorer of SOURCE (a run folder, a folder of run folders, one backup file, or a
    destination URL) at the point `until` (a file name or an ISO time; None: the newest).
    Glacier archives are read from their retrieved copy (see `rookdb.explorer.retrieval`)."""
    from rookdb.restore.source import is_destination_url, resolve_point

    if isinstance(source, str) and is_destination_url(source):
        from rookdb.destinations import from_url
        from rookdb.explorer.remote import open_on_destination
        from rookdb.url_masking import masked_url

        destination, leaf = from_url(source, credentials)
        if destination.local_listing:
            # Cold storage (Glacier): read the retrieved copy, once there is one.
            from rookdb.explorer.retrieval import open_retrieved

            return open_retrieved(
                destination, leaf, until, masked_url(source), encryption_key=encryption_key
            )
        return open_on_destination(
            destination, leaf, until, encryption_key=encryption_key, shown=masked_url(source)
        )
    resolved, until = resolve_point(source, until)
    root = Path(resolved.description)
    return BackupExplorer(locate_point(root, until), local_opener(encryption_key))


def backup_retrieval(
    source: str,
    until: str | None = None,
    *,
    credentials: dict[str, Any] | None = None,
    start: bool = False,
) -> ChainRetrieval:
    """Where the retrieval of the run folder at destination URL `source` (point `until`)
    stands, file by file; with `start`, request it first. Files of destinations that read
    at once are "ready"."""
    from rookdb.destinations import from_url
    from rookdb.explorer.retrieval import retrieval_of
    from rookdb.restore.source import is_destination_url
    from rookdb.url_masking import masked_url

    if not is_destination_url(source):
        raise InvalidInput(
            "a retrieval is for backups in cold storage: give a destination URL "
            "(glacier://vault/prefix)",
            field="source",
        )
    destination, leaf = from_url(source, credentials)
    with closing(destination):
        return retrieval_of(destination, leaf, until, masked_url(source), start=start)
