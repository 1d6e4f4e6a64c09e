"""Documents: put, get, delete, tombstones, etags, identities, batches, bad input."""

from __future__ import annotations

import pytest

from rookdb import Database, Instance
from rookdb.errors import AlreadyExists, ConcurrencyConflict, InvalidInput, NotFound
from rookdb.storage import BatchOperation, TombstoneChange


def test_put_get_preserves_case_and_matches_case_insensitively(db: Database) -> None:
    db.put("Users/Ann", {"name": "Ann"})
    doc = db.get("users/ann")
    assert doc is not None
    assert doc.id == "Users/Ann"
    assert doc.collection == "Users"
    meta = doc.to_json()["@metadata"]
    assert meta["@collection"] == "Users"
    assert meta["@etag"] == doc.etag
    assert meta["@last-modified"].endswith("Z")
    assert meta["@change-vector"].startswith("A:")


def test_collection_from_metadata_wins(db: Database) -> None:
    db.put("x1", {"a": 1, "@metadata": {"@collection": "Orders"}})
    assert db.get("x1").collection == "Orders"  # type: ignore[union-attr]
    assert db.collections() == {"Orders": 1}


def test_every_change_gets_a_growing_etag(db: Database) -> None:
    etags = [db.put(f"users/{i}", {"i": i}).etag for i in range(5)]
    db.delete("users/0")
    db.next_identity("orders")
    assert etags == sorted(etags) and len(set(etags)) == 5
    assert db.last_etag == etags[-1] + 2


def test_delete_leaves_a_tombstone_and_reput_clears_it(db: Database) -> None:
    db.put("users/1", {"a": 1})
    assert db.delete("users/1") is True
    assert db.get("users/1") is None
    assert db.delete("users/1") is False
    with db.changes() as feed:
        tombstones = [c for c in feed if isinstance(c, TombstoneChange)]
    assert [(t.id, t.collection, t.of) for t in tombstones] == [("users/1", "Users", "document")]
    db.put("users/1", {"a": 2})
    with db.changes() as feed:
        assert not [c for c in feed if isinstance(c, TombstoneChange)]


def test_expected_etag_enforces_optimistic_concurrency(db: Database) -> None:
    first = db.put("users/1", {"v": 1}, expected_etag=0)
    with pytest.raises(ConcurrencyConflict, match="already exists"):
        db.put("users/1", {"v": 2}, expected_etag=0)
    with pytest.raises(ConcurrencyConflict, match="expected at etag 999"):
        db.put("users/1", {"v": 2}, expected_etag=999)
    db.put("users/1", {"v": 3}, expected_etag=first.etag)
    assert db.get("users/1").body == {"v": 3}  # type: ignore[union-attr]


def test_identities_hand_out_sequential_ids(db: Database) -> None:
    ids = [db.put("orders|", {"n": i}).id for i in range(3)]
    assert ids == ["orders/1", "orders/2", "orders/3"]
    assert db.identities() == {"orders": 3}


def test_batch_is_atomic(db: Database) -> None:
    db.put("users/1", {"v": 1})
    with pytest.raises(ConcurrencyConflict):
        db.batch(
            [
                BatchOperation("put", "users/2", {"v": 2}),
                BatchOperation("delete", "users/1"),
                BatchOperation("put", "users/3", {"v": 3}, expected_etag=12345),
            ]
        )
    assert db.get("users/2") is None
    assert db.get("users/1") is not None
    results = db.batch(
        [BatchOperation("put", "users/2", {"v": 2}), BatchOperation("delete", "users/1")]
    )
    assert [r.type for r in results] == ["put", "delete"]
    assert db.get("users/1") is None and db.get("users/2") is not None


def test_list_by_collection_pages(db: Database) -> None:
    db.bulk_insert((f"users/{i:03d}", {"i": i}) for i in range(25))
    db.put("orders/1", {"o": 1})
    page = db.list_documents("users", start=10, page_size=10)
    assert [d.id for d in page] == [f"users/{i:03d}" for i in range(10, 20)]
    assert db.collections() == {"Orders": 1, "Users": 25}


@pytest.mark.parametrize(
    ("doc_id", "message"),
    [("", "must not be empty"), ("x" * 600, "at most 512"), ("a\nb", "control characters")],
)
def test_bad_ids_are_rejected_and_nothing_is_written(
    db: Database, doc_id: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        db.put(doc_id, {"a": 1})
    assert db.last_etag == 0


def test_non_object_body_is_rejected(db: Database) -> None:
    with pytest.raises(InvalidInput, match="JSON object"):
        db.put("users/1", [1, 2])  # type: ignore[arg-type]
    assert db.last_etag == 0


def test_database_names_with_path_characters_are_rejected(instance: Instance) -> None:
    for bad in ["../x", "a/b", ".hidden", "", "a" * 65, "x\\y"]:
        with pytest.raises(InvalidInput, match="not allowed"):
            instance.create_database(bad)
    assert instance.database_names() == []


def test_databases_create_list_delete(instance: Instance) -> None:
    instance.create_database("one")
    with pytest.raises(AlreadyExists):
        instance.create_database("ONE")
    instance.database("one").put("users/1", {"a": 1})
    infos = instance.list_databases()
    assert [(i.record.name, i.stats.documents) for i in infos] == [("one", 1)]
    instance.delete_database("one")
    with pytest.raises(NotFound, match="'one' does not exist"):
        instance.database("one")


def test_data_survives_reopen(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import rookdb

    with rookdb.open(tmp_path) as inst:
        inst.create_database("keep").put("users/1", {"a": 1})
    with rookdb.open(tmp_path) as inst:
        db = inst.database("keep")
        assert db.get("users/1").body == {"a": 1}  # type: ignore[union-attr]
        assert db.put("users/2", {}).etag == 2
