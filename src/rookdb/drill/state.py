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

from pathlib import Path

from rookdb.backup.chain import BackupFileInfo
from rookdb.drill.report import DrillReport, FileCheck, IndexCheck
from rookdb.errors import RookError
from rookdb.restore.apply import ApplyCounts
from rookdb.storage.database_file import DatabaseFile
from rookdb.storage.model import Condition, IndexDefinition
from rookdb.storage.record_kinds import ROW_COUNTED


def check_applied(check: FileCheck, counts: ApplyCounts) -> None:
    """A replayed file: the records the restore applied, kind by kind, against its trailer."""
    check.found = dict(counts.applied)
    _compare(check, exact=True, what="the restore applied")


def check_snapshot(check: FileCheck, database: Path) -> None:
    """A snapshot: the database it carried, counted, against its trailer."""
    with DatabaseFile(database) as restored:
        check.found = restored.row_counts([k for k in ROW_COUNTED if k.count in check.expected])
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
    with DatabaseFile(database) as restored:
        _check_etag(report, restored, last_etag)
        report.totals = restored.row_counts()
        _check_ranges(report, restored, files)
        _check_attachment_content(report, restored)
        _check_indexes(report, restored)


def _check_etag(report: DrillReport, restored: DatabaseFile, last_etag: int) -> None:
    found = restored.last_etag()
    report.last_etag_expected, report.last_etag_found = last_etag, found
    if found != last_etag:
        report.fail(
            f"the restored database ends at etag {found} but the chain ends at etag {last_etag}",
            report.last_file,
        )


def _check_ranges(
    report: DrillReport, restored: DatabaseFile, files: tuple[BackupFileInfo, ...]
) -> None:
    newest = len(files) - 1
    for position, (info, check) in enumerate(zip(files, report.files, strict=True)):
        for kind in ROW_COUNTED:
            name = kind.count
            if name not in info.counts and info.type == "snapshot":
                continue
            expected = info.counts.get(name, 0)
            rows = restored.count(kind, info.since_etag, info.last_etag)
            if rows > expected or (position == newest and rows != expected):
                problem = (
                    f"{info.file_name}: the restored database holds {rows} "
                    f"{name} from its etag range ({info.since_etag}, {info.last_etag}] "
                    f"but its trailer records {expected}"
                )
                check.problems.append(problem)
                report.fail(problem, info.file_name)
    for kind in ROW_COUNTED:
        beyond = restored.count(kind, report.last_etag_expected or 0)
        if beyond:
            report.fail(f"the restored database holds {beyond} {kind.count} newer than the chain")


def _check_attachment_content(report: DrillReport, restored: DatabaseFile) -> None:
    missing = restored.attachments_without_content()
    if missing:
        report.fail(f"{missing} restored attachments have no content", report.last_file)


def _check_indexes(report: DrillReport, restored: DatabaseFile) -> None:
    for name in restored.missing_storage_indexes():
        report.fail(f"the restored database lacks its storage index {name}", report.last_file)
    definitions = restored.index_definitions()
    field_indexes = restored.field_index_count()
    expected = sum(len(d.fields) for d in definitions)
    if field_indexes != expected:
        report.fail(
            f"the restored index definitions need {expected} field indexes "
            f"but the database has {field_indexes}",
            report.last_file,
        )
    for definition in definitions:
        report.indexes.append(_query_index(report, restored, definition))


def _query_index(
    report: DrillReport, restored: DatabaseFile, definition: IndexDefinition
) -> IndexCheck:
    check = IndexCheck(definition.name, definition.collection, definition.fields, answered=False)
    condition = Condition(definition.fields[0], "!=", None)
    try:
        result = restored.query(
            definition.collection, [condition], page_size=1, index=definition.name
        )
    except RookError as exc:
        report.fail(
            f"a query over index {definition.name!r} failed: {exc.message}", report.last_file
        )
        return check
    check.answered, check.matches = True, result.total
    return check
