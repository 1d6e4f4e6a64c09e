"""Property: restoring at any file of a chain gives exactly the database as it was then."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import rookdb
from rookdb.backup import latest_chain, write_full_backup, write_incremental_backup
from rookdb.errors import InvalidInput
from rookdb.restore import restore_database
from rookdb.storage import Database


def database_state(db: Database) -> dict[str, Any]:
    """Everything a user can observe: documents with metadata, attachments, identities, indexes."""
    docs = {}
    start = 0
    while page := db.list_documents(start=start, page_size=1000):
        for d in page:
            docs[d.id] = (d.collection, d.body, d.last_modified, d.change_vector)
        start += len(page)
    attachments = {
        (doc_id, a.name): (a.content_type, db.read_attachment(doc_id, a.name))
        for doc_id in docs
        for a in db.list_attachments(doc_id)
    }
    indexes = {(i.name, i.collection, i.fields) for i in db.list_indexes()}
    queries = {}
    for index in db.list_indexes():
        for field in index.fields:
            result = db.query(index.collection, [(field, "!=", None)], page_size=1000)
            queries[(index.name, field)] = sorted(d.id for d in result.documents)
    order = [d.id for d in sorted(_all(db), key=lambda d: d.etag)]
    return {
        "documents": docs,
        "attachments": attachments,
        "identities": db.identities(),
        "indexes": indexes,
        "queries": queries,
        "order": order,
        "collections": db.collections(),
    }


def _all(db: Database) -> list[Any]:
    out: list[Any] = []
    start = 0
    while page := db.list_documents(start=start, page_size=1000):
        out.extend(page)
        start += len(page)
    return out


IDS = ["users/1", "users/2", "orders/1"]
operation = st.one_of(
    st.tuples(
        st.just("put"),
        st.sampled_from(IDS),
        st.integers(0, 5),
        st.sampled_from(["Users", "People", None]),
    ),
    st.tuples(st.just("delete"), st.sampled_from(IDS)),
    st.tuples(
        st.just("attach"), st.sampled_from(IDS), st.sampled_from(["a.txt", "b.bin"]), st.binary()
    ),
    st.tuples(st.just("detach"), st.sampled_from(IDS), st.sampled_from(["a.txt", "b.bin"])),
    st.tuples(st.just("identity"), st.sampled_from(["users", "orders"])),
    st.tuples(
        st.just("index"),
        st.sampled_from(["ByV", "ByName"]),
        st.sampled_from(["Users", "People"]),
        st.sampled_from([["v"], ["name"], ["v", "name"]]),
    ),
    st.tuples(st.just("drop-index"), st.sampled_from(["ByV", "ByName"])),
    st.tuples(st.just("full"), st.sampled_from(["backup", "snapshot"])),
    st.tuples(st.just("incremental")),
)


def run_operation(db: Database, op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "put":
        _, doc_id, v, collection = op
        body: dict[str, Any] = {"v": v, "name": f"n{v}"}
        if collection:
            body["@metadata"] = {"@collection": collection}
        try:
            db.put(doc_id, body)
        except InvalidInput:
            # Another collection: the user deletes and re-creates it.
            db.delete(doc_id)
            db.put(doc_id, body)
    elif kind == "delete":
        db.delete(op[1])
    elif kind == "attach":
        if db.get(op[1]) is not None:
            db.put_attachment(op[1], op[2], op[3], "text/plain")
    elif kind == "detach":
        db.delete_attachment(op[1], op[2])
    elif kind == "identity":
        db.next_identity(op[1])
    elif kind == "index":
        db.create_index(op[1], op[2], op[3])
    elif kind == "drop-index":
        db.delete_index(op[1])


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(operation, min_size=1, max_size=30))
# A document deleted and re-created between two backups loses its attachments
# without attachment tombstones: the restore must drop them too.
@example(
    [
        ("put", "users/1", 1, None),
        ("attach", "users/1", "a.txt", b"x"),
        ("full", "backup"),
        ("delete", "users/1"),
        ("put", "users/1", 1, None),
    ]
)
# Moved to another collection (delete + put) after a snapshot, and an index dropped.
@example(
    [
        ("index", "ByV", "Users", ["v"]),
        ("put", "users/1", 1, "Users"),
        ("full", "snapshot"),
        ("put", "users/1", 2, "People"),
        ("drop-index", "ByV"),
        ("identity", "users"),
    ]
)
def test_restore_at_every_file_equals_state_then(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        instance = rookdb.open(root / "data", durable=False)
        try:
            db = instance.create_database("src")
            expected: list[tuple[Path, str, dict[str, Any]]] = []
            for op in [*ops, ("incremental",)]:
                if op[0] == "full":
                    written = write_full_backup(db, root / "backups", backup_type=op[1])
                elif op[0] == "incremental":
                    chain = latest_chain(root / "backups")
                    if chain is None:
                        written = write_full_backup(db, root / "backups")
                    else:
                        written = write_incremental_backup(db, chain.path, chain.last_etag)
                        if written is None:
                            assert db.last_etag == chain.last_etag
                            continue
                else:
                    run_operation(db, op)
                    continue
                expected.append((written.path.parent, written.file_name, database_state(db)))
            for n, (folder, file_name, state) in enumerate(expected):
                result = restore_database(instance, folder, f"r{n}", until=file_name)
                assert result.files[-1] == file_name
                restored = instance.database(f"r{n}")
                assert database_state(restored) == state
                assert restored.database_id != db.database_id
        finally:
            instance.close()


def test_incremental_after_restore_chain_continues_from_restored_state(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    db = instance.create_database("src")
    db.put("users/1", {"v": 1})
    full = write_full_backup(db, tmp_path)
    db.put("users/2", {"v": 2})
    db.delete("users/1")
    inc = write_incremental_backup(db, full.path.parent, full.last_etag)
    assert inc is not None and inc.since_etag == full.last_etag
    restore_database(instance, full.path.parent, "copy")
    copy = instance.database("copy")
    assert copy.last_etag == db.last_etag
    # The restored database is a database of its own: writes and backups go on.
    copy.put("users/3", {"v": 3})
    own = write_full_backup(copy, tmp_path / "copy")
    assert own.documents == 2
