"""Task drills read the chain from the task's destination: S3 on moto, and never past the
file the task last wrote."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rookdb import Instance
from rookdb.tasks import BackupScheduler, BackupTasks, ManualClock

from .chains import fill


@pytest.fixture
def service(instance: Instance) -> Iterator[BackupTasks]:
    fill(instance.create_database("shop"))
    clock = ManualClock("2026-11-22T10:00:00Z")
    svc = BackupTasks(instance, BackupScheduler(instance, clock=clock))
    yield svc
    svc.scheduler.stop()


@pytest.fixture
def s3(s3_endpoint_client: Any, s3_endpoint_options: dict[str, str]) -> dict[str, str]:
    """The destination entry of a task backing up to the bucket "backups" on moto."""
    s3_endpoint_client.create_bucket(Bucket="backups")
    return {"kind": "s3", "bucket": "backups", "prefix": "prod", **s3_endpoint_options}


def test_drill_from_the_chosen_s3_destination(
    service: BackupTasks, s3: dict[str, str], tmp_path: Path
) -> None:
    task = service.create(
        "shop",
        {
            "full_backup_cron": "0 2 * * *",
            "destinations": [{"kind": "local", "path": str(tmp_path / "out")}, s3],
            "drill": {"after_full": False, "destination": 1},
        },
    )
    run = service.backup_now("shop", task["id"], full=True, wait=True)
    assert run["error"] is None
    drill = service.drill_now("shop", task["id"], wait=True)
    assert drill["passed"] is True, drill
    assert drill["destination"].startswith("S3")
    assert drill["bytes_downloaded"] == run["size_bytes"]
    scratch = service.instance.data_dir / ".drill-scratch"
    assert not scratch.exists() or list(scratch.iterdir()) == []


def test_a_file_newer_than_the_task_knows_is_not_drilled(
    service: BackupTasks, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    task = service.create(
        "shop",
        {"full_backup_cron": "0 2 * * *", "destinations": [{"kind": "local", "path": str(out)}]},
    )
    run = service.backup_now("shop", task["id"], full=True, wait=True)
    folder = out / run["file"].split("/")[0]
    # An incremental still arriving on the destination (another uploader, a slow copy).
    (folder / "2099-01-01-00-00-00.rookdb-incremental-backup").write_bytes(b"ROOKBAK1 partial")
    drill = service.drill_now("shop", task["id"], wait=True)
    assert drill["passed"] is True, drill
    assert drill["file"] == run["file"].split("/")[1]
    assert drill["bytes_downloaded"] == run["size_bytes"]  # the newer file was not even fetched
