"""`rookdb backup tasks ...` embedded (data dir) and remote (a real server)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rookdb import Instance
from rookdb.cli.tasks import tasks_app
from rookdb.errors import InvalidInput, NotFound

SECRET = "cli-secret-key-never-printed"


def run(env: dict[str, str], *args: str) -> object:
    return CliRunner().invoke(tasks_app, list(args), env=env)


@pytest.fixture
def embedded(tmp_path: Path) -> dict[str, str]:
    data = tmp_path / "data"
    with Instance(data) as inst:
        inst.create_database("shop").put("users/1", {"name": "Ann"})
    return {"ROOKDB_DATA_DIR": str(data), "ROOKDB_URL": ""}


def test_embedded_create_list_show_now_disable_delete(
    embedded: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "backups"
    created = run(
        embedded,
        "create",
        "shop",
        "--full-cron",
        "0 2 * * *",
        "--incremental-cron",
        "0 */6 * * *",
        "--to-local",
        str(out),
        "--keep-full-chains",
        "3",
        "--encryption-key",
        SECRET,
    )
    assert created.exit_code == 0, created.output
    task_id = created.stdout.strip().splitlines()[0]
    assert task_id.startswith("t-")
    listed = run(embedded, "list", "shop", "--json")
    [task] = json.loads(listed.stdout)
    assert task["id"] == task_id and task["retention"]["keep_full_chains"] == 3
    assert task["status"]["next_backup"]["kind"] == "full"
    now = run(embedded, "now", "shop", task_id)
    assert now.exit_code == 0, now.output
    assert "full backup" in now.stdout and "1 documents" in now.stdout
    assert len(list(out.rglob("*.rookdb-full-backup"))) == 1
    again = run(embedded, "now", "shop", task_id, "--incremental")
    assert "skipped" in again.stdout
    shown = run(embedded, "show", "shop", task_id, "--json")
    body = json.loads(shown.stdout)
    assert body["status"]["last_full_backup"] is not None
    assert body["task"]["has_encryption_key"] is True
    human = run(embedded, "show", "shop", task_id)
    assert "last full" in human.stdout and "Local (" in human.stdout
    for output in (created.output, listed.output, shown.output, human.output, now.output):
        assert SECRET not in output
    assert run(embedded, "disable", "shop", task_id).exit_code == 0
    assert (
        json.loads(run(embedded, "show", "shop", task_id, "--json").stdout)["status"]["state"]
        == "disabled"
    )
    assert run(embedded, "enable", "shop", task_id).exit_code == 0
    assert run(embedded, "delete", "shop", task_id).exit_code == 0
    assert json.loads(run(embedded, "list", "shop", "--json").stdout) == []


def test_embedded_errors_name_the_problem(embedded: dict[str, str], tmp_path: Path) -> None:
    bad = run(embedded, "create", "shop", "--full-cron", "0 2 * *", "--to-local", str(tmp_path))
    assert isinstance(bad.exception, InvalidInput) and bad.exception.field == "full_backup_cron"
    none = run(embedded, "create", "shop", "--full-cron", "0 2 * * *")
    assert isinstance(none.exception, InvalidInput) and none.exception.field == "destinations"
    missing = run(embedded, "show", "shop", "t-0000")
    assert isinstance(missing.exception, NotFound)


def test_remote_commands_talk_to_the_server(
    live_server: object, instance: Instance, tmp_path: Path
) -> None:
    instance.create_database("shop").put("users/1", {"name": "Ann"})
    env = {"ROOKDB_URL": live_server.url, "ROOKDB_DATA_DIR": ""}  # type: ignore[attr-defined]
    dest = json.dumps({"kind": "local", "path": str(tmp_path / "out")})
    created = run(
        env,
        "create",
        "shop",
        "--full-cron",
        "0 2 * * *",
        "--destination",
        dest,
        "--name",
        "Nightly",
    )
    assert created.exit_code == 0, created.output
    task_id = created.stdout.strip()
    started = run(env, "now", "shop", task_id, "--json")
    assert started.exit_code == 0, started.output
    assert json.loads(started.stdout)["task_id"] == task_id
    for _ in range(300):  # the server runs it in the background
        shown = json.loads(run(env, "show", "shop", task_id, "--json").stdout)
        if shown["status"]["runs"] == 1:
            break
        time.sleep(0.05)
    assert shown["status"]["last_run"]["error"] is None
    listed = json.loads(run(env, "list", "shop", "--json").stdout)
    assert [t["name"] for t in listed] == ["Nightly"]
    bad = run(env, "create", "shop", "--full-cron", "nope", "--to-local", str(tmp_path))
    assert isinstance(bad.exception, InvalidInput) and bad.exception.field == "full_backup_cron"
