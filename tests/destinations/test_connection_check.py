"""Test connection over the HTTP API (`POST /destinations/test`) and the CLI, on real servers.

Each failure names its step and says why; no secret of the config is ever echoed.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from rookdb import Instance
from rookdb.server import ServerThread

from .conftest import azure_config, glacier_config
from .servers import VENV_BIN, FtpServer, ServerProcess, dead_port, fast, require, unique

S3_SECRET_WRONG = "wrong-secret-Zx81Qp"  # must never come back in an answer
AZURE_KEY_WRONG = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nIQ=="


def s3(moto_s3: dict[str, str], **changes: Any) -> dict[str, Any]:
    return fast(
        {
            "kind": "s3",
            "bucket": moto_s3["bucket"],
            "prefix": f"probe/{unique()}",
            "region": "us-east-1",
            "endpoint_url": moto_s3["endpoint_url"],
            "access_key_id": moto_s3["access_key_id"],
            "secret_access_key": moto_s3["secret_access_key"],
            **changes,
        }
    )


def post(http: httpx.Client, config: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    answer = http.post("/destinations/test", json=config)
    return answer.status_code, answer.json()


def test_http_success_on_each_kind(
    http: httpx.Client,
    tmp_path: Path,
    moto_s3: dict[str, str],
    azurite: ServerProcess,
    moto_glacier: ServerProcess,
    ftp_server: FtpServer,
) -> None:
    configs = [
        {"kind": "local", "path": str(tmp_path / "backups")},
        s3(moto_s3),
        azure_config(azurite.port),
        glacier_config(moto_glacier.url, tmp_path / "inventory.json"),
        fast(
            {
                "kind": "ftp",
                "host": "127.0.0.1",
                "port": ftp_server.port,
                "user": "rook",
                "password": "rook-secret",
                "folder": f"/probe/{unique()}",
            }
        ),
    ]
    for config in configs:
        status, body = post(http, config)
        assert (status, body["ok"]) == (200, True), body
        assert body["kind"] == config["kind"] and body["destination"]
    status, body = post(http, configs[1])
    assert body["destination"] == f"S3 ({moto_s3['bucket']}/{configs[1]['prefix']})"
    assert list((tmp_path / "backups").iterdir()) == []  # the probe was deleted


@pytest.mark.parametrize(
    "case, step, code",
    [
        ("wrong-keys", "write", "destination-access-denied"),
        ("missing-bucket", "write", "destination-access-denied"),
        ("unreachable", "write", "destination-unavailable"),
    ],
)
def test_http_failure_names_the_step_and_never_the_secret(
    http: httpx.Client, moto_s3: dict[str, str], case: str, step: str, code: str
) -> None:
    bucket = unique("nobucket")
    config = {
        "wrong-keys": s3(
            moto_s3, access_key_id="AKIAWRONGWRONG00001", secret_access_key=S3_SECRET_WRONG
        ),
        "missing-bucket": s3(moto_s3, bucket=bucket),
        "unreachable": s3(moto_s3, endpoint_url=f"http://127.0.0.1:{dead_port()}"),
    }[case]
    answer = http.post("/destinations/test", json=config)
    assert answer.status_code == 502
    body = answer.json()
    assert body["ok"] is False and body["step"] == step and body["code"] == code
    assert f"could not {step} a probe file" in body["error"]
    assert body["retryable"] is (case == "unreachable")
    if case == "missing-bucket":
        assert bucket in body["error"] and "does not exist" in body["error"]
    if case == "wrong-keys":
        assert "access denied" in body["error"]
    assert config["secret_access_key"] not in answer.text


def test_http_azure_wrong_key_and_ftp_wrong_password(
    http: httpx.Client, azurite: ServerProcess, ftp_server: FtpServer
) -> None:
    status, body = post(http, azure_config(azurite.port, account_key=AZURE_KEY_WRONG))
    assert (status, body["step"], body["code"]) == (502, "write", "destination-access-denied")
    assert AZURE_KEY_WRONG not in json.dumps(body)
    ftp = {
        "kind": "ftp",
        "host": "127.0.0.1",
        "port": ftp_server.port,
        "user": "rook",
        "password": "not-the-Password-71",
        "timeout_seconds": 5,
    }
    answer = http.post("/destinations/test", json=ftp)
    assert answer.status_code == 502 and answer.json()["step"] == "write"
    assert "not-the-Password-71" not in answer.text


def test_http_invalid_config_is_400_at_the_config_step(http: httpx.Client) -> None:
    answer = http.post(
        "/destinations/test",
        json={"kind": "s3", "secret_access_key": "hidden-Value-42", "colour": "red"},
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["ok"] is False and body["step"] == "config" and "bucket" in body["error"]
    assert "hidden-Value-42" not in answer.text
    answer = http.post("/destinations/test", json={"kind": "tape"})
    assert answer.status_code == 400 and "local, s3, azure" in answer.json()["error"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The real `rookdb` command in a child process: exit code, stdout and stderr as users see."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOKDB_")}
    rookdb = str(require(VENV_BIN / "rookdb"))
    return subprocess.run(
        [rookdb, "-q", *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


@pytest.mark.parametrize("remote", [False, True], ids=["embedded", "url"])
def test_cli_test_destination(
    remote: bool,
    instance: Instance,
    live_server: ServerThread,
    tmp_path: Path,
    moto_s3: dict[str, str],
) -> None:
    target = ["--url", live_server.url] if remote else ["--data-dir", str(instance.data_dir)]
    good = json.dumps(s3(moto_s3))
    result = run_cli(*target, "backup", "tasks", "test-destination", good)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: S3 (rookdb-tests/probe/")
    assert "written, read back and deleted" in result.stdout

    local = json.dumps({"kind": "local", "path": str(tmp_path / "b")})
    result = run_cli(
        *target, "backup", "tasks", "test-destination", "--destination", local, "--json"
    )
    assert result.returncode == 0 and json.loads(result.stdout)["ok"] is True

    denied = json.dumps(
        s3(moto_s3, access_key_id="AKIAWRONGWRONG00001", secret_access_key=S3_SECRET_WRONG)
    )
    result = run_cli(*target, "backup", "tasks", "test-destination", denied)
    assert result.returncode == 1
    assert "could not write a probe file" in result.stderr and "access denied" in result.stderr
    assert S3_SECRET_WRONG not in result.stdout + result.stderr

    down = json.dumps(s3(moto_s3, endpoint_url=f"http://127.0.0.1:{dead_port()}"))
    result = run_cli(*target, "backup", "tasks", "test-destination", down)
    assert result.returncode == 1 and "server unreachable" in result.stderr
    assert moto_s3["secret_access_key"] not in result.stdout + result.stderr

    result = run_cli(*target, "backup", "tasks", "test-destination", "{not json")
    assert result.returncode == 1 and "not valid JSON" in result.stderr
