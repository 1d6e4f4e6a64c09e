"""The kinds of change a database records, and every name each kind goes by.

One row per kind: the change feed's kind (and, for a tombstone, what it
records the deletion of), the name its records are counted under in a backup
file's trailer, the name a restore reports it under, and the rows of the
database file that hold it. Backup writers, verification, restore, snapshots
and drills all read these names here, so they cannot drift apart.

The trailer names are part of the file format: files written years ago carry
them, so they are never renamed. The restore names are part of the API
(``RestoreResult.counts``, the CLI's and the HTTP API's JSON).
"""

from __future__ import annotations

from dataclasses import dataclass

from rookdb.storage.changes import ChangeKind


@dataclass(frozen=True, slots=True)
class RecordKind:
    """One kind of change and its names in the feed, a trailer, a restore result and the file."""

    change: ChangeKind
    # What a tombstone records the deletion of (the ``tombstones.kind`` column); None otherwise.
    of: str | None
    count: str  # name in a backup file's trailer counts
    result: str  # name in a restore's counts
    table: str
    # Whether the rows a restored database holds of this kind match the records:
    # attachment and index tombstones are left out, since a restore into an empty
    # file has nothing for them to delete and keeps none. Snapshot trailers and
    # drills count rows of the other kinds.
    rows_counted: bool = True

    @property
    def row_filter(self) -> str:
        """The SQL condition selecting this kind's rows of `table` ("" for all of them)."""
        return f"kind = '{self.of}'" if self.of is not None else ""


DOCUMENT = RecordKind("document", None, "documents", "documents", "documents")
TOMBSTONE = RecordKind("tombstone", "document", "tombstones", "deletes", "tombstones")
ATTACHMENT = RecordKind("attachment", None, "attachments", "attachments", "attachments")
ATTACHMENT_TOMBSTONE = RecordKind(
    "tombstone",
    "attachment",
    "attachment_tombstones",
    "attachment_deletes",
    "tombstones",
    rows_counted=False,
)
IDENTITY = RecordKind("identity", None, "identities", "identities", "identities")
INDEX = RecordKind("index", None, "indexes", "indexes", "indexes")
INDEX_TOMBSTONE = RecordKind(
    "tombstone", "index", "index_tombstones", "index_deletes", "tombstones", rows_counted=False
)

# In the order restore results and snapshot trailers have always listed them.
RECORD_KINDS: tuple[RecordKind, ...] = (
    DOCUMENT,
    TOMBSTONE,
    ATTACHMENT,
    ATTACHMENT_TOMBSTONE,
    IDENTITY,
    INDEX,
    INDEX_TOMBSTONE,
)
ROW_COUNTED: tuple[RecordKind, ...] = tuple(k for k in RECORD_KINDS if k.rows_counted)

_BY_CHANGE: dict[tuple[str, str | None], RecordKind] = {(k.change, k.of): k for k in RECORD_KINDS}


def kind_of(change: str, of: str | None = None) -> RecordKind | None:
    """The kind of a change or backup record (`of` for tombstones); None when unknown."""
    return _BY_CHANGE.get((change, of if change == "tombstone" else None))
