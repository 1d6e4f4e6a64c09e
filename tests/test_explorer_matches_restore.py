"""`backup get ID --until X` equals a full restore up to X followed by `get ID`, for any history.

Random puts, deletes and attachment changes over a few ids (odd characters and
case variants included) are cut into a full backup and incrementals; at every
point of the chain, every id is read both ways: from the explorer (catalogs
and one block per file) and from a database restored up to that point. The
document with its @metadata, its attachments and their content must agree, a
deleted or never-written id must be reported as such, and `documents()` must
list exactly the restored database's ids.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rookdb
from rookdb.backup import write_full_backup, write_incremental_backup
from rookdb.errors import NotFound
from rookdb.explorer import BackupDiff, open_backup
from rookdb.restore import restore_database
from rookdb.storage import Database

DOC_IDS = ["users/1", "USERS/1", "orders/ä ö/1", "notes/a b#?&%", "plain"]
T0 = datetime(2026, 11, 24, 2, 0, 0, tzinfo=UTC)

operation = st.one_of(
    st.tuples(st.just("put"), st.sampled_from(DOC_IDS), st.integers(0, 9)),
    st.tuples(st.just("delete"), st.sampled_from(DOC_IDS), st.just(0)),
    st.tuples(st.just("attach"), st.sampled_from(DOC_IDS), st.integers(0, 2)),
    st.tuples(st.just("detach"), st.sampled_from(DOC_IDS), st.integers(0, 2)),
    st.tuples(st.just("backup"), st.just(""), st.just(0)),
)


def apply(db: Database, kind: str, target: str, value: int) -> None:
    try:
        if kind == "put":
            db.put(target, {"n": value, "text": "x" * value * 50})
        elif kind == "delete":
            db.delete(target)
        elif kind == "attach":
            db.put_attachment(target, f"a{value}", bytes([value + 1]) * (value * 900 + 3))
        elif kind == "detach":
            db.delete_attachment(target, f"a{value}")
    except NotFound:
        pass  # an attachment change on a document that is not there


def write_chain(
    db: Database, root: Path, ops: list[tuple[str, str, int]], backup_type: str = "backup"
) -> Path:
    """A full backup (or snapshot) first, then an incremental at each "backup" and at the end."""
    folder = write_full_backup(db, root, now=T0, backup_type=backup_type).path.parent
    written = db.last_etag
    hour = 0
    for kind, target, value in [*ops, ("backup", "", 0)]:
        if kind != "backup":
            apply(db, kind, target, value)
            continue
        if db.last_etag > written:
            hour += 1
            write_incremental_backup(db, folder, written, now=T0 + timedelta(hours=hour))
            written = db.last_etag
    return folder


def assert_same(explorer_db: object, restored: Database, doc_id: str) -> None:
    from rookdb.explorer import BackupExplorer

    assert isinstance(explorer_db, BackupExplorer)
    expected = restored.get(doc_id)
    try:
        found = explorer_db.get(doc_id)
    except NotFound:
        assert expected is None, f"{doc_id}: the explorer says absent, the restore has it"
        return
    if expected is None:
        assert found.deleted, f"{doc_id}: the explorer has a document the restore lacks"
        return
    assert not found.deleted
    assert found.document == expected.to_json()
    attachments = restored.list_attachments(doc_id)
    assert [(a.name, a.hash, a.size) for a in attachments] == [
        (a.name, a.hash, a.size) for a in found.attachments
    ]
    for info in attachments:
        found_attachment = explorer_db.attachment(doc_id, info.name)
        assert found_attachment.content_type == info.content_type
        assert b"".join(found_attachment.chunks) == restored.read_attachment(doc_id, info.name)


def content(db: Database) -> dict[str, tuple[object, ...]]:
    # Collection names are case-insensitive, and so is the diff: a document put again under
    # "USERS/1" with the same body has collection "USERS" instead of "Users", not a change.
    return {
        d.id.lower(): (
            d.body,
            d.collection.lower(),
            [(a.name, a.hash) for a in db.list_attachments(d.id)],
        )
        for d in db.list_documents(page_size=100)
    }


def expected_changes(old: Database, new: Database) -> dict[str, str]:
    before, after = content(old), content(new)
    changes = {key: "deleted" for key in before.keys() - after.keys()}
    changes.update({key: "added" for key in after.keys() - before.keys()})
    changes.update(
        {key: "changed" for key in before.keys() & after.keys() if before[key] != after[key]}
    )
    return changes


@pytest.mark.parametrize("backup_type", ["backup", "snapshot"])
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    before=st.lists(operation.filter(lambda op: op[0] != "backup"), min_size=1, max_size=12),
    after=st.lists(operation, max_size=25),
)
def test_get_at_every_point_equals_a_restore_then_get(
    backup_type: str, before: list[tuple[str, str, int]], after: list[tuple[str, str, int]]
) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        rookdb.open(Path(tmp) / "data") as instance,
        pytest.MonkeyPatch.context() as env,
    ):
        env.setenv("ROOKDB_EXPLORER_CACHE", str(Path(tmp) / "cache"))
        db = instance.create_database("shop")
        for op in before:
            apply(db, *op)
        folder = write_chain(db, Path(tmp) / "backups", after, backup_type)
        files = sorted(p.name for p in folder.iterdir())
        copies = []
        for number, name in enumerate(files):
            restored = restore_database(instance, folder, f"copy{number}", until=name).database
            copy = instance.database(restored)
            copies.append(copy)
            with open_backup(folder, name) as explorer:
                for doc_id in DOC_IDS:
                    assert_same(explorer, copy, doc_id)
                listed = sorted(d.id for d in explorer.documents())
                assert listed == sorted(d.id for d in copy.list_documents(page_size=100))
        # A diff between any two points names exactly the ids whose content differs.
        for first, second in [(0, len(files) - 1), (len(files) - 1, 0)]:
            with (
                open_backup(folder, files[first]) as before,
                open_backup(folder, files[second]) as after,
            ):
                rows = {row.id.lower(): row.change for row in BackupDiff(before, after).rows()}
            assert rows == expected_changes(copies[first], copies[second])
