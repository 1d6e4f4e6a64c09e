"""Put selected documents from a backup back into a live database, as new writes.

The documents (with their attachments) are written through the database's
normal write path, so they get new etags, replicate, and enter the next
incremental backup like any other change; nothing of the live database is
replaced wholesale. Each write is guarded by the live etag the plan saw, so
a document changed meanwhile is reported as a conflict rather than
overwritten blindly.

The plan comes first and is the same for a dry run and for the real thing:
for each selected id, what the backup holds at the point, what the live
database holds, and what the conflict choice makes of it.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from rookdb.errors import ConcurrencyConflict, InvalidInput
from rookdb.explorer.explorer import BackupExplorer, FoundDocument
from rookdb.storage.database import Database, NewAttachment
from rookdb.storage.model import Document

SPOOL_IN_MEMORY = 8 * 1024 * 1024  # an attachment larger than this waits in a temp file

OnConflict = Literal["skip", "overwrite", "overwrite-if-older"]
ON_CONFLICT: tuple[str, ...] = ("skip", "overwrite", "overwrite-if-older")
Action = Literal["create", "overwrite", "skip"]


def check_on_conflict(value: str) -> OnConflict:
    """`value` when it is a conflict choice, else InvalidInput naming the field."""
    if value not in ON_CONFLICT:
        raise InvalidInput(
            f"--on-conflict {value!r} is not one of {', '.join(ON_CONFLICT)}",
            field="on_conflict",
        )
    return cast(OnConflict, value)


@dataclass(frozen=True)
class Selection:
    """Which documents to put back: given ids, one collection, or ids with a prefix."""

    ids: tuple[str, ...] = ()
    collection: str | None = None
    prefix: str | None = None

    def __post_init__(self) -> None:
        given = sum(bool(x) for x in (self.ids, self.collection, self.prefix))
        if given != 1:
            raise InvalidInput(
                "select the documents with exactly one of --ids, --collection or --prefix",
                field="ids",
            )


@dataclass(frozen=True)
class PlannedWrite:
    """What happens (or would happen) to one selected document."""

    id: str
    action: Action
    reason: str
    backup_etag: int
    live_etag: int | None
    attachments: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "reason": self.reason,
            "backup_etag": self.backup_etag,
            "live_etag": self.live_etag,
            "attachments": self.attachments,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlannedWrite:
        return cls(
            str(data["id"]), data["action"], str(data["reason"]), int(data["backup_etag"]),
            data.get("live_etag"), int(data["attachments"]),
        )  # fmt: skip


@dataclass
class SelectiveRestore:
    """The outcome of putting documents back (or of its dry run)."""

    database: str
    point: str
    dry_run: bool
    writes: list[PlannedWrite] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        found = {"create": 0, "overwrite": 0, "skip": 0}
        for write in self.writes:
            found[write.action] += 1
        return found

    def summary(self) -> str:
        c = self.counts()
        verb = "would put back" if self.dry_run else "put back"
        return (
            f"{verb} {c['create'] + c['overwrite']} document(s) into {self.database} from "
            f"{self.point}: {c['create']} created, {c['overwrite']} overwritten, "
            f"{c['skip']} skipped"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "point": self.point,
            "dry_run": self.dry_run,
            "counts": self.counts(),
            "writes": [w.to_json() for w in self.writes],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SelectiveRestore:
        """The answer of `POST /databases/{db}/restore-selected`, typed back."""
        writes = [PlannedWrite.from_json(w) for w in data["writes"]]
        return cls(str(data["database"]), str(data["point"]), bool(data["dry_run"]), writes)


def restore_selected(
    explorer: BackupExplorer,
    live: Database,
    selection: Selection,
    on_conflict: OnConflict = "skip",
    *,
    dry_run: bool = False,
) -> SelectiveRestore:
    """Put the selected documents of the explorer's point back into `live` (or plan it)."""
    result = SelectiveRestore(live.name, explorer.point.describe(), dry_run)
    for found in _selected(explorer, selection):
        planned = _plan(found, live.get(found.id), on_conflict)
        if not dry_run and planned.action != "skip":
            planned = _write(explorer, live, found, planned)
        result.writes.append(planned)
    return result


def _selected(explorer: BackupExplorer, selection: Selection) -> Iterator[FoundDocument]:
    if selection.ids:
        # Every id is looked up before anything is written: one unknown id stops it all.
        found = [explorer.get(doc_id) for doc_id in selection.ids]
        yield from found
        return
    for listed in explorer.documents(selection.collection, selection.prefix):
        yield explorer.get(listed.id)


def _plan(found: FoundDocument, current: Document | None, on_conflict: OnConflict) -> PlannedWrite:
    live_etag = current.etag if current is not None else None
    count = len(found.attachments)

    def planned(action: Action, reason: str) -> PlannedWrite:
        return PlannedWrite(found.id, action, reason, found.etag, live_etag, count)

    if found.deleted or found.body is None:
        return planned("skip", f"deleted in the backup ({found.describe_delete()})")
    if current is None:
        return planned("create", "not in the live database")
    if current.body == found.body:
        return planned("skip", "the live document already has this content")
    if on_conflict == "skip":
        return planned("skip", f"exists in the live database (etag {current.etag})")
    if on_conflict == "overwrite-if-older":
        backup_time = found.last_modified or ""
        if current.last_modified >= backup_time:
            return planned(
                "skip",
                f"the live document is newer ({current.last_modified} >= {backup_time})",
            )
    return planned("overwrite", f"replaces the live document (etag {current.etag})")


def _write(
    explorer: BackupExplorer, live: Database, found: FoundDocument, planned: PlannedWrite
) -> PlannedWrite:
    assert found.body is not None
    expected = planned.live_etag if planned.live_etag is not None else 0
    with contextlib.ExitStack() as spools:
        # Every attachment read from the backup (checked) before the write starts: the
        # write is short, and a damaged backup writes nothing.
        attachments = []
        for attachment in found.attachments:
            content = explorer.attachment(found.id, attachment.name)
            spool = spools.enter_context(tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY))
            for chunk in content.chunks:
                spool.write(chunk)
            spool.seek(0)
            attachments.append(NewAttachment(attachment.name, content.content_type, spool))
        try:
            live.put_with_attachments(found.id, found.body, attachments, expected_etag=expected)
        except ConcurrencyConflict as exc:
            return _skipped(planned, f"changed in the live database meanwhile: {exc.message}")
        except InvalidInput as exc:
            return _skipped(planned, f"refused by the live database: {exc.message}")
    return planned


def _skipped(planned: PlannedWrite, reason: str) -> PlannedWrite:
    return PlannedWrite(
        planned.id, "skip", reason, planned.backup_etag, planned.live_etag, planned.attachments
    )
