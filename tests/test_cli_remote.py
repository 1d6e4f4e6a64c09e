"""The same CLI commands with `--url` against a real `rookdb serve` process on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner, Result

from rookdb.cli.main import app
from rookdb.errors import ConcurrencyConflict, InvalidInput, NotFound

ROOKDB = str(Path(sys.executable).with_name("rookdb"))

Run = Callable[..., Result]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = tmp_path_factory.mktemp("served")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOKDB_")}
    proc = subprocess.Popen(
        [
            ROOKDB,
            "serve",
            "--open",
            "--data-dir",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"rookdb serve exited: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("rookdb serve did not answer /health within 30 s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def run(server: str, request: pytest.FixtureRequest) -> Run:
    def invoke(*args: str, input: str | bytes | None = None) -> Result:
        return CliRunner().invoke(app, ["--url", server, *args], input=input)

    return invoke


@pytest.fixture
def dbname(run: Run, request: pytest.FixtureRequest) -> str:
    # One server for the module: each test gets its own database.
    name = request.node.name.replace("[", "-").replace("]", "").replace("_", "-")[:60]
    created = run("db", "create", name)
    assert created.exit_code == 0, created.output
    return name


def test_databases_over_http(run: Run) -> None:
    assert run("db", "create", "remote-shop").exit_code == 0
    listed = {d["name"]: d for d in json.loads(run("db", "list", "--json").stdout)}
    assert listed["remote-shop"]["documents"] == 0
    assert "remote-shop" in run("db", "list").stdout

    again = run("db", "create", "remote-shop")
    assert again.exit_code == 1

    bad = run("db", "create", "../x")
    assert bad.exit_code == 1
    assert isinstance(bad.exception, InvalidInput)
    assert "'../x'" in str(bad.exception)

    assert run("db", "delete", "remote-shop", "--yes").exit_code == 0
    names = [d["name"] for d in json.loads(run("db", "list", "--json").stdout)]
    assert "remote-shop" not in names
    gone = run("db", "delete", "remote-shop", "--yes")
    assert isinstance(gone.exception, NotFound)


def test_documents_over_http(run: Run, dbname: str) -> None:
    put = run("put", dbname, "users/1", '{"name": "Ann", "age": 31}')
    assert put.exit_code == 0, put.output
    assert put.stdout.strip() == "users/1 etag 1"
    from_stdin = run("put", dbname, "orders|", "-", input='{"total": 3}')
    assert from_stdin.stdout.startswith("orders/1 etag ")

    doc = json.loads(run("get", dbname, "users/1").stdout)
    assert doc["name"] == "Ann"
    assert doc["@metadata"]["@collection"] == "Users"
    assert doc["@metadata"]["@etag"] == 1

    stale = run("put", dbname, "users/1", "{}", "--expected-etag", "99")
    assert isinstance(stale.exception, ConcurrencyConflict)

    invalid = run("put", dbname, "users/2", "{nope")
    assert isinstance(invalid.exception, InvalidInput)

    listed = json.loads(run("docs", dbname, "--collection", "Users", "--json").stdout)
    assert [d["@metadata"]["@id"] for d in listed] == ["users/1"]

    assert run("delete", dbname, "users/1").exit_code == 0
    missing = run("get", dbname, "users/1")
    assert missing.exit_code == 1
    assert isinstance(missing.exception, NotFound)
    assert str(missing.exception) == "document 'users/1' does not exist"
    assert isinstance(run("delete", dbname, "users/1").exception, NotFound)

    unknown = run("get", "no-such-db", "users/1")
    assert isinstance(unknown.exception, NotFound)


def test_indexes_and_queries_over_http(run: Run, dbname: str) -> None:
    for i, age in enumerate([31, 25, 40], 1):
        run("put", dbname, f"users/{i}", json.dumps({"age": age}))
    created = run("index", "create", dbname, "UsersByAge", "Users", "age")
    assert created.exit_code == 0, created.output
    assert [d["name"] for d in json.loads(run("index", "list", dbname, "--json").stdout)] == [
        "UsersByAge"
    ]

    out = run("query", dbname, "Users", "-w", "age>=30", "--order-by", "-age", "--json")
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["total"] == 2
    assert [d["@metadata"]["@id"] for d in result["documents"]] == ["users/3", "users/1"]
    assert "users/3" in run("query", dbname, "Users", "-w", "age>39").stdout

    unindexed = run("query", dbname, "Users", "-w", "name=Ann")
    assert unindexed.exit_code == 1
    assert isinstance(unindexed.exception, InvalidInput)
    assert "'name' is not indexed" in str(unindexed.exception)

    assert run("index", "delete", dbname, "UsersByAge").exit_code == 0


def test_attachments_over_http(run: Run, dbname: str, tmp_path: Path) -> None:
    run("put", dbname, "files/1", "{}")
    content = os.urandom(200_000)
    source = tmp_path / "data.bin"
    source.write_bytes(content)
    put = run("attachment", "put", dbname, "files/1", "data", str(source), "--json")
    assert put.exit_code == 0, put.output
    assert json.loads(put.stdout)["size"] == len(content)

    target = tmp_path / "copy.bin"
    assert run("attachment", "get", dbname, "files/1", "data", "-o", str(target)).exit_code == 0
    assert target.read_bytes() == content
    assert run("attachment", "get", dbname, "files/1", "data").stdout_bytes == content

    listed = json.loads(run("attachment", "list", dbname, "files/1", "--json").stdout)
    assert [(a["name"], a["size"]) for a in listed] == [("data", len(content))]
    assert run("attachment", "delete", dbname, "files/1", "data").exit_code == 0
    assert isinstance(run("attachment", "get", dbname, "files/1", "data").exception, NotFound)


def test_process_with_env_url_reports_errors_on_stderr(server: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOKDB_")}
    env["ROOKDB_URL"] = server

    def rook(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [ROOKDB, *args], capture_output=True, env=env, cwd=tmp_path, timeout=60
        )

    assert rook("db", "create", "env-url").returncode == 0
    assert rook("put", "env-url", "users/1", '{"a": 1}').returncode == 0
    assert json.loads(rook("get", "env-url", "users/1").stdout)["a"] == 1
    missing = rook("get", "env-url", "users/2")
    assert missing.returncode == 1
    assert missing.stderr == b"error: document 'users/2' does not exist\n"
    # It talked to the server: no local data dir appeared.
    assert not (tmp_path / "rookdb-data").exists()


def test_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    done = subprocess.run(
        [ROOKDB, "--url", url, "db", "list"], capture_output=True, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 1
    err = done.stderr.decode()
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "127.0.0.1" in err
    assert "Traceback" not in err
