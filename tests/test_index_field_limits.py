"""How wide indexes may be: 64 fields per index, 256 indexed fields per database.

Each indexed field is a SQLite index over every document: each one costs
every write a little (about 0.1 ms a put) and every restore one more pass
over the documents (about 70 ms per 20,000). An index of 3,000 fields made a
20,000-document restore take 332 s. Definitions past the limits are refused
where they come in; a backup that already holds a wider index still restores.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import rookdb
from rookdb.backup import write_full_backup
from rookdb.errors import InvalidInput
from rookdb.restore import restore_database
from rookdb.storage import indexes as index_store
from rookdb.storage.indexes import MAX_DATABASE_INDEX_FIELDS, MAX_INDEX_FIELDS


def fields(n: int, prefix: str = "f") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def test_limits_are_the_documented_ones() -> None:
    assert (MAX_INDEX_FIELDS, MAX_DATABASE_INDEX_FIELDS) == (64, 256)


@pytest.mark.parametrize("width", [65, 3000])
def test_an_index_wider_than_64_fields_is_a_400_naming_fields(
    http: httpx.Client, width: int
) -> None:
    assert http.post("/databases", json={"name": "shop"}).status_code == 201
    answer = http.put(
        "/databases/shop/indexes/wide", json={"collection": "Users", "fields": fields(width)}
    )
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["field"] == "fields" and "64" in body["message"], body
    assert http.get("/databases/shop/indexes").json() == {"indexes": []}
    narrow = {"collection": "Users", "fields": fields(64)}
    ok = http.put("/databases/shop/indexes/wide", json=narrow)
    assert ok.status_code == 200 and len(ok.json()["fields"]) == 64


def test_a_database_indexes_at_most_256_fields(db: rookdb.Database) -> None:
    for n in range(4):
        db.create_index(f"ix{n}", "Users", fields(64, prefix=f"g{n}_"))
    # Replacing an index counts its new fields instead of its old ones.
    db.create_index("ix0", "Users", fields(64, prefix="h_"))
    with pytest.raises(InvalidInput, match="256") as refused:
        db.create_index("one-more", "Users", ["name"])
    assert refused.value.field == "fields"
    assert db.get_index("one-more") is None
    db.delete_index("ix3")
    assert db.create_index("one-more", "Users", ["name"]).fields == ("name",)


def test_repeated_fields_count_once(db: rookdb.Database) -> None:
    assert db.create_index("same", "Users", ["name"] * 100).fields == ("name",)


def test_a_backup_holding_a_wider_index_still_restores(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    db = instance.create_database("shop")
    db.put("users/1", {"f70": 7})
    # As an older version could have stored it: straight through the storage layer.
    with db.engine.write() as tx:
        index_store.define(tx, "wide", "Users", fields(100))
    full = write_full_backup(db, tmp_path / "backups")
    restore_database(instance, full.path.parent, "copy")
    copy = instance.database("copy")
    wide = copy.get_index("wide")
    assert wide is not None and len(wide.fields) == 100
    assert copy.query("Users", [("f70", "==", 7)]).total == 1
