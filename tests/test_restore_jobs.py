"""Restore jobs in the core: started at once, followed by id, result or error, kept a while."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import rookdb
from database_contents import contents, shop_history
from rookdb.backup import write_full_backup, write_incremental_backup
from rookdb.errors import AlreadyExists, InvalidInput, NotFound, RestoreError
from rookdb.restore import RestoreResult, restore_database
from rookdb.restore.jobs import JobState, RestoreJobs, RestoreJobStatus


class ManualClock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def backups(instance: rookdb.Instance, tmp_path: Path) -> Path:
    """A folder of two run folders of `shop`; the second is the current chain."""
    out = tmp_path / "backups"
    db = instance.create_database("shop")
    shop_history(db, 0)
    write_full_backup(db, out)
    shop_history(db, 1)
    full = write_full_backup(db, out)
    shop_history(db, 2)
    assert write_incremental_backup(db, full.path.parent, full.last_etag) is not None
    return out


def test_a_job_restores_and_reports_its_result(instance: rookdb.Instance, backups: Path) -> None:
    jobs = RestoreJobs(instance)
    started = jobs.start(str(backups), "copy")
    assert started.state is JobState.RUNNING and started.database == "copy"
    done = jobs.wait(started.id, timeout=60)
    assert done.state is JobState.DONE and done.error is None
    assert done.fraction == 1.0 and done.done_bytes > 0 and done.total_bytes
    assert done.result is not None
    assert done.result["chain_choice"]["reason"].startswith("it holds the newest backup")
    assert len(done.result["files"]) == 2
    assert any(note.startswith("using run folder") for note in done.notes)
    assert contents(instance.database("copy")) == contents(instance.database("shop"))
    # The JSON form goes both ways (the client reads it back).
    assert RestoreJobStatus.from_json(done.to_json()) == done
    assert [s.id for s in jobs.list()] == [started.id]


def test_a_failed_restore_is_a_failed_job_naming_why(
    instance: rookdb.Instance, backups: Path
) -> None:
    incremental = next(backups.glob("*/*.rookdb-incremental-backup"))
    current = incremental.parent
    data = bytearray(incremental.read_bytes())
    data[len(data) // 2] ^= 0xFF
    incremental.write_bytes(bytes(data))
    jobs = RestoreJobs(instance)
    failed = jobs.wait(jobs.start(str(current), "copy").id, timeout=60)
    assert failed.state is JobState.FAILED and failed.result is None
    assert failed.error is not None and failed.error["error"] == "backup-corrupted"
    assert incremental.name in failed.error["message"]
    assert not instance.has_database("copy")


def test_what_can_be_checked_at_once_is_refused_at_once(
    instance: rookdb.Instance, backups: Path
) -> None:
    jobs = RestoreJobs(instance)
    with pytest.raises(AlreadyExists) as taken:
        jobs.start(str(backups), "shop")
    assert taken.value.field == "database"
    with pytest.raises(InvalidInput) as bad_name:
        jobs.start(str(backups), "no spaces")
    assert bad_name.value.field == "database"
    with pytest.raises(InvalidInput, match="only applies to a destination URL"):
        jobs.start(str(backups), "copy", source_options={"access_key_id": "x"})
    with pytest.raises(InvalidInput) as nul:
        jobs.start("/tmp/a\x00b", "copy")
    assert nul.value.field == "source"
    with pytest.raises(NotFound):
        jobs.status("r-nope")
    assert jobs.list() == []


def test_one_restore_into_a_name_at_a_time(instance: rookdb.Instance, backups: Path) -> None:
    gate = threading.Event()

    def held_restore(*args: Any, **kwargs: Any) -> RestoreResult:
        gate.wait(30)  # a restore that takes its time
        return restore_database(*args, **kwargs)

    jobs = RestoreJobs(instance, restore=held_restore)
    first = jobs.start(str(backups), "copy")
    with pytest.raises(AlreadyExists, match=f"already running \\(job {first.id}\\)"):
        jobs.start(str(backups), "COPY")
    other = jobs.start(str(backups), "other")
    gate.set()
    assert jobs.wait(first.id, 60).state is JobState.DONE
    assert jobs.wait(other.id, 60).state is JobState.DONE
    jobs.stop()
    with pytest.raises(RestoreError, match="shutting down"):
        jobs.start(str(backups), "third")


def test_finished_jobs_are_kept_for_a_while(instance: rookdb.Instance, tmp_path: Path) -> None:
    clock = ManualClock()
    jobs = RestoreJobs(instance, clock=clock, keep_seconds=3600, keep_finished=2)
    missing = str(tmp_path / "nothing-here")
    first = jobs.wait(jobs.start(missing, "a").id, 30)
    assert first.state is JobState.FAILED and first.started_at == "2026-11-22T06:00:00Z"
    clock.advance(minutes=59)
    jobs.wait(jobs.start(missing, "b").id, 30)
    assert jobs.status(first.id).finished_at == "2026-11-22T06:00:00Z"
    clock.advance(minutes=2)  # the first is past the hour now
    jobs.wait(jobs.start(missing, "c").id, 30)
    with pytest.raises(NotFound):
        jobs.status(first.id)
    jobs.wait(jobs.start(missing, "d").id, 30)
    jobs.wait(jobs.start(missing, "e").id, 30)
    assert [s.database for s in jobs.list()] == ["e", "d", "c"]  # at most 2 finished + new


def test_credentials_never_show_in_a_job(instance: rookdb.Instance, backups: Path) -> None:
    db = instance.database("shop")
    key = "correct horse battery staple"
    write_full_backup(db, backups / "sealed", encryption_key=key)
    jobs = RestoreJobs(instance)
    wrong = "tr0ub4dor&3-not-the-key"
    failed = jobs.wait(jobs.start(str(backups / "sealed"), "copy", encryption_key=wrong).id, 60)
    assert failed.state is JobState.FAILED and failed.error is not None
    assert failed.error["error"] == "encryption-key"
    assert wrong not in str(failed.to_json())
    done = jobs.wait(jobs.start(str(backups / "sealed"), "copy", encryption_key=key).id, 60)
    assert done.state is JobState.DONE
    assert key not in str(done.to_json())
