"""Checking a restored scratch database against what the chain's files recorded.

Why counting rows by etag range works: a restore keeps the source's etags, and
every row (document, document tombstone, attachment, identity, index
definition) carries the etag of the change that last wrote it. A backup file
holds every row whose etag was in its range when it was written. So, in the
restored database, the rows whose etags fall in a file's range are that
file's records that no later file replaced: *exactly* the newest file's
trailer counts, and *at most* any earlier file's. For a chain of one full
backup that is the database's totals. Attachment and index tombstones are
left out: a restore into an empty file has nothing for them to delete, so it
does not keep them (the per-file count of records applied still covers them).
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from rookdb.backup.chain import BackupFileInfo
from rookdb.drill.report import DrillReport, FileCheck, IndexCheck
from rookdb.errors import RookError
from rookdb.restore.apply import TRAILER_COUNTS, ApplyCounts
from rookdb.storage import indexes as index_store
from rookdb.storage import schema
from rookdb.storage.model import Condition, IndexDefinition

# Trailer count name -> rows of the restored database it describes.
ROW_TABLES = {
    "documents": "documents",
    "tombstones": "tombstones WHERE kind = 'document'",
    "attachments": "attachments",
    "identities": "identities",
    "indexes": "indexes",
}
_SCHEMA_INDEXES = re.findall(r"CREATE (?:UNIQUE )?INDEX IF NOT EXISTS (\w+)", schema.DDL)


def connect(path: Path) -> sqlite3.Connection:
    """A plain connection to a scratch database (nobody else uses it)."""
    return sqlite3.connect(str(path), isolation_level=None)


def check_applied(check: FileCheck, counts: ApplyCounts) -> None:
    """A replayed file: the records the restore applied, kind by kind, against its trailer."""
    check.found = {name: getattr(counts, attr) for name, attr in TRAILER_COUNTS.items()}
    _compare(check, exact=True, what="the restore applied")


def check_snapshot(check: FileCheck, database: Path) -> None:
    """A snapshot: the database it carried, counted, against its trailer."""
    conn = connect(database)
    try:
        check.found = {
            name: _count(conn, table)
            for name, table in ROW_TABLES.items()
            if name in check.expected
        }
    finally:
        conn.close()
    _compare(check, exact=True, what="its database holds")


def _compare(check: FileCheck, *, exact: bool, what: str) -> None:
    names = (set(check.expected) | set(check.found)) - {"file_bytes"}
    for name in sorted(names):
        expected = check.expected.get(name, 0)
        found = check.found.get(name, 0)
        if found != expected if exact else found > expected:
            check.problems.append(
                f"{check.file}: its trailer records {expected} {name.replace('_', ' ')} "
                f"but {what} {found}"
            )


def check_restored(
    report: DrillReport, database: Path, files: tuple[BackupFileInfo, ...], last_etag: int
) -> None:
    """Final state of the scratch database: etags, per-range row counts, indexes, queries."""
    conn = connect(database)
    try:
        _check_etag(report, conn, last_etag)
        report.totals = {name: _count(conn, table) for name, table in ROW_TABLES.items()}
        _check_ranges(report, conn, files)
        _check_attachment_content(report, conn)
        _check_indexes(report, conn)
    finally:
        conn.close()


def _check_etag(report: DrillReport, conn: sqlite3.Connection, last_etag: int) -> None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'last_etag'").fetchone()
    found = int(row[0]) if row else None
    report.last_etag_expected, report.last_etag_found = last_etag, found
    if found != last_etag:
        report.fail(
            f"the restored database ends at etag {found} but the chain ends at etag {last_etag}",
            report.last_file,
        )


def _check_ranges(
    report: DrillReport, conn: sqlite3.Connection, files: tuple[BackupFileInfo, ...]
) -> None:
    newest = len(files) - 1
    for position, (info, check) in enumerate(zip(files, report.files, strict=True)):
        for name, table in ROW_TABLES.items():
            if name not in info.counts and info.type == "snapshot":
                continue
            expected = info.counts.get(name, 0)
            rows = _count_range(conn, table, info.since_etag, info.last_etag)
            if rows > expected or (position == newest and rows != expected):
                problem = (
                    f"{info.file_name}: the restored database holds {rows} "
                    f"{name} from its etag range ({info.since_etag}, {info.last_etag}] "
                    f"but its trailer records {expected}"
                )
                check.problems.append(problem)
                report.fail(problem, info.file_name)
    for name, table in ROW_TABLES.items():
        beyond = _count_range(conn, table, report.last_etag_expected or 0, 1 << 62)
        if beyond:
            report.fail(f"the restored database holds {beyond} {name} newer than the chain")


def _check_attachment_content(report: DrillReport, conn: sqlite3.Connection) -> None:
    missing = conn.execute(
        "SELECT COUNT(*) FROM attachments a WHERE NOT EXISTS "
        "(SELECT 1 FROM blobs b WHERE b.hash = a.hash)"
    ).fetchone()[0]
    if missing:
        report.fail(f"{missing} restored attachments have no content", report.last_file)


def _check_indexes(report: DrillReport, conn: sqlite3.Connection) -> None:
    present = {
        str(name) for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
    }
    for name in _SCHEMA_INDEXES:
        if name not in present:
            report.fail(f"the restored database lacks its storage index {name}", report.last_file)
    definitions = index_store.list_all(conn)
    field_indexes = sum(1 for name in present if name.startswith("ix_"))
    expected = sum(len(d.fields) for d in definitions)
    if field_indexes != expected:
        report.fail(
            f"the restored index definitions need {expected} field indexes "
            f"but the database has {field_indexes}",
            report.last_file,
        )
    for definition in definitions:
        report.indexes.append(_query_index(report, conn, definition))


def _query_index(
    report: DrillReport, conn: sqlite3.Connection, definition: IndexDefinition
) -> IndexCheck:
    check = IndexCheck(definition.name, definition.collection, definition.fields, answered=False)
    condition = Condition(definition.fields[0], "!=", None)
    try:
        result = index_store.query(
            conn, definition.collection, [condition], page_size=1, index=definition.name
        )
    except (RookError, sqlite3.Error) as exc:
        message = getattr(exc, "message", None) or str(exc)
        report.fail(f"a query over index {definition.name!r} failed: {message}", report.last_file)
        return check
    check.answered, check.matches = True, result.total
    return check


def _count(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _count_range(conn: sqlite3.Connection, table: str, since: int, last: int) -> int:
    joiner = " AND " if " WHERE " in table else " WHERE "
    sql = f"SELECT COUNT(*) FROM {table}{joiner}etag > ? AND etag <= ?"
    return int(conn.execute(sql, (since, last)).fetchone()[0])
