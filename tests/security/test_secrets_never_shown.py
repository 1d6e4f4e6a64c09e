"""Credentials and encryption keys never appear in a response, an error, a log line or output."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import rookdb
from destinations.servers import dead_port
from rookdb.errors import RookError
from rookdb.tasks import BackupTasks
from rookdb_process import serve

S3_SECRET = "s3-SECRET-7f1e9a"
FTP_SECRET = "ftp-SECRET-c0ffee"
AZURE_SECRET = "YXp1cmUtU0VDUkVULWtleS0xMjM0NTY3ODkwYWJjZGVm"
KEY_SECRET = "task-KEY-SECRET-91ab"
SECRETS = (S3_SECRET, FTP_SECRET, AZURE_SECRET, KEY_SECRET)
BASE = "/databases/shop/tasks/backups"


def _failing_task(tmp_path: Path) -> dict[str, Any]:
    # Every destination fails (nothing listens on those ports) and carries a secret.
    port = dead_port()
    return {
        "full_backup_cron": "0 2 * * *",
        "encryption_key": KEY_SECRET,
        "destinations": [
            {"kind": "local", "path": str(tmp_path / "backups")},
            {"kind": "s3", "bucket": "b", "endpoint_url": f"http://127.0.0.1:{port}",
             "access_key_id": "AKIA", "secret_access_key": S3_SECRET, "region": "us-east-1"},
            {"kind": "ftp", "host": "127.0.0.1", "port": port, "user": "u",
             "password": FTP_SECRET},
            {"kind": "azure", "container": "c", "account_name": "acct",
             "account_key": AZURE_SECRET, "endpoint_url": f"http://127.0.0.1:{port}/acct"},
        ],
    }  # fmt: skip


def _assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret} leaked in {where}"


def _wait_failed(http: httpx.Client, task_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = http.get(f"{BASE}/{task_id}/status").json()
        if status["last_run"] and not status["running"]:
            return status
        time.sleep(0.1)
    raise AssertionError("the run did not finish in 60 s")


def test_served_responses_errors_and_output_hold_no_secret(tmp_path: Path) -> None:
    served = serve(["--data-dir", str(tmp_path / "data"), "--port", "0", "--access-log"])
    assert served.admin_key is not None
    auth = {"authorization": f"Bearer {served.admin_key}"}
    responses: list[httpx.Response] = []
    try:
        with httpx.Client(base_url=served.url, headers=auth, timeout=60) as http:
            assert http.post("/databases", json={"name": "shop"}).status_code == 201
            http.put("/databases/shop/docs/users/1", json={"n": 1})
            body = _failing_task(tmp_path)
            created = http.post(BASE, json=body)
            assert created.status_code == 201, created.text
            task_id = created.json()["id"]
            responses.append(created)
            responses.append(http.post(f"{BASE}/{task_id}/backup-now"))
            status = _wait_failed(http, task_id)
            assert status["last_run"]["error"], status  # it really failed
            assert [d["state"] for d in status["destinations"]][1:] == ["failed"] * 3
            responses += [
                http.get(BASE),
                http.get(f"{BASE}/{task_id}"),
                http.get(f"{BASE}/{task_id}/status"),
                http.get(f"{BASE}/{task_id}/history"),
                http.get("/metrics"),
                http.put(f"{BASE}/{task_id}", json={**created.json(), "name": "Renamed"}),
                # Refused input that carries secrets: the error must not echo them.
                http.put(f"{BASE}/{task_id}", json={**body, "full_backup_cron": "61 * * * *"}),
                http.post(BASE, json={**body, "surprise": S3_SECRET}),
                http.post(BASE, json={**body, "destinations": [
                    {**body["destinations"][1], "secret_access_key": 42, "bogus": FTP_SECRET}]}),
                http.post(BASE, json={**body, "encryption_key": {"nested": KEY_SECRET}}),
            ]  # fmt: skip
            assert [r.status_code for r in responses[-4:]] == [400, 400, 400, 400]
    finally:
        output = served.stop()
    for response in responses:
        _assert_clean(response.text, f"{response.request.method} {response.request.url}")
        _assert_clean(str(response.headers), "response headers")
    assert "POST /databases/shop/tasks/backups" in output  # the access log was on
    _assert_clean(output, "the server's stdout/stderr")


def test_log_records_hold_no_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    with rookdb.open(tmp_path / "data") as instance:
        instance.create_database("shop").put("users/1", {"n": 1})
        tasks = BackupTasks(instance)
        task = tasks.create("shop", _failing_task(tmp_path))
        run = tasks.backup_now("shop", task["id"], wait=True)
        assert run["error"]
        tasks.update("shop", task["id"], {**task, "name": "Renamed"})
        payload = _failing_task(tmp_path)
        payload["destinations"][2]["password"] = [FTP_SECRET]  # a secret of the wrong type
        for bad in ({**_failing_task(tmp_path), "full_backup_cron": "x"}, payload):
            with pytest.raises(RookError) as refused:
                tasks.update("shop", task["id"], bad)
            _assert_clean(refused.value.message, "an error message")
        for shown in (
            tasks.list("shop"),
            tasks.status("shop", task["id"]),
            tasks.history("shop", task["id"]),
        ):
            _assert_clean(repr(shown), "the service's answers")
        tasks.scheduler.stop()
    records = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records
    )
    assert caplog.records  # the destinations' clients did log (retries, connection errors)
    _assert_clean(records, "log records")
    out, err = capfd.readouterr()
    _assert_clean(out + err, "stdout/stderr")
