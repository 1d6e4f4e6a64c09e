"""Newly entered destination configs are checked up front: endpoint URLs, NUL, absolute paths.

Over real HTTP (test connection and task routes) and through the URL parser
the CLI uses; configs stored by an older version are still read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from rookdb import Instance
from rookdb.destinations import config_from_url, from_url
from rookdb.errors import InvalidInput
from rookdb.tasks import BackupTasks
from rookdb.tasks.model import load_task

BASE = "/databases/shop/tasks/backups"
ENDPOINT_KINDS = [
    {"kind": "s3", "bucket": "b"},
    {"kind": "glacier", "vault": "v"},
    {"kind": "gcs", "bucket": "b"},
    {"kind": "azure", "container": "c", "account_name": "acct"},
]


@pytest.mark.parametrize("base", ENDPOINT_KINDS, ids=lambda c: c["kind"])
@pytest.mark.parametrize(
    "endpoint", ["not a url", "notaurl", "ftp://host", "http://", "http://h:99999", "http://[::1"]
)
def test_test_connection_refuses_an_endpoint_that_is_no_url(
    http: httpx.Client, base: dict[str, Any], endpoint: str
) -> None:
    answer = http.post("/destinations/test", json={**base, "endpoint_url": endpoint})
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["step"] == "config"
    assert "field 'endpoint_url': must be an http:// or https:// URL with a host" in body["error"]


@pytest.fixture
def shop(instance: Instance) -> Instance:
    instance.create_database("shop")
    return instance


def task(*destinations: dict[str, Any]) -> dict[str, Any]:
    return {"full_backup_cron": "0 2 * * *", "destinations": list(destinations)}


@pytest.mark.parametrize(
    ("destination", "field", "text"),
    [
        ({"kind": "local", "path": "/backups/a\x00b"}, "path", "must not contain a NUL"),
        ({"kind": "local", "path": "../../x"}, "path", "must be an absolute path"),
        ({"kind": "local", "path": "backups"}, "path", "must be an absolute path"),
        ({"kind": "local", "path": "~/backups"}, "path", "must be an absolute path"),
        ({"kind": "s3", "bucket": "b", "endpoint_url": "not a url"}, "endpoint_url", "http://"),
        ({"kind": "ftp", "host": "h\x00st"}, "host", "must not contain a NUL"),
        ({"kind": "ftp", "host": "h", "password": "p\x00"}, "password", "must not contain a NUL"),
    ],
)
def test_a_task_with_a_bad_destination_is_400_naming_the_field(
    shop: Instance, http: httpx.Client, destination: dict[str, Any], field: str, text: str
) -> None:
    for answer in (
        http.post(BASE, json=task(destination)),
        http.post("/destinations/test", json=destination),
    ):
        assert answer.status_code == 400, answer.text
        body = answer.json()
        assert text in body["message"]
        assert body.get("field", "destinations.0." + field).endswith(field)
    assert http.get(BASE).json()["tasks"] == []


def test_a_task_stored_with_a_relative_path_is_still_read(shop: Instance, tmp_path: Path) -> None:
    # Stored by a version that took relative paths: it lists, and can be fixed or deleted.
    tasks = BackupTasks(shop)
    try:
        old = load_task({**task({"kind": "local", "path": "backups"}), "id": "t-0001"})
        tasks.tasks.put("shop", old)
        [listed] = tasks.list("shop")
        assert listed["destinations"][0]["path"] == "backups"
        fixed = {
            **tasks.get("shop", "t-0001"),
            "destinations": [{"kind": "local", "path": str(tmp_path)}],
        }
        assert tasks.update("shop", "t-0001", fixed)["destinations"][0]["path"] == str(tmp_path)
        tasks.delete("shop", "t-0001")
    finally:
        tasks.scheduler.stop()


def test_a_relative_path_given_on_the_command_line_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config, leaf = config_from_url("backups/run-1")
    assert (config["path"], leaf) == (str(tmp_path / "backups"), "run-1")
    destination, _ = from_url("backups/run-1")  # checked as input: absolute, accepted
    destination.close()


@pytest.mark.parametrize(
    "url", ["ftp://u:pw-Secret-1@127.0.0.1:99999/x", "ftp://u:pw-Secret-1@h:abc/x", "s3://[::1/x"]
)
def test_a_url_with_a_bad_port_or_host_is_invalid_input(url: str) -> None:
    with pytest.raises(InvalidInput) as info:
        config_from_url(url)
    assert info.value.field == "url"
    assert "pw-Secret-1" not in info.value.message
