"""`rookdb serve` as a real process: it announces its URL, answers, and stops cleanly."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import rookdb

# The installed `rookdb` console script next to this Python, as a user would run it.
_SCRIPT = Path(sys.executable).parent / "rookdb"
ROOKDB = (
    [str(_SCRIPT)]
    if _SCRIPT.exists()
    else [sys.executable, "-c", "from rookdb.cli.main import main; main()"]
)
ENV = {k: v for k, v in os.environ.items() if not k.startswith("ROOKDB_")}


def start(args: list[str], cwd: Path) -> tuple[subprocess.Popen[str], str]:
    """Start `rookdb ...serve...` and return it with the URL it announced."""
    proc = subprocess.Popen(
        [*ROOKDB, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 20)
    if not ready:
        proc.kill()
        pytest.fail("rookdb serve did not announce itself in 20 s")
    line = proc.stdout.readline()
    assert line.startswith("rookdb serving http://127.0.0.1:"), line + proc.stderr.read()
    return proc, line.split()[2].rstrip("/")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serve_answers_health_and_stops_cleanly(tmp_path: Path, stop_signal: int) -> None:
    data = tmp_path / "data"
    proc, url = start(["serve", "--open", "--data-dir", str(data), "--port", "0"], tmp_path)
    try:
        assert httpx.get(f"{url}/health").json() == {"status": "ok"}
        assert httpx.post(f"{url}/databases", json={"name": "shop"}).status_code == 201
        put = httpx.put(f"{url}/databases/shop/docs/users/1", json={"name": "Ann"})
        assert put.status_code == 200
    finally:
        proc.send_signal(stop_signal)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert code == 0, proc.stderr.read() if proc.stderr else ""
    # The data is on disk and the files were closed: open them embedded.
    with rookdb.open(data) as instance:
        doc = instance.database("shop").get("users/1")
        assert doc is not None and doc.body == {"name": "Ann"}


def test_serve_uses_the_global_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "global-data"
    proc, url = start(["--data-dir", str(data), "serve", "--open", "--port", "0"], tmp_path)
    try:
        httpx.post(f"{url}/databases", json={"name": "kept"})
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    with rookdb.open(data) as instance:
        assert instance.database_names() == ["kept"]


def test_serve_on_a_taken_port_fails_with_a_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run(
            [*ROOKDB, "serve", "--data-dir", str(tmp_path / "d"), "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            env=ENV,
        )
    assert result.returncode == 1
    assert f"error: cannot serve on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 30


class RecordingService:
    """A background service that notes when the app starts and stops it."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    def start(self) -> None:
        self.log.append(f"start {self.name}")

    def stop(self) -> None:
        self.log.append(f"stop {self.name}")


def test_background_services_follow_the_app_lifespan(instance: rookdb.Instance) -> None:
    from rookdb.server import ServerThread

    log: list[str] = []
    services = [RecordingService("a", log), RecordingService("b", log)]
    with ServerThread(instance, services=services) as server:
        assert log == ["start a", "start b"]
        assert httpx.get(f"{server.url}/health").status_code == 200
    assert log == ["start a", "start b", "stop b", "stop a"]
