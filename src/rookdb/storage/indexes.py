"""Indexes: definitions plus SQLite expression indexes that serve queries on their fields.

Each indexed field becomes a SQLite index on
``(collection_lower, json_extract(body, '$.field'))``; SQLite keeps it current
on every write, builds it in one pass over existing documents when created,
and a snapshot (a raw copy of the file) carries it along.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from typing import Any

import orjson

from rookdb.errors import InvalidInput, NotFound
from rookdb.storage.documents import row_to_document
from rookdb.storage.engine import WriteTx
from rookdb.storage.model import (
    MAX_INTEGER,
    MIN_INTEGER,
    Condition,
    IndexDefinition,
    QueryResult,
    check_collection,
    check_field_path,
    check_integer,
    check_name,
)

# Each indexed field is one SQLite index over every document: every write
# updates it (about 0.1 ms a put per field) and a restore builds it in one more
# pass over the documents (about 70 ms per 20,000). 3,000 fields made a
# 20,000-document restore take 332 s; these limits keep both within reason.
MAX_INDEX_FIELDS = 64
MAX_DATABASE_INDEX_FIELDS = 256
OPERATORS = {"=": "=", "==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
MAX_PAGE_SIZE = 10_000
# Every SQLite index serving an indexed field is named with this prefix (and
# nothing else is), so the field indexes of a file can be counted.
FIELD_INDEX_PREFIX = "ix_"


def _sql_index_name(index_name: str, field: str) -> str:
    digest = hashlib.sha256(f"{index_name.lower()}\x1f{field}".encode()).hexdigest()[:20]
    return f"{FIELD_INDEX_PREFIX}{digest}"


def _expr(field: str) -> str:
    # The field path was validated to [A-Za-z0-9_.] so embedding it is safe.
    return f"json_extract(body, '$.{field}')"


def define(tx: WriteTx, name: str, collection: str, fields: list[str]) -> IndexDefinition:
    """Create or replace an index definition and build its data over existing documents."""
    check_name(name, "name")
    check_collection(collection)
    if not fields:
        raise InvalidInput("an index needs at least one field", field="fields")
    clean = tuple(dict.fromkeys(check_field_path(f) for f in fields))
    existing = _load(tx.conn, name)
    if existing is not None:
        _drop_sql_indexes(tx.conn, existing)
    for field in clean:
        tx.conn.execute(
            f"CREATE INDEX IF NOT EXISTS {_sql_index_name(name, field)} "
            f"ON documents(collection_lower, {_expr(field)})"
        )
    etag = tx.next_etag()
    tx.conn.execute(
        "INSERT OR REPLACE INTO indexes VALUES (?, ?, ?, ?, ?)",
        (name.lower(), name, collection, orjson.dumps(list(clean)).decode(), etag),
    )
    tx.conn.execute("DELETE FROM tombstones WHERE kind = 'index' AND key = ?", (name.lower(),))
    return IndexDefinition(name, collection, clean, etag)


def check_width(conn: sqlite3.Connection, name: str, fields: list[str]) -> None:
    """Refuse a definition past MAX_INDEX_FIELDS, or one that takes the database past
    MAX_DATABASE_INDEX_FIELDS (for new definitions: a restore replays what was stored)."""
    wanted = len({str(f) for f in fields})  # each field is checked when the index is defined
    if wanted > MAX_INDEX_FIELDS:
        raise InvalidInput(
            f"an index has at most {MAX_INDEX_FIELDS} fields, not {wanted}: each indexed field "
            "slows every write and every restore; index the fields queries use",
            field="fields",
        )
    others = sum(len(d.fields) for d in list_all(conn) if d.name.lower() != name.lower())
    room = max(0, MAX_DATABASE_INDEX_FIELDS - others)
    if wanted > room:
        raise InvalidInput(
            f"a database indexes at most {MAX_DATABASE_INDEX_FIELDS} fields across its indexes; "
            f"its other indexes have {others}, so this one may have {room} at most: "
            "delete or narrow an index first",
            field="fields",
        )


def drop(tx: WriteTx, name: str) -> int | None:
    existing = _load(tx.conn, name)
    if existing is None:
        return None
    _drop_sql_indexes(tx.conn, existing)
    tx.conn.execute("DELETE FROM indexes WHERE name_lower = ?", (name.lower(),))
    etag = tx.next_etag()
    tx.conn.execute(
        "INSERT OR REPLACE INTO tombstones VALUES ('index', ?, ?, NULL, ?, ?, ?)",
        (name.lower(), existing.name, existing.collection, etag, tx.now),
    )
    return etag


def write_tombstone(
    tx: WriteTx, name: str, collection: str | None, etag: int, deleted_at: str
) -> None:
    """Drop an index (when defined) and leave its tombstone with the etag and time recorded.

    For a copy that keeps its source's etags (a restore, a follower of a write node).
    """
    existing = _load(tx.conn, name)
    if existing is not None:
        _drop_sql_indexes(tx.conn, existing)
        tx.conn.execute("DELETE FROM indexes WHERE name_lower = ?", (name.lower(),))
    tx.conn.execute(
        "INSERT OR REPLACE INTO tombstones VALUES ('index', ?, ?, NULL, ?, ?, ?)",
        (name.lower(), name, collection, etag, deleted_at),
    )
    tx.etag = max(tx.etag, etag)


def _drop_sql_indexes(conn: sqlite3.Connection, definition: IndexDefinition) -> None:
    for field in definition.fields:
        conn.execute(f"DROP INDEX IF EXISTS {_sql_index_name(definition.name, field)}")


def _load(conn: sqlite3.Connection, name: str) -> IndexDefinition | None:
    row = conn.execute(
        "SELECT name, collection, fields, etag FROM indexes WHERE name_lower = ?", (name.lower(),)
    ).fetchone()
    if row is None:
        return None
    return IndexDefinition(row[0], row[1], tuple(orjson.loads(row[2])), row[3])


def get(conn: sqlite3.Connection, name: str) -> IndexDefinition | None:
    return _load(conn, name)


def list_all(conn: sqlite3.Connection) -> list[IndexDefinition]:
    rows = conn.execute(
        "SELECT name, collection, fields, etag FROM indexes ORDER BY name_lower"
    ).fetchall()
    return [IndexDefinition(r[0], r[1], tuple(orjson.loads(r[2])), r[3]) for r in rows]


def query(
    conn: sqlite3.Connection,
    collection: str,
    conditions: list[Condition],
    *,
    start: int = 0,
    page_size: int = 100,
    index: str | None = None,
    order_by: str | None = None,
) -> QueryResult:
    """Documents of `collection` matching every condition, served by index data."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput(f"page size must be 1..{MAX_PAGE_SIZE}", field="page_size")
    check_integer(start, "start")
    indexed = _indexed_fields(conn, collection, index)
    where = ["collection_lower = ?"]
    params: list[Any] = [collection.lower()]
    for cond in conditions:
        field = check_field_path(cond.field)
        if field not in indexed:
            known = ", ".join(sorted(indexed)) or "none"
            raise InvalidInput(
                f"field {field!r} is not indexed for collection {collection!r} "
                f"(indexed fields: {known}); create an index on it first",
                field="where",
            )
        where.append(_condition_sql(cond, params))
    order = "id_lower"
    if order_by:
        descending = order_by.startswith("-")
        order_field = check_field_path(order_by.lstrip("-"))
        if order_field not in indexed:
            raise InvalidInput(f"cannot order by unindexed field {order_field!r}", field="order_by")
        order = _expr(order_field) + (" DESC" if descending else "") + ", id_lower"
    where_sql = " AND ".join(where)
    total = conn.execute(f"SELECT COUNT(*) FROM documents WHERE {where_sql}", params).fetchone()[0]
    rows = conn.execute(
        "SELECT id, collection, etag, last_modified, change_vector, body FROM documents "
        f"WHERE {where_sql} ORDER BY {order} LIMIT ? OFFSET ?",
        [*params, page_size, start],
    ).fetchall()
    return QueryResult([row_to_document(r) for r in rows], total, index)


def _condition_sql(cond: Condition, params: list[Any]) -> str:
    expr = _expr(cond.field)
    if cond.op == "in":
        values = cond.value if isinstance(cond.value, list) else [cond.value]
        if not values:
            return "0"
        params.extend(_sql_value(v) for v in values)
        return f"{expr} IN ({', '.join('?' for _ in values)})"
    op = OPERATORS.get(cond.op)
    if op is None:
        allowed = ", ".join([*OPERATORS, "in"])
        raise InvalidInput(f"unknown operator {cond.op!r}; use one of {allowed}", field="where")
    if cond.value is None:
        if op not in ("=", "!="):
            raise InvalidInput("null can only be compared with = or !=", field="where")
        return f"{expr} IS {'NOT ' if op == '!=' else ''}NULL"
    params.append(_sql_value(cond.value))
    return f"{expr} {op} ?"


def _sql_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and not MIN_INTEGER <= value <= MAX_INTEGER:
        # Past 64 bits SQLite has no integer for it; json_extract reads such a
        # number from a document as a float, so compare it as one (by value).
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if isinstance(value, float) and math.isnan(value):
        raise InvalidInput("query values must be numbers, not NaN", field="where")
    if isinstance(value, int | float | str):
        return value
    raise InvalidInput(
        f"query values must be strings, numbers, booleans or null, not {value!r}", field="where"
    )


def _indexed_fields(conn: sqlite3.Connection, collection: str, index: str | None) -> set[str]:
    if index is not None:
        definition = _load(conn, index)
        if definition is None:
            raise NotFound(f"index {index!r} does not exist")
        if definition.collection.lower() != collection.lower():
            raise InvalidInput(
                f"index {index!r} covers collection {definition.collection!r}, not {collection!r}",
                field="index",
            )
        return set(definition.fields)
    fields: set[str] = set()
    for definition in list_all(conn):
        if definition.collection.lower() == collection.lower():
            fields.update(definition.fields)
    return fields
