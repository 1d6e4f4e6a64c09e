"""Restore drills on real chains: a good chain passes, damaged ones fail naming the file."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import rookdb
from backup_surgery import rewrite_trailer_count
from rookdb import staging
from rookdb.backup import write_full_backup
from rookdb.cli.main import app
from rookdb.drill import DrillReport, DrillWorker, Scratch, clean_leftovers, run_drill, scratch_root
from rookdb.restore import DestinationSource

from .chains import Chain, fill, flip_byte, make_chain


@pytest.fixture
def chain(instance: rookdb.Instance, tmp_path: Path) -> Chain:
    return make_chain(instance, tmp_path / "backups")


def drill(instance: rookdb.Instance, source: object, **kwargs: object) -> DrillReport:
    return run_drill(source, scratch_root(instance.data_dir), **kwargs)  # type: ignore[arg-type]


def assert_no_scratch(instance: rookdb.Instance) -> None:
    root = scratch_root(instance.data_dir)
    assert not root.exists() or list(root.iterdir()) == []


def test_good_chain_passes_and_matches_the_source(instance: rookdb.Instance, chain: Chain) -> None:
    db = chain.db
    report = drill(instance, chain.folder)

    assert report.passed, report.problems
    assert report.file_failed is None and report.error is None
    assert [f.file for f in report.files] == [b.file_name for b in chain.files]
    assert all(f.checksum_ok and f.ok for f in report.files)
    assert report.last_file == chain.second.file_name
    assert report.last_etag_expected == report.last_etag_found == db.last_etag
    stats = db.stats()
    assert report.totals["documents"] == db.count() == stats.documents
    assert report.totals["attachments"] == stats.attachments == 2
    assert report.totals["indexes"] == stats.indexes == 2
    assert report.totals["identities"] == 1
    answered = {i.name: i.matches for i in report.indexes}
    assert answered == {
        "UsersByAge": db.query("Users", [("age", "!=", None)]).total,
        "UsersByName": db.query("Users", [("name", "!=", None)]).total,
    }
    # Per file: what the trailer records equals what the restore applied.
    first = report.files[1]
    assert first.expected["documents"] == first.found["documents"] == 2
    assert first.found["tombstones"] == 1 and first.found["attachment_tombstones"] == 1
    assert report.restore_seconds > 0 and report.cpu_seconds > 0
    # Every file is read twice: the checksum pass (up to its trailer), then the replay.
    size = sum(b.size_bytes for b in chain.files)
    assert size < report.bytes_read <= 2 * size
    assert report.scratch_removed
    assert_no_scratch(instance)
    # The live side is untouched: no new database, no staging folder.
    assert instance.database_names() == ["shop"]
    assert not (instance.data_dir / "staging").exists()


def test_snapshot_chain_passes(instance: rookdb.Instance, tmp_path: Path) -> None:
    chain = make_chain(instance, tmp_path / "backups", backup_type="snapshot")
    report = drill(instance, chain.folder)
    assert report.passed, report.problems
    snapshot = report.files[0]
    assert snapshot.type == "snapshot"
    assert snapshot.found["documents"] == snapshot.expected["documents"] == 125
    assert report.totals["documents"] == chain.db.count()


def test_folder_of_run_folders_drills_the_newest_chain(
    instance: rookdb.Instance, chain: Chain, tmp_path: Path
) -> None:
    report = drill(instance, tmp_path / "backups")
    assert report.passed and report.run_folder == chain.folder.name
    # One file of a run folder: the chain up to that file.
    report = drill(instance, chain.first.path)
    assert report.passed, report.problems
    assert report.last_file == chain.first.file_name
    assert report.last_etag_found == chain.first.last_etag


@pytest.mark.parametrize("which", ["full", "first", "second"])
def test_flipped_byte_fails_naming_the_file(
    instance: rookdb.Instance, chain: Chain, which: str
) -> None:
    damaged = getattr(chain, which)
    flip_byte(damaged.path)
    report = drill(instance, chain.folder)
    assert not report.passed
    assert report.file_failed == damaged.file_name
    assert damaged.file_name in (report.error or "")
    assert_no_scratch(instance)


def test_missing_incremental_fails_naming_the_file_after_the_gap(
    instance: rookdb.Instance, chain: Chain
) -> None:
    chain.first.path.unlink()
    report = drill(instance, chain.folder)
    assert not report.passed
    assert report.file_failed == chain.second.file_name
    assert "gap in the chain" in (report.error or "")


@pytest.mark.parametrize(
    ("which", "count", "delta"),
    [("first", "documents", 1), ("second", "tombstones", -1), ("full", "attachments", 1)],
)
def test_wrong_count_in_a_rewritten_trailer_fails(
    instance: rookdb.Instance, chain: Chain, which: str, count: str, delta: int
) -> None:
    damaged = getattr(chain, which)
    rewrite_trailer_count(damaged.path, count, delta)
    report = drill(instance, chain.folder)
    assert not report.passed
    assert report.file_failed == damaged.file_name
    check = next(f for f in report.files if f.file == damaged.file_name)
    assert check.checksum_ok  # the SHA-256 does not cover the trailer: only the counts tell
    assert not check.ok and check.expected[count] != check.found[count]
    assert_no_scratch(instance)


def test_leftovers_of_dead_drills_are_removed_but_not_a_running_one(tmp_path: Path) -> None:
    root = tmp_path / ".drill-scratch"
    running = Scratch(root)
    (running.path / "restore.rookdb").write_bytes(b"in use")
    dead = root / "drill-dead"
    dead.mkdir()
    (dead / staging.LOCK_NAME).touch()  # a lock file nobody holds: its drill died
    (dead / "restore.rookdb").write_bytes(b"left behind")
    assert clean_leftovers(root) == ["drill-dead"]
    assert (running.path / "restore.rookdb").exists()
    running.close()
    assert list(root.iterdir()) == []


def test_drill_from_a_destination_url(
    instance: rookdb.Instance,
    chain: Chain,
    s3_endpoint_client: Any,
    s3_endpoint_options: dict[str, str],
) -> None:
    creds = s3_endpoint_options
    client = s3_endpoint_client
    client.create_bucket(Bucket="backups")
    for written in chain.files:
        client.upload_file(str(written.path), "backups", f"prod/{written.relative_path}")
    url = f"s3://backups/prod/{chain.folder.name}"

    report = drill(instance, DestinationSource(url, creds))
    assert report.passed, report.problems
    assert report.bytes_downloaded == sum(b.size_bytes for b in chain.files)
    assert_no_scratch(instance)

    options = [f"--source-option={k}={v}" for k, v in creds.items()]
    cli = CliRunner().invoke(
        app, ["--data-dir", str(instance.data_dir), "backup", "drill", url, *options, "--json"]
    )
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout)["passed"] is True


def test_cli_passes_with_a_table(instance: rookdb.Instance, chain: Chain) -> None:
    result = CliRunner().invoke(
        app, ["--data-dir", str(instance.data_dir), "backup", "drill", str(chain.folder)]
    )
    assert result.exit_code == 0, result.output
    assert "drill PASSED" in result.stdout
    assert chain.second.file_name in result.stdout
    assert "UsersByAge (answers)" in result.stdout


def test_cli_exits_1_naming_the_damaged_file(instance: rookdb.Instance, chain: Chain) -> None:
    flip_byte(chain.first.path)
    result = CliRunner().invoke(
        app, ["--data-dir", str(instance.data_dir), "backup", "drill", str(chain.folder), "--json"]
    )
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["passed"] is False and body["file_failed"] == chain.first.file_name
    assert f"error: drill failed ({chain.first.file_name})" in result.stderr
    assert "Traceback" not in result.output


def test_cli_refuses_url_mode(chain: Chain) -> None:
    result = CliRunner().invoke(
        app, ["--url", "http://127.0.0.1:9", "backup", "drill", str(chain.folder)]
    )
    assert result.exit_code != 0


def test_drill_worker_runs_drills_one_at_a_time_at_low_priority() -> None:
    main_priority = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    worker = DrillWorker()
    try:
        seen = [worker.submit(threading.get_native_id).result(30) for _ in range(3)]
        assert len(set(seen)) == 1  # one thread: drills queue, never overlap
        if sys.platform.startswith("linux"):
            assert worker.niced
            assert os.getpriority(os.PRIO_PROCESS, seen[0]) >= 10
        # Only the drill thread yields: the rest of the server keeps its priority.
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main_priority
    finally:
        worker.shutdown()


def test_full_backup_with_every_kind_of_tombstone_passes(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    # Deletes made before the full backup: document, attachment and index tombstones
    # travel in the full file; a restore into an empty file keeps only the first kind.
    db = instance.create_database("shop")
    fill(db)
    db.delete("users/7")
    db.delete_attachment("users/2", "notes.txt")
    db.delete_index("OrdersByTotal")
    full = write_full_backup(db, tmp_path / "backups")
    assert full.tombstones == 1
    report = drill(instance, full.path.parent)
    assert report.passed, report.problems
    assert report.files[0].found["attachment_tombstones"] == 1
    assert report.files[0].found["index_tombstones"] == 1
    assert report.totals["tombstones"] == 1 and report.totals["indexes"] == 1


def test_snapshot_alone_passes_and_a_wrong_snapshot_count_fails(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    chain = make_chain(instance, tmp_path / "backups", backup_type="snapshot")
    report = drill(instance, chain.full.path)
    assert report.passed, report.problems
    assert report.totals["documents"] == report.files[0].expected["documents"] == 125
    rewrite_trailer_count(chain.full.path, "identities", 1)
    report = drill(instance, chain.full.path)
    assert not report.passed and report.file_failed == chain.full.file_name
