"""Property: etags grow with every change, and the change feed mirrors the live state."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rookdb
from rookdb.storage import DocumentChange, TombstoneChange

ids = st.sampled_from([f"users/{i}" for i in range(6)] + ["Users/1", "orders/1"])
operations = st.lists(
    st.one_of(
        st.tuples(st.just("put"), ids, st.integers(0, 1000)),
        st.tuples(st.just("delete"), ids, st.just(0)),
        st.tuples(st.just("identity"), st.sampled_from(["users", "orders"]), st.just(0)),
    ),
    min_size=1,
    max_size=40,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_etags_grow_and_feed_matches_state(tmp_path: Path, ops: list[tuple[str, str, int]]) -> None:
    with rookdb.open(tmp_path / f"d{abs(hash(tuple(ops)))}") as inst:
        db = inst.create_database("prop")
        live: dict[str, int] = {}
        deleted: set[str] = set()
        last = 0
        for kind, key, value in ops:
            before = db.last_etag
            if kind == "put":
                etag = db.put(key, {"v": value}).etag
                assert etag > last
                last = etag
                live[key.lower()] = value
                deleted.discard(key.lower())
            elif kind == "delete":
                existed = db.delete(key)
                assert existed == (key.lower() in live)
                if existed:
                    assert db.last_etag > before
                    live.pop(key.lower())
                    deleted.add(key.lower())
                else:
                    assert db.last_etag == before
            else:
                db.next_identity(key)
                assert db.last_etag == before + 1
            last = db.last_etag

        with db.changes(0) as feed:
            changes = list(feed)
            assert feed.last_etag == db.last_etag
        etags = [c.etag for c in changes]
        assert etags == sorted(etags) and len(set(etags)) == len(etags)
        docs = {c.id.lower(): c for c in changes if isinstance(c, DocumentChange)}
        tombs = {c.id.lower() for c in changes if isinstance(c, TombstoneChange)}
        assert set(docs) == set(live)
        assert tombs == deleted
        assert not set(docs) & tombs
        for key, value in live.items():
            assert db.get(key).body == {"v": value}  # type: ignore[union-attr]


def test_feed_since_etag_is_exact(tmp_path: Path) -> None:
    with rookdb.open(tmp_path) as inst:
        db = inst.create_database("feed")
        for i in range(10):
            db.put(f"users/{i}", {"i": i})
        mark = db.last_etag
        db.put("users/3", {"i": 33})
        db.delete("users/4")
        with db.changes(mark) as feed:
            got = [(c.kind, getattr(c, "id", None)) for c in feed]
        assert got == [("document", "users/3"), ("tombstone", "users/4")]


def test_feed_is_a_consistent_snapshot_while_writes_continue(tmp_path: Path) -> None:
    with rookdb.open(tmp_path) as inst:
        db = inst.create_database("snap")
        db.bulk_insert((f"users/{i}", {"i": i}) for i in range(100))
        with db.changes(0) as feed:
            db.bulk_insert((f"users/{i}", {"i": -i}) for i in range(100, 200))
            seen = list(feed)
            assert feed.last_etag == 100
        assert len(seen) == 100
        assert db.last_etag == 200


def test_feed_interleaves_every_kind_before_between_and_after_documents(tmp_path: Path) -> None:
    # Documents are merged apart from the other kinds: changes before the first
    # document, between two, and after the last must all come out, in etag order.
    with rookdb.open(tmp_path) as inst:
        db = inst.create_database("feed")
        db.next_identity("orders")
        db.create_index("ByV", "Users", ["v"])
        db.put("users/1", {"v": 1})
        db.put_attachment("users/1", "a.txt", b"a", "text/plain")
        db.put("users/2", {"v": 2})
        db.delete("users/2")
        db.put("users/3", {"v": 3})
        db.next_identity("invoices")
        db.delete_index("ByV")
        with db.changes(0) as feed:
            changes = list(feed)
        etags = [c.etag for c in changes]
        assert etags == sorted(set(etags))
        got = [(c.kind, getattr(c, "id", getattr(c, "name", None))) for c in changes]
        assert got == [
            ("identity", "orders"),
            ("document", "users/1"),
            ("attachment", "a.txt"),
            ("tombstone", "users/2"),
            ("document", "users/3"),
            ("identity", "invoices"),
            ("tombstone", "ByV"),
        ]


def test_feed_in_batches_gives_the_same_changes_in_the_same_order(tmp_path: Path) -> None:
    # A full backup reads the feed as runs of document rows: the runs must be cut
    # wherever another change falls between two documents, and hold the stored body.
    with rookdb.open(tmp_path) as inst:
        db = inst.create_database("feed")
        db.next_identity("orders")
        db.bulk_insert((f"users/{i}", {"v": i, "text": "é" * i}) for i in range(2500))
        db.put_attachment("users/7", "a.txt", b"a", "text/plain")
        db.bulk_insert((f"users/{i}", {"v": -i}) for i in range(2500, 2600))
        db.delete("users/2")
        db.put("users/2", {"v": 2})
        db.next_identity("invoices")
        with db.changes(0) as feed:
            expected = [
                (c.etag, c.id, c.collection, c.last_modified, c.change_vector, c.body_json.encode())
                if isinstance(c, DocumentChange)
                else c
                for c in feed
            ]
        with db.changes(0) as feed:
            batches = list(feed.batches())
        flattened = [
            item for batch in batches for item in (batch if isinstance(batch, list) else [batch])
        ]
        assert flattened == expected
        runs = [batch for batch in batches if isinstance(batch, list)]
        assert all(runs) and len(runs) >= 4  # cut by the attachment and the tombstone
