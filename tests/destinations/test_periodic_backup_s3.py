"""The periodic-backup setup on S3 (moto, keys checked): a full first, then incrementals."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from rookdb.backup import naming

from .conftest import s3_client
from .servers import unique

BASE = "/databases/shop/tasks/backups"


def run_and_wait(http: httpx.Client, task_id: str, runs: int) -> dict[str, Any]:
    # Backup Now asks for an incremental, as the periodic schedule would.
    started = http.post(f"{BASE}/{task_id}/backup-now", params={"full": "false"})
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 60
    while True:
        status: dict[str, Any] = http.get(f"{BASE}/{task_id}/status").json()
        if status["runs"] >= runs and status["running"] is None:
            return status
        if time.monotonic() > deadline:
            pytest.fail(f"run {runs} did not end in 60 s: {status}")
        time.sleep(0.1)


def test_periodic_setup_first_run_is_full_then_incremental(
    http: httpx.Client, moto_s3: dict[str, str]
) -> None:
    prefix = f"periodic/{unique()}"
    assert http.post("/databases", json={"name": "shop"}).status_code == 201
    for n in range(10):
        http.put(f"/databases/shop/docs/users/{n}", json={"n": n})
    setup = {
        "S3BucketName": moto_s3["bucket"],
        "s3_prefix": prefix,
        "IntervalMilliseconds": 15 * 60 * 1000,
        "aws_access_key": moto_s3["access_key_id"],
        "aws_secret_key": moto_s3["secret_access_key"],
        "aws_region": "us-east-1",
        "endpoint_url": moto_s3["endpoint_url"],
    }
    answer = http.put("/databases/shop/tasks/periodic-backup", json=setup)
    assert answer.status_code == 200, answer.text
    task = answer.json()
    assert task["incremental_backup_cron"] == "*/15 * * * *" and task["full_backup_cron"] is None
    assert moto_s3["secret_access_key"] not in answer.text

    first = run_and_wait(http, task["id"], 1)
    assert first["last_run"]["error"] is None, first["last_run"]
    assert first["last_run"]["kind"] == "full" and first["last_run"]["documents"] == 10
    http.put("/databases/shop/docs/users/10", json={"n": 10})
    second = run_and_wait(http, task["id"], 2)
    assert second["last_run"]["error"] is None, second["last_run"]
    assert second["last_run"]["kind"] == "incremental" and second["last_run"]["documents"] == 1
    assert [d["state"] for d in second["destinations"]] == ["done"]

    client = s3_client(
        moto_s3["endpoint_url"], moto_s3["access_key_id"], moto_s3["secret_access_key"]
    )
    listed = client.list_objects_v2(Bucket=moto_s3["bucket"], Prefix=prefix + "/")
    keys = sorted(item["Key"][len(prefix) + 1 :] for item in listed.get("Contents", []))
    folders = {key.split("/")[0] for key in keys}
    assert folders == {second["run_folder"]}
    # By suffix: a same-second incremental's "-01" name sorts before the full's.
    suffixes = sorted("." + key.split("/")[1].split(".", 1)[1] for key in keys)
    assert suffixes == [naming.FULL_SUFFIX, naming.INCREMENTAL_SUFFIX]
