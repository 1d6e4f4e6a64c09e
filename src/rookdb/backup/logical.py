"""Logical backups: every change after an etag, from the change feed, into one backup file.

A full backup is the feed from etag 0; an incremental is the feed from the
last backed-up etag. Both read one consistent read transaction, so the file
covers exactly ``(since_etag, last_etag]`` even while writes continue.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO

from rookdb.backup import naming
from rookdb.backup.format import (
    BackupHeader,
    BackupKind,
    BackupWriter,
    FileSummary,
    RunClaim,
)
from rookdb.storage import (
    AttachmentChange,
    ChangeFeed,
    Database,
    IdentityChange,
    IndexChange,
    TombstoneChange,
)

Progress = Callable[[int, int], None]
PROGRESS_EVERY = 2000


def write_logical(
    db: Database,
    out: IO[bytes],
    feed: ChangeFeed,
    *,
    kind: BackupKind,
    compression: str,
    encryption_key: str | None,
    node: str,
    created_at: str,
    progress: Progress | None,
    claim: RunClaim | None = None,
) -> FileSummary:
    """Stream the feed's changes into `out` as a logical backup file."""
    since = feed.since_etag
    header = BackupHeader(
        database=db.name,
        database_id=feed.database_id,
        kind=kind,
        type="backup",
        since_etag=since,
        last_etag=feed.last_etag,
        created_at=created_at,
        node=node,
        compression=compression,
        claim=claim,
    )
    # Progress total: the etag span is an upper bound on the changes and costs
    # nothing, where COUNT(*) over the range would read the whole table first.
    total = max(feed.last_etag - since, 0)
    writer = BackupWriter(out, header, encryption_key=encryption_key)
    # An incremental names each document's current attachments: a document
    # deleted and re-created inside the range lost its old attachments without
    # leaving attachment tombstones, and a restore must drop them too.
    with_attachment_names = kind == "incremental"
    done = 0
    try:
        for change in feed.batches():
            if type(change) is list:
                # A run of documents, written in one call (see ChangeFeed.batches).
                if with_attachment_names:
                    names = [feed.attachment_names(row[1]) for row in change]
                    writer.add_documents(change, names)
                else:
                    writer.add_documents(change)
                reported = done // PROGRESS_EVERY
                done += len(change)
                if progress is not None and done // PROGRESS_EVERY != reported:
                    progress(done, total)
                continue
            if isinstance(change, TombstoneChange):
                writer.add_tombstone(
                    change.etag,
                    change.of,
                    change.id,
                    change.name,
                    change.collection,
                    change.deleted_at,
                )
            elif isinstance(change, AttachmentChange):
                writer.add_attachment(
                    change.etag,
                    change.document_id,
                    change.name,
                    change.content_type,
                    change.size,
                    change.hash,
                    feed.read_attachment(change.hash),
                )
            elif isinstance(change, IdentityChange):
                writer.add_identity(change.etag, change.name, change.value)
            elif isinstance(change, IndexChange):
                writer.add_index(change.etag, change.name, change.collection, change.fields)
            done += 1
            if progress is not None and done % PROGRESS_EVERY == 0:
                progress(done, total)
        trailer, sha = writer.finish()
    except BaseException:
        writer.close()
        raise
    if progress is not None:
        progress(done, done)
    return FileSummary(writer.header, trailer, out.tell(), sha)


def write_logical_file(
    db: Database,
    path: Path,
    *,
    since_etag: int,
    kind: BackupKind,
    compression: str = "zstd",
    encryption_key: str | None = None,
    node: str | None = None,
    progress: Progress | None = None,
    now: datetime | None = None,
    skip_if_empty: bool = False,
    claim: RunClaim | None = None,
) -> FileSummary | None:
    """Write a logical backup of changes after `since_etag` to `path` (atomically)."""
    with db.changes(since_etag) as feed:
        if skip_if_empty and feed.last_etag <= since_etag:
            return None
        with naming.atomic_file(path) as out:
            return write_logical(
                db,
                out,
                feed,
                kind=kind,
                compression=compression,
                encryption_key=encryption_key,
                node=node or db.node_tag,
                created_at=naming.iso_time(now),
                progress=progress,
                claim=claim,
            )
