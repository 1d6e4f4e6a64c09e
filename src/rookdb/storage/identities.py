"""Identities: named counters that turn ``users|`` into ``users/1``, ``users/2`` ..."""

from __future__ import annotations

import sqlite3

from rookdb.storage.engine import WriteTx


def next_value(tx: WriteTx, name: str) -> int:
    """Increment the identity `name` inside the current write and return its new value."""
    lower = name.lower()
    row = tx.conn.execute("SELECT value FROM identities WHERE name_lower = ?", (lower,)).fetchone()
    value = (row[0] if row else 0) + 1
    set_value(tx, name, value)
    return value


def set_value(tx: WriteTx, name: str, value: int) -> None:
    etag = tx.next_etag()
    tx.conn.execute(
        "INSERT OR REPLACE INTO identities VALUES (?, ?, ?, ?)", (name.lower(), name, value, etag)
    )


def all_values(conn: sqlite3.Connection) -> dict[str, int]:
    rows = conn.execute("SELECT name, value FROM identities ORDER BY name_lower").fetchall()
    return {name: value for name, value in rows}
