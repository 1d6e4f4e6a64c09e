"""Apply order, property-style: any mix of changes, replicated in any batches, gives equal copies.

A write node takes random puts, deletes, attachments, identities and index
changes; two followers pull its changes at random points (each from its own last
etag, as a follower does over HTTP) and apply them with the same functions the
replication uses. At the end each follower's change feed equals the write
node's, line for line: same ids, etags, change vectors, bodies, attachment
hashes, identities and index definitions.
"""

from __future__ import annotations

import io
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rookdb.cluster.replication import apply_changes, export_changes
from rookdb.errors import NotFound
from rookdb.server.changes import change_line
from rookdb.storage import Database

DOC_IDS = [f"users/{n}" for n in range(5)]
operation = st.one_of(
    st.tuples(st.just("put"), st.sampled_from(DOC_IDS), st.integers(0, 9)),
    st.tuples(st.just("delete"), st.sampled_from(DOC_IDS), st.just(0)),
    st.tuples(st.just("attach"), st.sampled_from(DOC_IDS), st.integers(0, 3)),
    st.tuples(st.just("detach"), st.sampled_from(DOC_IDS), st.integers(0, 3)),
    st.tuples(st.just("identity"), st.sampled_from(["users", "orders"]), st.integers(0, 50)),
    st.tuples(st.just("index"), st.sampled_from(["by-n", "by-name"]), st.integers(0, 1)),
    st.tuples(st.just("drop-index"), st.sampled_from(["by-n", "by-name"]), st.just(0)),
    st.tuples(st.just("sync"), st.sampled_from([0, 1]), st.just(0)),
)


def apply_operation(db: Database, kind: str, target: str, value: int) -> None:
    try:
        if kind == "put":
            db.put(target, {"n": value, "name": f"n{value}"})
        elif kind == "delete":
            db.delete(target)
        elif kind == "attach":
            db.put_attachment(target, f"a{value}", bytes([value]) * (value * 700 + 1))
        elif kind == "detach":
            db.delete_attachment(target, f"a{value}")
        elif kind == "identity":
            db.set_identity(target, value)
        elif kind == "index":
            db.create_index(target, "Users", ["n"] if value else ["name"])
        elif kind == "drop-index":
            db.delete_index(target)
    except NotFound:
        pass  # an attachment on a document that is not there: nothing happens, as on a server


def pull(write_node: Database, follower: Database, work: Path) -> None:
    after = follower.engine.last_etag
    if write_node.engine.last_etag <= after:
        return
    buffer = io.BytesIO()
    export_changes(write_node, after, buffer)
    changes = work / f"changes-{after}.rookdb"
    changes.write_bytes(buffer.getvalue())
    apply_changes(follower, changes, fresh=after == 0)


def feed(db: Database) -> list[bytes]:
    with db.changes(0) as changes:
        return [change_line(change) for change in changes]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(operations=st.lists(operation, min_size=1, max_size=40))
# Found by this test: an attachment added and deleted between two pulls; the
# follower, which never had it, must still record its tombstone.
@example(operations=[("put", "users/0", 0), ("attach", "users/0", 2), ("detach", "users/0", 2)])
def test_followers_equal_the_write_node(
    tmp_path: Path, operations: list[tuple[str, str, int]]
) -> None:
    work = tmp_path / f"run-{len(list(tmp_path.iterdir()))}"
    work.mkdir()
    write_node = Database(work / "w.rookdb", "shop", node_tag="A", durable=False)
    followers = [
        Database(work / f"f{n}.rookdb", "shop", node_tag=tag, durable=False)
        for n, tag in enumerate("BC")
    ]
    try:
        for kind, target, value in operations:
            if kind == "sync":
                pull(write_node, followers[int(target)], work)
            else:
                apply_operation(write_node, kind, target, value)
        expected = feed(write_node)
        for follower in followers:
            pull(write_node, follower, work)
            assert feed(follower) == expected
            assert follower.identities() == write_node.identities()
            assert follower.list_indexes() == write_node.list_indexes()
            assert follower.engine.last_etag == write_node.engine.last_etag
    finally:
        for db in (write_node, *followers):
            db.close()
