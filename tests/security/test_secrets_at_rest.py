"""Task secrets at rest: sealed with the master key (0600 file or env); rotation keeps tasks."""

from __future__ import annotations

import base64
import json
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import rookdb
from destinations.servers import FtpServer
from rookdb.errors import MasterKeyError
from rookdb.tasks import BackupTasks
from rookdb_process import cli

PASSWORD = "rook-secret"  # the FTP server's real password: uploads prove it was opened right
KEY = "correct horse battery staple, sealed"


@pytest.fixture
def ftp(tmp_path: Path) -> Iterator[FtpServer]:
    home = tmp_path / "ftp-home"
    home.mkdir()
    server = FtpServer(home)
    server.start()
    yield server
    server.stop()


def _task(tmp_path: Path, ftp: FtpServer) -> dict[str, object]:
    return {
        "full_backup_cron": "0 2 * * *",
        "encryption_key": KEY,
        "destinations": [
            {"kind": "local", "path": str(tmp_path / "backups")},
            {"kind": "ftp", "host": "127.0.0.1", "port": ftp.port, "user": "rook",
             "password": PASSWORD, "folder": "/"},
        ],
    }  # fmt: skip


def _store_bytes(data: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data.glob("system.sqlite*"))


def test_secrets_are_sealed_in_the_store_with_a_private_key_file(
    tmp_path: Path, ftp: FtpServer
) -> None:
    data = tmp_path / "data"
    with rookdb.open(data) as instance:
        instance.create_database("shop")
        tasks = BackupTasks(instance)
        task_id = tasks.create("shop", _task(tmp_path, ftp))["id"]
        stored = tasks.tasks.get("shop", task_id)
        assert stored.encryption_key == KEY
        assert stored.destination_dicts()[1]["password"] == PASSWORD
    assert stat.S_IMODE((data / "master.key").stat().st_mode) == 0o600
    raw = _store_bytes(data)
    assert raw and PASSWORD.encode() not in raw and KEY.encode() not in raw
    # Another master key cannot open them, and says which key it would need.
    (data / "master.key").unlink()
    with rookdb.open(data) as instance, pytest.raises(MasterKeyError, match="master key"):
        BackupTasks(instance).tasks.get("shop", task_id)


def test_a_readable_master_key_file_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with rookdb.open(data) as instance:
        instance.secrets.current()
        os.chmod(data / "master.key", 0o644)
        with pytest.raises(MasterKeyError, match="chmod 600"):
            instance.secrets.current()


def test_master_key_from_the_environment(tmp_path: Path, ftp: FtpServer) -> None:
    data = tmp_path / "data"
    env = {"ROOKDB_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
    assert cli("--data-dir", str(data), "db", "create", "shop", env=env).returncode == 0
    payload = json.dumps(_task(tmp_path, ftp)["destinations"][1])  # type: ignore[index]
    made = cli(
        "--data-dir", str(data), "backup", "tasks", "create", "shop", "--full-cron", "0 2 * * *",
        "--destination", payload, "--json", env=env,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    task_id = json.loads(made.stdout)["id"]
    assert not (data / "master.key").exists()
    assert PASSWORD.encode() not in _store_bytes(data)
    run = cli("--data-dir", str(data), "backup", "tasks", "now", "shop", task_id, env=env)
    assert run.returncode == 0, run.stderr
    # Without the variable the secrets stay shut, with a message to act on.
    shut = cli("--data-dir", str(data), "backup", "tasks", "now", "shop", task_id)
    assert shut.returncode == 1 and "ROOKDB_MASTER_KEY" in shut.stderr
    assert "Traceback" not in shut.stderr
    bad = cli("--data-dir", str(data), "db", "list", env={"ROOKDB_MASTER_KEY": "short"})
    assert bad.returncode == 0  # nothing sealed was needed
    bad = cli(
        "--data-dir", str(data), "backup", "tasks", "now", "shop", task_id,
        env={"ROOKDB_MASTER_KEY": "short"},
    )  # fmt: skip
    assert bad.returncode == 1 and "32 random bytes in base64" in bad.stderr


def test_rotating_the_master_key_keeps_tasks_working(tmp_path: Path, ftp: FtpServer) -> None:
    data = tmp_path / "data"
    with rookdb.open(data) as instance:
        instance.create_database("shop").put("users/1", {"name": "Ann"})
        task_id = BackupTasks(instance).create("shop", _task(tmp_path, ftp))["id"]
    old_key = (data / "master.key").read_text()
    first = cli("--data-dir", str(data), "backup", "tasks", "now", "shop", task_id)
    assert first.returncode == 0, first.stderr

    rotated = cli("--data-dir", str(data), "keys", "rotate-master")
    assert rotated.returncode == 0, rotated.stderr
    assert "2 stored secrets sealed again" in rotated.stdout
    assert (data / "master.key").read_text() != old_key
    assert stat.S_IMODE((data / "master.key").stat().st_mode) == 0o600
    assert sorted(p.name for p in data.glob("master.key*")) == ["master.key"]

    with rookdb.open(data) as instance:
        instance.database("shop").put("users/2", {"name": "Bob"})
    # The FTP upload logs in with the password opened by the new key; the file is
    # encrypted with the task key opened by the new key.
    second = cli("--data-dir", str(data), "backup", "tasks", "now", "shop", task_id)
    assert second.returncode == 0, second.stderr
    shown = cli("--data-dir", str(data), "backup", "tasks", "show", "shop", task_id, "--json")
    status = json.loads(shown.stdout)["status"]
    assert [d["state"] for d in status["destinations"]] == ["done", "done"]
    restored = cli(
        "--data-dir", str(data), "restore", str(tmp_path / "backups"), "--database", "copy",
        "--encryption-key", KEY,
    )  # fmt: skip
    assert restored.returncode == 0, restored.stderr
    with rookdb.open(data) as instance:
        copy = instance.database("copy")
        assert copy.get("users/2") is not None and copy.get("users/2").body == {"name": "Bob"}  # type: ignore[union-attr]
    # The old key opens nothing any more.
    (data / "master.key").write_text(old_key)
    stale = cli("--data-dir", str(data), "backup", "tasks", "now", "shop", task_id)
    assert stale.returncode == 1 and "master key" in stale.stderr


def test_a_rotation_cut_short_is_finished_by_running_it_again(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with rookdb.open(data) as instance:
        instance.create_database("shop")
        tasks = BackupTasks(instance)
        body = {"full_backup_cron": "0 2 * * *", "encryption_key": KEY,
                "destinations": [{"kind": "local", "path": str(tmp_path / "b")}]}  # fmt: skip
        task_id = tasks.create("shop", body)["id"]

        def crash_after_resealing(new_key: bytes) -> int:
            tasks.tasks.reseal_all(new_key)
            raise KeyboardInterrupt  # the process dies before master.key is replaced

        with pytest.raises(KeyboardInterrupt):
            instance.secrets.rotate(crash_after_resealing)
        # master.key.new holds the key the task is sealed with now: it still opens.
        assert (data / "master.key.new").exists()
        assert tasks.tasks.get("shop", task_id).encryption_key == KEY
    done = cli("--data-dir", str(data), "keys", "rotate-master")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in data.glob("master.key*")) == ["master.key"]
    with rookdb.open(data) as instance:
        assert BackupTasks(instance).tasks.get("shop", task_id).encryption_key == KEY
