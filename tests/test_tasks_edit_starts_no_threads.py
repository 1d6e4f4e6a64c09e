"""Editing backup tasks on a data dir starts no thread: the scheduler's run pool, drill
worker and loop start only when something runs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rookdb import Instance
from rookdb.cli.main import app
from rookdb.tasks import BackupTasks


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The names of the threads started while the test runs."""
    names: list[str] = []
    start = threading.Thread.start

    def recording(thread: threading.Thread) -> None:
        names.append(thread.name)
        start(thread)

    monkeypatch.setattr(threading.Thread, "start", recording)
    yield names


def test_cli_task_commands_on_a_data_dir_start_no_thread(
    tmp_path: Path, started: list[str]
) -> None:
    data = tmp_path / "data"
    with Instance(data) as instance:
        instance.create_database("shop")
    env = {"ROOKDB_DATA_DIR": str(data), "ROOKDB_URL": ""}
    before = set(threading.enumerate())

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, ["backup", "tasks", *args], env=env)
        assert result.exit_code == 0, result.output
        return result.stdout

    task_id = run("create", "shop", "--full-cron", "0 2 * * *", "--to-local", str(tmp_path / "b"))
    task_id = task_id.strip()
    [listed] = json.loads(run("list", "shop", "--json"))
    assert listed["id"] == task_id and listed["status"]["state"] == "active"
    run("show", "shop", task_id)
    run("disable", "shop", task_id)
    run("enable", "shop", task_id)
    run("delete", "shop", task_id)
    assert started == []
    # Threads of earlier tests may end meanwhile: only new ones would be this test's.
    assert set(threading.enumerate()) - before == set()


def test_the_service_starts_threads_only_to_run(instance: Instance, tmp_path: Path) -> None:
    instance.create_database("shop").put("users/1", {"name": "Ann"})
    before = set(threading.enumerate())
    service = BackupTasks(instance)
    task = service.create(
        "shop",
        {
            "full_backup_cron": "0 2 * * *",
            "destinations": [{"kind": "local", "path": str(tmp_path / "b")}],
        },
    )
    service.update("shop", task["id"], {**task, "incremental_backup_cron": "0 * * * *"})
    service.disable("shop", task["id"])
    service.enable("shop", task["id"])
    assert service.status("shop", task["id"])["state"] == "active"
    assert set(threading.enumerate()) - before == set()
    # A run is what brings the run pool up; stopping the scheduler ends it.
    assert service.backup_now("shop", task["id"], wait=True)["error"] is None
    assert any(t.name.startswith("backup-run") for t in threading.enumerate())
    service.scheduler.stop()
    assert set(threading.enumerate()) - before == set()
