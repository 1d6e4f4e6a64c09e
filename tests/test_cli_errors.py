"""The `rookdb` executable reports every failure as one `error:` line: exit 1, or 2 for bad usage.

Real processes for the invocations issue 13 found printing a traceback, for
`serve`, and for `backup tasks now --json` on a failed backup; the safety net
for a bug (`error: unexpected ...`, the traceback only with ROOKDB_DEBUG=1) is
shown with a small Typer app of its own, run by the same entry function.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import rookdb
from rookdb.cli.main import run
from rookdb_process import ENV, ROOKDB


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`rookdb ARGS` as a process, as a user runs it."""
    return subprocess.run(
        [*ROOKDB, *args], capture_output=True, text=True, env=ENV, cwd=cwd, timeout=60
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    with rookdb.open(tmp_path / "data") as instance:
        instance.create_database("shop").put("users/1", {"name": "Ann"})
    return tmp_path / "data"


def one_error_line(done: object, code: int = 1) -> str:
    stdout, stderr = done.stdout, done.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stdout + stderr, stderr
    assert done.returncode == code, (done.returncode, stdout, stderr)  # type: ignore[attr-defined]
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert not lines[0].startswith("error: unexpected "), lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["docs", "shop", "--start", "99999999999999999999"], 1, "start"),
        (["--data-dir", "{file}", "db", "list"], 1, "is a file, not a folder"),
        (["restore", "ftp://u:pw-Secret@127.0.0.1:99999/x", "-d", "x1"], 1, "port"),
        (["backup", "ls", "ftp://h:abc/x"], 1, "port must be a number"),
        (["backup", "ls", "s3://b", "--source-option", "endpoint_url=notaurl"], 1, "endpoint_url"),
        (
            [
                "backup",
                "tasks",
                "test-destination",
                '{"kind": "s3", "bucket": "b", "endpoint_url": "not a url"}',
            ],
            1,
            "field 'endpoint_url': must be an http:// or https:// URL",
        ),  # fmt: skip
        (["--url", "http://[::1", "db", "list"], 1, "not a valid URL"),
        (["--url", "ftp://127.0.0.1", "db", "list"], 1, "use http://HOST:PORT"),
        # The unquoted JSON a shell splits: bad usage, one line, not a box.
        (["backup", "tasks", "test-destination", '{"kind":', '"s3"}'], 2, "unexpected extra"),
        (["frobnicate"], 2, "No such command"),
        (["serve", "--data-dir", "{file}"], 1, "is a file, not a folder"),
        (["serve", "--port", "99999999999999999999"], 2, "--port"),
        (["serve", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.pem"], 1, "tls"),
    ],
)
def test_each_failure_is_one_error_line(
    data_dir: Path, tmp_path: Path, args: list[str], code: int, says: str
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    args = [a.replace("{file}", str(a_file)) for a in args]
    if "--data-dir" not in args and "--url" not in args:
        args = ["--data-dir", str(data_dir), *args]
    line = one_error_line(cli(*args), code)
    assert says in line
    assert "pw-Secret" not in line


def test_backup_now_json_exits_1_when_the_backup_failed(data_dir: Path, tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("a file where the backup folder should be")
    created = cli("--data-dir", str(data_dir), "backup", "tasks", "create", "shop",
                  "--full-cron", "0 2 * * *", "--to-local", str(blocked / "backups"))  # fmt: skip
    assert created.returncode == 0, created.stderr
    task_id = created.stdout.strip()
    for extra in (["--json"], []):
        done = cli("--data-dir", str(data_dir), "backup", "tasks", "now", "shop", task_id, *extra)
        assert done.returncode == 1, (done.stdout, done.stderr)
        # The run's own warnings may come first; the verdict is the last line.
        assert "Traceback" not in done.stderr
        line = done.stderr.strip().splitlines()[-1]
        assert line.startswith(f"error: backup of {task_id} failed"), done.stderr
        if extra:
            assert json.loads(done.stdout)["error"]  # the run's JSON is still printed


def test_relative_to_local_is_resolved_by_the_cli(data_dir: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    done = cli("--data-dir", str(data_dir), "backup", "tasks", "create", "shop", "--json",
               "--full-cron", "0 2 * * *", "--to-local", "backups", cwd=work)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["destinations"][0]["path"] == str(work / "backups")


def _buggy_app() -> typer.Typer:
    buggy = typer.Typer()

    @buggy.command()
    def crash() -> None:
        """Fail the way a bug does: with an exception that is no RookError."""
        raise ValueError("a value\nno one expected")

    return buggy


@pytest.mark.parametrize("debug", [False, True])
def test_a_bug_is_one_line_and_its_traceback_only_on_request(debug: bool) -> None:
    env = {"ROOKDB_DEBUG": "1" if debug else None}
    with CliRunner().isolation(env=env) as (_out, err, _):
        code = run([], cli=_buggy_app())
        sys.stderr.flush()
        stderr = err.getvalue().decode()
    assert code == 1
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("error: unexpected ValueError: a value no one expected (a bug")
    assert "ROOKDB_DEBUG=1" in last
    assert ("Traceback" in stderr) is debug
