"""A stored secret sent back masked is kept only while it would go to the same place.

Over real HTTP: a PUT that moves a destination (endpoint, region, bucket,
host, port, user, kind ...) and sends its secrets back as "********" is
refused naming the secret, and the next run still goes where it went before;
an edit that leaves the place alone keeps the secret, and the run works
against the real server (pyftpdlib checks the password; moto the bucket).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from destinations.servers import FtpServer, dead_port
from rookdb import Instance
from rookdb.tasks import BackupTasks
from rookdb.tasks.periodic import put_periodic_backup

BASE = "/databases/shop/tasks/backups"
MASK = "********"
S3_SECRET = "s3-secret-Kept-4d2a"
S3_TOKEN = "s3-session-Token-77e1"
FTP_PASSWORD = "rook-secret"  # the password FtpServer gives the user "rook"


class Capture:
    """An HTTP server that answers 500 to everything and remembers each request's headers."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                capture.seen.append(str(self.headers))
                self.send_response(500)
                self.send_header("content-length", "0")
                self.end_headers()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _any

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def capture() -> Iterator[Capture]:
    server = Capture()
    yield server
    server.close()


@pytest.fixture
def shop(instance: Instance) -> Instance:
    db = instance.create_database("shop")
    db.bulk_insert((f"users/{i}", {"n": i}) for i in range(20))
    return instance


@pytest.fixture
def bucket(s3_endpoint_client: Any) -> str:
    s3_endpoint_client.create_bucket(Bucket="kept")
    return "kept"


@pytest.fixture
def ftp(tmp_path: Path) -> Iterator[FtpServer]:
    home = tmp_path / "ftp-home"
    home.mkdir()
    server = FtpServer(home)
    server.start()
    yield server
    server.stop()


def s3_destination(endpoint: str) -> dict[str, Any]:
    return {
        "kind": "s3",
        "bucket": "kept",
        "region": "us-east-1",
        "endpoint_url": endpoint,
        "access_key_id": "AKIAKEPT",
        "secret_access_key": S3_SECRET,
        "session_token": S3_TOKEN,
    }


def ftp_destination(port: int) -> dict[str, Any]:
    return {"kind": "ftp", "host": "127.0.0.1", "port": port, "user": "rook",
            "password": FTP_PASSWORD, "folder": "/backups"}  # fmt: skip


def create(http: httpx.Client, *destinations: dict[str, Any]) -> dict[str, Any]:
    body = {"full_backup_cron": "0 2 * * *", "destinations": list(destinations)}
    created = http.post(BASE, json=body)
    assert created.status_code == 201, created.text
    task: dict[str, Any] = created.json()
    assert all(MASK in str(d) for d in task["destinations"])
    return task


def run_now(http: httpx.Client, task_id: str) -> dict[str, Any]:
    assert http.post(f"{BASE}/{task_id}/backup-now").status_code in (200, 202)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status: dict[str, Any] = http.get(f"{BASE}/{task_id}/status").json()
        if status["last_run"] and status["running"] is None:
            return status
        time.sleep(0.05)
    raise AssertionError(f"backup of {task_id} did not end")


def stored(instance: Instance, task_id: str) -> list[dict[str, Any]]:
    tasks = BackupTasks(instance)
    try:
        return tasks.tasks.get("shop", task_id).destination_dicts()
    finally:
        tasks.scheduler.stop()


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"endpoint_url": None}, "endpoint_url"),  # None: the capture server's URL
        ({"region": "eu-west-1"}, "region"),
        ({"bucket": "elsewhere"}, "bucket"),
        ({"access_key_id": "AKIAOTHER"}, "access_key_id"),
        ({"kind": "glacier", "vault": "kept", "bucket": None, "storage_class": None}, "kind"),
    ],
)
def test_a_moved_s3_destination_with_masked_secrets_is_refused(
    shop: Instance,
    http: httpx.Client,
    s3_endpoint: str,
    bucket: str,
    capture: Capture,
    change: dict[str, Any],
    named: str,
) -> None:
    task = create(http, s3_destination(s3_endpoint))
    edited = {**task["destinations"][0], **change}
    if "endpoint_url" in change:
        edited["endpoint_url"] = capture.url
    edited = {k: v for k, v in edited.items() if v is not None}
    answer = http.put(f"{BASE}/{task['id']}", json={**task, "destinations": [edited]})
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["field"] == "destinations.0.secret_access_key"
    reason = "the destination kind changed" if named == "kind" else f"the {named} changed"
    assert body["message"].startswith(f"destinations[0].secret_access_key: {reason}")
    assert "enter the secret again" in body["message"]
    # Nothing changed: the next run goes to moto as before, never to the new place.
    assert http.get(f"{BASE}/{task['id']}").json() == task
    status = run_now(http, task["id"])
    assert status["last_run"]["error"] is None, status["last_run"]
    assert capture.seen == []
    [kept] = stored(shop, task["id"])
    assert (kept["secret_access_key"], kept["session_token"]) == (S3_SECRET, S3_TOKEN)


def test_the_secrets_given_again_go_to_the_new_endpoint(
    shop: Instance, http: httpx.Client, s3_endpoint: str, bucket: str, capture: Capture
) -> None:
    task = create(http, s3_destination(s3_endpoint))
    moved = {**s3_destination(capture.url), "secret_access_key": "new-Secret"}
    del moved["session_token"]
    answer = http.put(f"{BASE}/{task['id']}", json={**task, "destinations": [moved]})
    assert answer.status_code == 200, answer.text
    [now] = stored(shop, task["id"])
    assert (now["secret_access_key"], now["session_token"]) == ("new-Secret", None)


def test_an_unchanged_s3_destination_keeps_its_secrets_and_still_runs(
    shop: Instance, http: httpx.Client, s3_endpoint: str, s3_endpoint_client: Any, bucket: str
) -> None:
    task = create(http, s3_destination(s3_endpoint))
    # What GET returned, edited elsewhere (name, schedule, prefix, timeout): the place is the same.
    destination = {**task["destinations"][0], "prefix": "nightly", "timeout_seconds": 30}
    edited = {**task, "name": "Nightly", "full_backup_cron": "0 3 * * *",
              "destinations": [destination]}  # fmt: skip
    answer = http.put(f"{BASE}/{task['id']}", json=edited)
    assert answer.status_code == 200, answer.text
    [kept] = stored(shop, task["id"])
    assert (kept["secret_access_key"], kept["session_token"]) == (S3_SECRET, S3_TOKEN)
    status = run_now(http, task["id"])
    assert status["last_run"]["error"] is None, status["last_run"]
    keys = [o["Key"] for o in s3_endpoint_client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys and all(k.startswith("nightly/") for k in keys)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"port": None}, "port"),  # None: a port nothing listens on
        ({"host": "localhost"}, "host"),
        ({"user": "reader"}, "user"),
        ({"tls": True}, "tls"),
    ],
)
def test_a_moved_ftp_destination_with_a_masked_password_is_refused(
    shop: Instance, http: httpx.Client, ftp: FtpServer, change: dict[str, Any], named: str
) -> None:
    task = create(http, ftp_destination(ftp.port))
    edited = {**task["destinations"][0], **change}
    if "port" in change:
        edited["port"] = dead_port()
    answer = http.put(f"{BASE}/{task['id']}", json={**task, "destinations": [edited]})
    assert answer.status_code == 400, answer.text
    assert answer.json()["field"] == "destinations.0.password"
    assert answer.json()["message"].startswith(f"destinations[0].password: the {named} changed")
    assert stored(shop, task["id"])[0]["password"] == FTP_PASSWORD


def test_an_unchanged_ftp_destination_keeps_its_password_and_still_runs(
    shop: Instance, http: httpx.Client, ftp: FtpServer
) -> None:
    task = create(http, ftp_destination(ftp.port))
    destination = {**task["destinations"][0], "folder": "/nightly"}
    answer = http.put(f"{BASE}/{task['id']}", json={**task, "destinations": [destination]})
    assert answer.status_code == 200, answer.text
    # pyftpdlib refuses a wrong password: a run that works proves the password was kept.
    status = run_now(http, task["id"])
    assert status["last_run"]["error"] is None, status["last_run"]
    assert any((ftp.home / "nightly").rglob("*.rookdb*"))


def test_reordered_destinations_keep_their_own_secrets(
    shop: Instance, http: httpx.Client, s3_endpoint: str, bucket: str, ftp: FtpServer
) -> None:
    task = create(http, s3_destination(s3_endpoint), ftp_destination(ftp.port))
    swapped = list(reversed(task["destinations"]))
    answer = http.put(f"{BASE}/{task['id']}", json={**task, "destinations": swapped})
    assert answer.status_code == 200, answer.text
    first, second = stored(shop, task["id"])
    assert (first["kind"], first["password"]) == ("ftp", FTP_PASSWORD)
    assert (second["kind"], second["secret_access_key"]) == ("s3", S3_SECRET)
    # Removing the first keeps the second's secret (it moved to position 0).
    answer = http.put(f"{BASE}/{task['id']}", json={**task, "destinations": swapped[1:]})
    assert answer.status_code == 200, answer.text
    [only] = stored(shop, task["id"])
    assert (only["kind"], only["secret_access_key"]) == ("s3", S3_SECRET)


def test_a_mask_on_a_new_task_or_destination_is_refused(
    shop: Instance, http: httpx.Client, s3_endpoint: str, ftp: FtpServer
) -> None:
    masked = {**ftp_destination(ftp.port), "password": MASK}
    answer = http.post(BASE, json={"full_backup_cron": "0 2 * * *", "destinations": [masked]})
    assert answer.status_code == 400
    assert answer.json()["field"] == "destinations.0.password"
    assert "no stored secret" in answer.json()["message"]
    task = create(http, ftp_destination(ftp.port))
    added = [*task["destinations"], {**s3_destination(s3_endpoint), "secret_access_key": MASK}]
    answer = http.put(f"{BASE}/{task['id']}", json={**task, "destinations": added})
    assert answer.status_code == 400
    assert answer.json()["field"] == "destinations.1.secret_access_key"


def test_the_periodic_setup_does_not_send_stored_keys_to_a_new_endpoint(
    shop: Instance, s3_endpoint: str, capture: Capture
) -> None:
    tasks = BackupTasks(shop)
    setup = {"s3_bucket_name": "kept", "interval_minutes": 15}
    keys = {"aws_access_key": "AKIAKEPT", "aws_secret_key": S3_SECRET}
    try:
        put_periodic_backup(tasks, "shop", setup, {**keys, "endpoint_url": s3_endpoint})
        with pytest.raises(Exception, match="endpoint_url changed") as info:
            put_periodic_backup(tasks, "shop", setup, {"endpoint_url": capture.url})
        assert getattr(info.value, "field", None) == "aws_secret_key"
        # The same endpoint (given again or left out) keeps them, as the setup promises.
        put_periodic_backup(tasks, "shop", setup, {"endpoint_url": s3_endpoint})
        put_periodic_backup(tasks, "shop", {**setup, "interval_minutes": 30}, {})
    finally:
        tasks.scheduler.stop()
