"""`POST /restores` and `GET /restores/{id}` on a real server, and `Client.restore_database`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import rookdb
from database_contents import contents, shop_history
from rookdb.backup import write_full_backup, write_incremental_backup
from rookdb.errors import AlreadyExists, BackupCorrupted, InvalidInput
from rookdb.server import ServerThread


def follow(http: httpx.Client, job: dict[str, Any]) -> dict[str, Any]:
    """Poll a job until it has finished; every status seen, last one returned."""
    deadline = time.monotonic() + 60
    while job["state"] == "running":
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
        response = http.get(f"/restores/{job['id']}")
        assert response.status_code == 200
        job = response.json()
    return job


@pytest.fixture
def backups(instance: rookdb.Instance, tmp_path: Path) -> Path:
    out = tmp_path / "backups"
    db = instance.create_database("shop")
    shop_history(db, 0)
    full = write_full_backup(db, out)
    shop_history(db, 1)
    assert write_incremental_backup(db, full.path.parent, full.last_etag) is not None
    return out


def test_a_restore_job_over_http(
    http: httpx.Client, instance: rookdb.Instance, backups: Path
) -> None:
    response = http.post("/restores", json={"source": str(backups), "database": "copy"})
    assert response.status_code == 202, response.text
    job = response.json()
    assert response.headers["location"] == f"/restores/{job['id']}"
    assert job["state"] == "running" and job["database"] == "copy"
    assert set(job) >= {"progress", "notes", "result", "error", "started_at"}
    done = follow(http, job)
    assert done["state"] == "done" and done["error"] is None
    assert done["progress"]["fraction"] == 1.0
    result = done["result"]
    assert result["database"] == "copy" and len(result["files"]) == 2
    [run_folder] = [p.name for p in backups.iterdir()]
    assert result["chain_choice"]["run_folder"] == run_folder
    assert contents(instance.database("copy")) == contents(instance.database("shop"))
    listed = http.get("/restores").json()["restores"]
    assert [j["id"] for j in listed] == [job["id"]]


def test_a_failed_restore_and_refusals(
    http: httpx.Client, instance: rookdb.Instance, backups: Path
) -> None:
    [inc] = backups.glob("*/*.rookdb-incremental-backup")
    inc.write_bytes(inc.read_bytes()[:-40])
    job = http.post("/restores", json={"source": str(backups), "database": "copy"}).json()
    failed = follow(http, job)
    assert failed["state"] == "failed" and failed["result"] is None
    assert failed["error"]["error"] == "backup-corrupted" and inc.name in failed["error"]["message"]
    assert not instance.has_database("copy")

    for body, status, field in [
        ({"source": "backups", "database": "copy"}, 400, "source"),  # relative: whose cwd?
        ({"source": str(backups), "database": "no/slash"}, 400, "database"),
        ({"source": str(backups), "database": "shop"}, 409, "database"),
        ({"source": str(backups), "database": "x", "extra": 1}, 400, "extra"),
        ({"source": str(backups), "database": "x", "source_options": {"a": "b"}}, 400, "source"),
        ({"source": "s3://bucket/x", "database": "x", "source_options": {"nope": "b"}}, 400, None),
    ]:
        response = http.post("/restores", json=body)
        assert response.status_code == status, (body, response.text)
        if field is not None:
            assert response.json()["field"] == field, response.json()
    assert http.get("/restores/r-0000").status_code == 404
    assert [j["id"] for j in http.get("/restores").json()["restores"]] == [job["id"]]


def test_the_client_follows_a_restore_to_its_end(
    remote: rookdb.Client, instance: rookdb.Instance, backups: Path
) -> None:
    seen: list[tuple[int, int]] = []
    notes: list[str] = []
    done = remote.restore_database(
        str(backups), "copy", progress=lambda d, t: seen.append((d, t)), notify=notes.append,
        poll_seconds=0.01,
    )  # fmt: skip
    assert done.result is not None and done.result["database"] == "copy"
    assert seen and all(d <= t for d, t in seen)
    assert remote.restore_status(done.id).state == done.state
    assert remote.restore_jobs()[0].id == done.id
    assert contents(remote.database("copy")) == contents(instance.database("shop"))
    with pytest.raises(AlreadyExists):
        remote.restore_database(str(backups), "copy")
    [inc] = backups.glob("*/*.rookdb-incremental-backup")
    inc.write_bytes(inc.read_bytes()[:-40])
    with pytest.raises(BackupCorrupted, match=inc.name):
        remote.restore_database(str(backups), "other", poll_seconds=0.01)
    with pytest.raises(InvalidInput):
        remote.restore_status("")


def test_credentials_are_never_echoed(
    live_server: ServerThread,
    instance: rookdb.Instance,
    tmp_path: Path,
    s3_endpoint: str,
    s3_endpoint_client: Any,
) -> None:
    db = instance.create_database("shop")
    shop_history(db, 0)
    key = "a passphrase nobody may see"
    full = write_full_backup(db, tmp_path / "local", encryption_key=key)
    secret_id, secret = "AKIA-VISIBLE-NEVER", "s3cr3t-access-key-never-shown"
    s3_endpoint_client.create_bucket(Bucket="backups")
    s3_endpoint_client.upload_file(str(full.path), "backups", f"prod/{full.relative_path}")
    options = {
        "endpoint_url": s3_endpoint,
        "access_key_id": secret_id,
        "secret_access_key": secret,
        "region": "us-east-1",
    }
    seen: list[str] = []
    with httpx.Client(base_url=live_server.url, timeout=30) as http:

        def start(source: str, database: str) -> dict[str, Any]:
            body = {"source": source, "database": database, "encryption_key": key,
                    "source_options": options}  # fmt: skip
            response = http.post("/restores", json=body)
            seen.append(response.text)
            assert response.status_code == 202, response.text
            job = follow(http, response.json())
            seen.append(http.get(f"/restores/{job['id']}").text)
            return job

        done = start("s3://backups/prod", "copy")
        assert done["state"] == "done", done
        assert done["result"]["chain_choice"]["run_folder"] == full.run_folder
        failed = start("s3://no-such-bucket/prod", "other")
        assert failed["state"] == "failed"
        seen.append(http.get("/restores").text)
    assert contents(instance.database("copy")) == contents(db)
    for text in seen:
        for secret_value in (key, secret_id, secret):
            assert secret_value not in text


def test_the_studio_shows_the_same_jobs(http: httpx.Client, backups: Path) -> None:
    job = http.post("/restores", json={"source": str(backups), "database": "copy"}).json()
    done = follow(http, job)
    page = http.get(f"/studio/restore/jobs/{job['id']}")
    assert page.status_code == 200 and "Restoring into copy" in page.text
    polled = http.get(f"/studio/restore/jobs/{job['id']}/progress.json").json()
    assert polled["state"] == done["state"] == "done"
    assert polled["message"] == "Restored into copy."
    assert http.get("/studio/restore/jobs/r-0000/progress.json").status_code == 404
