"""Run one restore drill: restore a chain into a scratch database, check it, delete it.

The restore is the real one (``rookdb.restore``: planner, checksum pass,
applier); the drill only adds a check after each file (its trailer against
what was applied) and one of the final state (``rookdb.drill.state``), and
measures the cost. The live database is never opened: everything happens in
a locked scratch folder that is removed at the end, whatever the outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rookdb.backup import naming
from rookdb.backup.catalog import choose_chain
from rookdb.backup.chain import BackupFileInfo, backup_files_in
from rookdb.drill import state
from rookdb.drill.report import DrillReport, FileCheck
from rookdb.drill.scratch import Scratch, clean_leftovers
from rookdb.errors import RookError
from rookdb.restore.apply import ApplyCounts
from rookdb.restore.importer import build_database
from rookdb.restore.planner import RestorePlan, plan_restore
from rookdb.restore.source import BackupSource, resolve_point

Progress = Callable[[int, int], None]


def run_drill(
    source: str | Path | BackupSource,
    scratch_root: Path,
    *,
    until: str | None = None,
    encryption_key: str | None = None,
    progress: Progress | None = None,
) -> DrillReport:
    """Prove that `source` (run folder, file, folder of run folders or URL) restores."""
    wall0, cpu0 = time.monotonic(), time.thread_time()
    backup_source, until = resolve_point(source, until)
    report = DrillReport(source=backup_source.description, started_at=naming.iso_time())
    clean_leftovers(scratch_root)
    scratch = Scratch(scratch_root)
    try:
        _restore_and_check(report, backup_source, scratch, until, encryption_key, progress, wall0)
    finally:
        scratch.close()
        report.scratch_removed = not scratch.path.exists()
        report.seconds = time.monotonic() - wall0
        report.cpu_seconds = time.thread_time() - cpu0
    return report


class _Meter:
    """Counts the bytes the restore reads (progress reports them) and passes them on."""

    def __init__(self, progress: Progress | None) -> None:
        self.done = 0
        self._progress = progress

    def __call__(self, done: int, total: int) -> None:
        self.done = done
        if self._progress is not None:
            self._progress(done, total)


def _restore_and_check(
    report: DrillReport,
    source: BackupSource,
    scratch: Scratch,
    until: str | None,
    encryption_key: str | None,
    progress: Progress | None,
    wall0: float,
) -> None:
    names: list[str] = []
    meter = _Meter(progress)
    try:
        downloads = scratch.path / "download"
        choice = choose_chain(source.fetch(downloads), until)
        folder = choice.folder.path
        report.run_folder = folder.name
        report.chain_choice = choice
        names = [p.name for p in backup_files_in(folder)]
        if folder.is_relative_to(downloads):
            report.bytes_downloaded = sum((folder / name).stat().st_size for name in names)
        plan = plan_restore(choice.folder, until)
        report.files = [_file_check(info) for info in plan.files]
        built = _build(report, plan, scratch.path / "build", encryption_key, meter)
    except RookError as exc:
        _record_error(report, exc.message, names)
        return
    finally:
        report.bytes_read = meter.done + report.bytes_downloaded
        report.restore_seconds = time.monotonic() - wall0
    check_started = time.monotonic()
    state.check_restored(report, built, plan.files, plan.last_etag)
    report.check_seconds = time.monotonic() - check_started


def _build(
    report: DrillReport,
    plan: RestorePlan,
    staging: Path,
    encryption_key: str | None,
    meter: _Meter,
) -> Path:
    checks = {check.file: check for check in report.files}

    def on_file(info: BackupFileInfo, counts: ApplyCounts | None, database: Path) -> None:
        # Replay starts only once every file's SHA-256 was verified.
        for each in report.files:
            each.checksum_ok = True
        check = checks[info.file_name]
        if counts is None:
            state.check_snapshot(check, database)
        else:
            state.check_applied(check, counts)
        for problem in check.problems:
            report.fail(problem, check.file)

    staging.mkdir(parents=True, exist_ok=True)
    built, _totals = build_database(staging, plan, encryption_key, meter, on_file)
    for check in report.files:
        check.checksum_ok = True  # also when no file was replayed (a lone snapshot)
    return built


def _file_check(info: BackupFileInfo) -> FileCheck:
    return FileCheck(
        file=info.file_name,
        kind=info.kind,
        type=info.type,
        since_etag=info.since_etag,
        last_etag=info.last_etag,
        size_bytes=info.size_bytes,
        expected=dict(info.counts),
    )


def _record_error(report: DrillReport, message: str, names: list[str]) -> None:
    named = _first_named(message, names)
    report.fail(message, named)
    for check in report.files:
        if check.file == named:
            check.problems.append(message)
            if "SHA-256" in message or "checksum" in message:
                check.checksum_ok = False


def _first_named(message: str, names: list[str]) -> str | None:
    """The file a message names first (a gap names the file after it before the one before)."""
    found = [(message.find(name), name) for name in names if name in message]
    return min(found)[1] if found else None
