"""`rookdb backup tasks create --drill`, `tasks drill` (Drill Now) and `tasks show`, embedded."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rookdb import Instance
from rookdb.cli.main import app
from rookdb.cli.tasks import tasks_app
from rookdb.errors import BackupError, InvalidInput

from .chains import fill, flip_byte


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    with Instance(path) as instance:
        fill(instance.create_database("shop"))
    return path


def tasks(data: Path, *args: str) -> object:
    return CliRunner().invoke(app, ["--data-dir", str(data), "backup", "tasks", *args])


def test_drill_task_from_the_cli(data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    created = tasks(
        data, "create", "shop", "--full-cron", "0 2 * * *", "--to-local", str(out), "--drill"
    )
    assert created.exit_code == 0, created.output
    task_id = created.stdout.split()[0]
    ran = tasks(data, "now", "shop", task_id)
    assert ran.exit_code == 0, ran.output

    shown = tasks(data, "show", "shop", task_id)
    assert shown.exit_code == 0, shown.output
    assert "drill:            after each full (destination 0)" in shown.stdout
    assert "verified restorable: 20" in shown.stdout  # a time, not "never"
    assert "restore time:" in shown.stdout

    drilled = tasks(data, "drill", "shop", task_id)
    assert drilled.exit_code == 0, drilled.output
    assert "restorable up to" in drilled.stdout and "125 documents" in drilled.stdout

    [full] = out.rglob("*.rookdb-full-backup")
    flip_byte(full)
    failed = tasks(data, "drill", "shop", task_id)
    assert failed.exit_code == 1
    assert isinstance(failed.exception, BackupError)
    assert full.name in failed.exception.message
    shown = tasks(data, "show", "shop", task_id)
    assert f"last drill error: backup file {full.name}" in shown.stdout
    assert "OVERDUE" not in shown.stdout.splitlines()[1]  # no fire time has passed yet


def test_bad_drill_cron_is_refused(data: Path, tmp_path: Path) -> None:
    result = tasks(
        data,
        "create",
        "shop",
        "--full-cron",
        "0 2 * * *",
        "--to-local",
        str(tmp_path / "out"),
        "--drill-cron",
        "sometimes",
    )
    assert result.exit_code == 1
    assert isinstance(result.exception, InvalidInput)
    assert result.exception.field == "drill.cron"


def test_remote_drill_commands(live_server: object, instance: Instance, tmp_path: Path) -> None:
    fill(instance.create_database("shop"))
    env = {"ROOKDB_URL": live_server.url, "ROOKDB_DATA_DIR": ""}  # type: ignore[attr-defined]

    def remote(*args: str) -> Any:
        return CliRunner().invoke(tasks_app, list(args), env=env)

    created = remote(
        "create", "shop", "--full-cron", "0 2 * * *", "--to-local", str(tmp_path / "out"), "--drill"
    )
    assert created.exit_code == 0, created.output
    task_id = created.stdout.strip()
    assert remote("now", "shop", task_id).exit_code == 0

    def drills() -> dict[str, Any]:
        for _ in range(600):  # the server drills in the background
            status: dict[str, Any] = json.loads(remote("show", "shop", task_id, "--json").stdout)[
                "status"
            ]
            if status["last_drill"] and status["drilling"] is None:
                return status
            time.sleep(0.05)
        raise AssertionError("no drill was recorded")

    assert drills()["last_drill"]["trigger"] == "after_full"
    queued = remote("drill", "shop", task_id)
    assert queued.exit_code == 0, queued.output
    assert f"queued a restore drill of {task_id}" in queued.stdout
    status = drills()
    assert status["last_drill"]["trigger"] == "manual" and status["last_drill"]["passed"] is True
