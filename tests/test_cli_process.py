"""The installed `rookdb` executable in a real process: exit codes, stderr, stdin, a terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

ROOKDB = str(Path(sys.executable).with_name("rookdb"))

Rook = Callable[..., subprocess.CompletedProcess[bytes]]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ROOKDB_")}
    clean["ROOKDB_DATA_DIR"] = str(tmp_path / "data")
    return clean


@pytest.fixture
def rook(env: dict[str, str], tmp_path: Path) -> Rook:
    def run(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run(
            [ROOKDB, *args], input=input, capture_output=True, env=env, cwd=tmp_path, timeout=60
        )
        assert b"Traceback" not in done.stderr, done.stderr.decode()
        return done

    return run


def test_round_trip_with_stdin_and_env_data_dir(rook: Rook, tmp_path: Path) -> None:
    assert rook("db", "create", "shop").returncode == 0
    put = rook("put", "shop", "users|", "-", input=b'{"name": "Ann", "tags": ["a"]}')
    assert put.returncode == 0, put.stderr
    assert put.stdout.startswith(b"users/1 etag ")

    got = rook("get", "shop", "users/1")
    assert got.returncode == 0
    assert json.loads(got.stdout)["tags"] == ["a"]
    # $ROOKDB_DATA_DIR chose the data dir, not ./rookdb-data.
    assert (tmp_path / "data" / "databases").is_dir()
    assert not (tmp_path / "rookdb-data").exists()

    assert rook("delete", "shop", "users/1").returncode == 0
    assert rook("get", "shop", "users/1").returncode == 1


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["get", "shop", "users/9"], None, "error: document 'users/9' does not exist\n"),
        (["get", "nope", "users/9"], None, "error: database 'nope' does not exist\n"),
        (["put", "shop", "users/1", "-"], b"{not json", "error: document 'users/1' is not valid"),
        (["db", "create", "../x"], None, "error: database name '../x' is not allowed"),
        (["query", "shop", "Users", "-w", "age>1"], None, "error: field 'age' is not indexed"),
        (["db", "delete", "shop"], None, "error: not deleting database 'shop'"),
    ],
)
def test_user_errors_are_one_line_on_stderr_with_exit_1(
    rook: Rook, args: list[str], stdin: bytes | None, message: str
) -> None:
    rook("db", "create", "shop")
    done = rook(*args, input=stdin)
    assert done.returncode == 1
    err = done.stderr.decode()
    assert err.startswith(message)
    assert err.count("\n") == 1
    assert done.stdout == b""


def test_invalid_json_writes_nothing(rook: Rook) -> None:
    rook("db", "create", "shop")
    assert rook("put", "shop", "users/1", '{"a": }').returncode == 1
    listed = json.loads(rook("db", "list", "--json").stdout)
    assert listed[0]["documents"] == 0 and listed[0]["last_etag"] == 0


@pytest.mark.parametrize(
    "args",
    [
        ["put", "shop"],
        ["query", "shop", "Users", "-w", "age"],
        ["frobnicate"],
        ["--data-dir"],
        ["--data-dir", "d", "--url", "http://127.0.0.1:9", "db", "list"],
    ],
)
def test_bad_usage_exits_2(rook: Rook, args: list[str]) -> None:
    done = rook(*args)
    assert done.returncode == 2
    assert done.stderr


def test_binary_attachment_streams_through_pipes(rook: Rook) -> None:
    rook("db", "create", "shop")
    rook("put", "shop", "files/1", "{}")
    content = os.urandom(300_000)
    put = rook("attachment", "put", "shop", "files/1", "blob", "-", input=content)
    assert put.returncode == 0, put.stderr
    got = rook("attachment", "get", "shop", "files/1", "blob")
    assert got.returncode == 0
    assert got.stdout == content


def _answer_in_terminal(args: list[str], env: dict[str, str], cwd: Path, answer: bytes) -> str:
    """Run with a pseudo-terminal as stdin/stdout, answer the prompt, return all it printed."""
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [ROOKDB, *args], stdin=terminal, stdout=terminal, stderr=terminal, env=env, cwd=cwd
    )
    os.close(terminal)
    seen = b""
    answered = False
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(controller, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if not answered and b"[y/N]" in seen:
                os.write(controller, answer)
                answered = True
            if proc.poll() is not None and not ready:
                break
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(controller)
    return f"{proc.returncode}:{seen.decode(errors='replace')}"


def test_delete_asks_in_a_terminal(rook: Rook, env: dict[str, str], tmp_path: Path) -> None:
    rook("db", "create", "shop")
    declined = _answer_in_terminal(["db", "delete", "shop"], env, tmp_path, b"n\n")
    assert declined.startswith("1:"), declined
    assert "Delete database 'shop'" in declined
    assert json.loads(rook("db", "list", "--json").stdout)[0]["name"] == "shop"

    accepted = _answer_in_terminal(["db", "delete", "shop"], env, tmp_path, b"y\n")
    assert accepted.startswith("0:"), accepted
    assert "deleted database 'shop'" in accepted
    assert json.loads(rook("db", "list", "--json").stdout) == []
