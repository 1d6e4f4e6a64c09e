"""Alerts over HTTP and the CLI: a real server whose alert thread sees a real failure and tells
a real receiver; roles; the OpenAPI; /metrics; `rookdb alerts ...` over --url and --data-dir."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from alerts_receivers import WebhookReceiver, free_port, wait_for
from rookdb import Instance
from rookdb.alerts.channels import MASK
from rookdb.alerts.service import INTERVAL_ENV
from rookdb.cli.main import run
from rookdb.security.keys import ApiKeys
from rookdb.server import ServerThread

SECRET = "http-signing-key"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(secret=SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def served(instance: Instance, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerThread]:
    """A server with its real background services: the scheduler and the alert thread."""
    monkeypatch.setenv(INTERVAL_ENV, "0.1")
    instance.create_database("shop").put("users/1", {"name": "Ann"})
    server = ServerThread(instance, services=None).start()
    yield server
    server.stop()


def failing_task(http: httpx.Client, tmp_path: Path) -> str:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    body = {"name": "Nightly", "full_backup_cron": "0 2 * * *",
            "destinations": [{"kind": "local", "path": str(blocker / "backups")}]}  # fmt: skip
    response = http.post("/databases/shop/tasks/backups", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_real_failure_reaches_the_receiver_and_the_api_metrics_and_cli_show_it(
    served: ServerThread,
    receiver: WebhookReceiver,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as http:
        added = http.post(
            "/alerts/channels",
            json={"kind": "webhook", "name": "ops", "url": receiver.url, "secret": SECRET},
        )
        assert added.status_code == 201 and added.json()["secret"] == MASK
        assert SECRET not in added.text
        task_id = failing_task(http, tmp_path)
        http.post(f"/databases/shop/tasks/backups/{task_id}/backup-now")

        post = wait_for(lambda: receiver.received, "the webhook delivery")[0]
        assert post.signature_ok is True
        assert post.json()["event"] == "incident.opened"
        assert post.json()["incident"]["task_id"] == task_id

        [incident] = http.get("/alerts/incidents").json()["incidents"]
        assert incident["kind"] == "backup-failed" and incident["state"] == "open"
        metrics = http.get("/metrics").text
        assert 'rookdb_alert_incidents_open{kind="backup-failed"} 1.0' in metrics
        channel_id = added.json()["id"]
        delivered = (
            f'rookdb_alert_deliveries_total{{channel="ops",channel_id="{channel_id}",'
            'outcome="delivered"} 1.0'
        )
        assert delivered in metrics

        assert run(["--url", served.url, "alerts", "list", "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert [i["id"] for i in listed] == [incident["id"]]
        assert run(["--url", served.url, "alerts", "list"]) == 0
        table = capsys.readouterr().out
        assert incident["id"] in table and "backup-failed" in table and "shop/Nightly" in table
        assert run(["--url", served.url, "alerts", "dismiss", incident["id"]]) == 0
        assert "dismissed incident" in capsys.readouterr().out
        assert http.get("/alerts/incidents").json()["incidents"][0]["state"] == "dismissed"
        assert "rookdb_alert_incidents_dismissed 1.0" in http.get("/metrics").text

        deliveries = http.get("/alerts/deliveries").json()
        assert [d["outcome"] for d in deliveries["deliveries"]] == ["delivered"]


def test_the_cli_manages_channels_and_send_test_over_the_api(
    served: ServerThread, receiver: WebhookReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    url = ["--url", served.url]
    assert run([*url, "alerts", "channels", "add", "webhook", "--name", "ops",
                "--url", receiver.url, "--secret", SECRET, "--json"]) == 0  # fmt: skip
    channel = json.loads(capsys.readouterr().out)
    assert channel["secret"] == MASK
    assert run([*url, "alerts", "channels", "list"]) == 0
    shown = capsys.readouterr().out
    assert "ops" in shown and SECRET not in shown
    assert run([*url, "alerts", "test", channel["id"]]) == 0
    assert "delivered to ops" in capsys.readouterr().out
    assert receiver.received[-1].json()["event"] == "test"
    assert receiver.received[-1].signature_ok is True

    receiver.answers = [503]
    assert run([*url, "alerts", "test", channel["id"]]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "answered 503" in err and len(err.splitlines()) == 1

    assert run([*url, "alerts", "channels", "add", "webhook", "--name", "x",
                "--url", "ftp://example.com/"]) == 1  # fmt: skip
    assert "field 'url': must be an http:// or https:// URL" in capsys.readouterr().err
    assert run([*url, "alerts", "settings", "--reminder-minutes", "30"]) == 0
    assert "every 30 minutes" in capsys.readouterr().out
    assert run([*url, "alerts", "deliveries"]) == 0
    table = capsys.readouterr().out
    assert "delivered" in table and "failed" in table and "answered 503" in table
    assert run([*url, "alerts", "channels", "disable", channel["id"]]) == 0
    assert run([*url, "alerts", "channels", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert [c["enabled"] for c in listed] == [False]
    assert run([*url, "alerts", "channels", "enable", channel["id"]]) == 0
    capsys.readouterr()
    assert run([*url, "alerts", "channels", "remove", channel["id"]]) == 0
    capsys.readouterr()
    assert run([*url, "alerts", "test", channel["id"]]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_the_cli_works_on_a_data_dir(
    tmp_path: Path, receiver: WebhookReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    assert run([*data, "alerts", "channels", "add", "slack", "--name", "chat",
                "--url", receiver.url, "--json"]) == 0  # fmt: skip
    channel = json.loads(capsys.readouterr().out)
    assert channel["url"] == MASK
    assert run([*data, "alerts", "test", channel["id"]]) == 0
    assert set(receiver.received[-1].json()) == {"text"}
    assert run([*data, "alerts", "list"]) == 0
    assert "no open incidents" in capsys.readouterr().out
    assert run([*data, "alerts", "channels", "add", "email", "--name", "m", "--host", "h",
                "--from", "a@example.com", "--to", "b@example.com", "--security", "none",
                "--username", "u", "--password", "p"]) == 1  # fmt: skip
    assert "never sent unencrypted" in capsys.readouterr().err


@pytest.fixture
def secure(instance: Instance) -> Iterator[tuple[ServerThread, dict[str, str]]]:
    keys = ApiKeys(instance.system)
    tokens = {role: keys.create(role, None, role)[1] for role in ("admin", "operator", "reader")}
    server = ServerThread(instance, auth=True).start()
    yield server, tokens
    server.stop()


def call(server: ServerThread, token: str, method: str, path: str, **kw: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"}
    return httpx.request(method, server.url + path, headers=headers, timeout=30, **kw)


def test_readers_list_operators_dismiss_admins_configure(
    secure: tuple[ServerThread, dict[str, str]], receiver: WebhookReceiver
) -> None:
    server, keys = secure
    body = {"kind": "webhook", "name": "ops", "url": receiver.url}
    for role in ("reader", "operator"):
        refused = call(server, keys[role], "POST", "/alerts/channels", json=body)
        assert refused.status_code == 403 and role in refused.json()["message"]
    channel = call(server, keys["admin"], "POST", "/alerts/channels", json=body).json()
    assert (
        call(server, keys["operator"], "POST", f"/alerts/channels/{channel['id']}/test").status_code
        == 403
    )
    assert (
        call(server, keys["admin"], "POST", f"/alerts/channels/{channel['id']}/test").status_code
        == 200
    )
    for role in ("reader", "operator", "admin"):
        assert call(server, keys[role], "GET", "/alerts/incidents").status_code == 200
        assert call(server, keys[role], "GET", "/alerts/channels").status_code == 200
    assert call(server, keys["reader"], "POST", "/alerts/incidents/abc/dismiss").status_code == 403
    # The operator passes the gate; there is no such incident.
    missing = call(server, keys["operator"], "POST", "/alerts/incidents/abc/dismiss")
    assert missing.status_code == 404 and "no open incident" in missing.json()["message"]


def test_the_openapi_documents_the_alert_routes(served: ServerThread) -> None:
    paths = httpx.get(served.url + "/openapi.json", timeout=30).json()["paths"]
    for path in (
        "/alerts/incidents",
        "/alerts/incidents/{incident_id}/dismiss",
        "/alerts/channels",
        "/alerts/channels/{channel_id}/test",
        "/alerts/deliveries",
        "/alerts/settings",
    ):
        assert path in paths


def test_a_send_test_to_a_closed_port_answers_502_with_the_reason(served: ServerThread) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as http:
        channel = http.post(
            "/alerts/channels",
            json={"kind": "webhook", "name": "down", "url": f"http://127.0.0.1:{free_port()}/"},
        ).json()
        answer = http.post(f"/alerts/channels/{channel['id']}/test")
        assert answer.status_code == 502
        assert answer.json()["error"] == "alert-receiver-unavailable"
        assert "cannot reach the receiver" in answer.json()["message"]


def test_a_hanging_receiver_never_holds_up_a_backup(
    served: ServerThread, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    receiver.answers = ["hang"] * 10
    with httpx.Client(base_url=served.url, timeout=30) as http:
        http.post(
            "/alerts/channels",
            json={"kind": "webhook", "name": "stuck", "url": receiver.url, "timeout_seconds": 20},
        ).raise_for_status()
        failing = failing_task(http, tmp_path)
        http.post(f"/databases/shop/tasks/backups/{failing}/backup-now").raise_for_status()
        # The alert thread is now stuck in the delivery, waiting up to 20 s for an answer.
        wait_for(lambda: receiver.received, "the hanging delivery")
        body = {"name": "Works", "full_backup_cron": "0 2 * * *",
                "destinations": [{"kind": "local", "path": str(tmp_path / "ok")}]}  # fmt: skip
        working = http.post("/databases/shop/tasks/backups", json=body).json()["id"]
        started = time.monotonic()
        http.post(f"/databases/shop/tasks/backups/{working}/backup-now").raise_for_status()

        def finished() -> dict[str, Any] | None:
            status = http.get(f"/databases/shop/tasks/backups/{working}/status").json()
            return status["last_run"] if status["running"] is None else None

        run = wait_for(finished, "the backup run")
        assert run["error"] is None
        assert time.monotonic() - started < 10  # well inside the receiver's 20 s
        assert len(receiver.received) == 1  # still the one delivery the thread waits on


def test_a_recovered_incident_moves_to_the_history_on_the_studio_page(
    served: ServerThread, tmp_path: Path
) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as http:
        task_id = failing_task(http, tmp_path)
        now = f"/databases/shop/tasks/backups/{task_id}/backup-now"
        http.post(now).raise_for_status()
        wait_for(lambda: http.get("/alerts/incidents").json()["incidents"], "the incident")
        page = http.get("/studio/alerts").text
        assert 'aria-label="1 open"' in page and "Closed incidents" not in page
        (tmp_path / "blocker").unlink()
        http.post(now).raise_for_status()
        wait_for(lambda: not http.get("/alerts/incidents").json()["incidents"], "the recovery")
        page = http.get("/studio/alerts").text
        assert "All quiet" in page and 'aria-label="1 open"' not in page
        history = page[page.index('aria-label="Closed incidents"') :]
        assert "Backup failed" in history and "Nightly" in history
        closed = http.get("/alerts/incidents", params={"all": "true"}).json()["incidents"]
        assert [i["state"] for i in closed] == ["recovered"]
