"""Helpers for starting real servers and describing a backend to the contract suite."""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import boto3
import pytest

from rookdb.destinations import Destination

REPO = Path(__file__).resolve().parents[2]
NODE_BIN = REPO / ".test-servers" / "node_modules" / ".bin"
VENV_BIN = Path(sys.executable).parent
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dead_port() -> int:
    """A port that refuses connections (bound, never listening)."""
    return free_port()


def wait_for_port(
    port: int, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Wait until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            pytest.fail(f"server exited with {proc.returncode} before listening: {out[-2000:]}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"no server listening on 127.0.0.1:{port} after {timeout} s")


def require(executable: Path) -> Path:
    """The path of an emulator executable; fail (not skip) when it is not installed."""
    if not executable.exists():
        pytest.fail(
            f"{executable} is missing: run `bash scripts/test-deps.sh` to install emulators"
        )
    return executable


class ServerProcess:
    """An emulator in a child process that can be stopped and restarted on the same port."""

    def __init__(self, argv_for_port: Callable[[int], list[str]], port: int | None = None) -> None:
        self.argv_for_port = argv_for_port
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv_for_port(self.port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        wait_for_port(self.port, proc=self.proc)
        # Drain output so a chatty server never blocks on a full pipe.
        stream = self.proc.stdout
        threading.Thread(target=lambda: [None for _ in stream or []], daemon=True).start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


@dataclass
class Restartable:
    """A destination on its own server that a test may stop and start again."""

    destination: Destination
    stop: Callable[[], None]
    start: Callable[[], None]


@dataclass
class Backend:
    """What the contract suite needs from one backend's real server."""

    label: str
    make: Callable[[], Destination]  # a destination rooted at a fresh, empty place
    wrong_credentials: Callable[[], Destination] | None
    missing_container: Callable[[], tuple[Destination, str]] | None  # and the missing name
    unreachable: Callable[[], Destination] | None
    restartable: Callable[[], AbstractContextManager[Restartable]] | None
    # Whether a progress callback is called per chunk (so a failing one aborts mid-upload).
    chunked_progress: bool = True
    # Whether list() asks the server (Glacier answers from a local inventory).
    remote_listing: bool = True


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def fast(config: dict[str, Any]) -> dict[str, Any]:
    """Short timeouts so "server down" tests fail in about a second."""
    return {**config, "timeout_seconds": 5}


class Server(Protocol):
    """Anything that can be started and stopped again on the same port."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@contextmanager
def restartable(
    server: Server, prepare: Callable[[], None], destination: Destination
) -> Iterator[Restartable]:
    def start() -> None:
        server.start()
        prepare()

    start()
    try:
        yield Restartable(destination, server.stop, start)
    finally:
        destination.close()
        server.stop()


def which(name: str) -> str:
    """The path of a system tool; fail (not skip) when it is missing."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed")
    return path


class FtpServer:
    """A pyftpdlib server in a thread, with its own IO loop so several can run side by side."""

    def __init__(self, home: Path, certfile: Path | None = None, port: int | None = None) -> None:
        self.home = home
        self.certfile = certfile
        self.port = port or free_port()
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
        from pyftpdlib.ioloop import IOLoop
        from pyftpdlib.servers import ThreadedFTPServer

        authorizer = DummyAuthorizer()
        authorizer.add_user("rook", "rook-secret", str(self.home), perm="elradfmwMT")
        authorizer.add_user("reader", "reader-secret", str(self.home), perm="elr")
        base = TLS_FTPHandler if self.certfile else FTPHandler
        # A refused login normally stalls 3 s (brute-force guard); tests need no such guard.
        attrs: dict[str, Any] = {"authorizer": authorizer, "auth_failed_timeout": 0.05}
        if self.certfile:
            attrs["certfile"] = str(self.certfile)
        handler = type("Handler", (base,), attrs)  # class attributes: one class per server
        self._server = ThreadedFTPServer(("127.0.0.1", self.port), handler, ioloop=IOLoop())
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        wait_for_port(self.port)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._server.serve_forever(timeout=0.05, blocking=False, handle_exit=False)

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=10)
        self._server.close_all()
        self._thread = None


def make_certificate(directory: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 (key and cert in one PEM file)."""
    pem = directory / "ftps.pem"
    subprocess.run(
        [
            which("openssl"),
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(pem),
            "-out",
            str(directory / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )
    with open(pem, "a") as key_and_cert:
        key_and_cert.write((directory / "cert.pem").read_text())
    return pem


def create_vault(endpoint: str, name: str) -> None:
    client = boto3.client(
        "glacier",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="any",
        aws_secret_access_key="any",
    )
    client.create_vault(vaultName=name)
    client.close()


_ROOKDB_SCRIPT = VENV_BIN / "rookdb"


class RookdbServe:
    """A real `rookdb serve --open` child process on a free 127.0.0.1 port."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.log = data_dir.parent / f"{data_dir.name}-serve.log"
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> str:
        argv = [str(require(_ROOKDB_SCRIPT)), "serve", "--open", "--port", "0"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("ROOKDB_")}
        with open(self.log, "a") as errors:
            self.proc = subprocess.Popen(
                [*argv, "--data-dir", str(self.data_dir)],
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                env=env,
            )
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        if not ready:
            self.stop()
            pytest.fail(f"rookdb serve did not announce itself in 30 s: {self.log.read_text()}")
        line = self.proc.stdout.readline()
        if not line.startswith("rookdb serving http://"):
            self.stop()
            pytest.fail(f"rookdb serve said {line!r}: {self.log.read_text()[-2000:]}")
        self.url = line.split()[2].rstrip("/")
        return self.url

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.proc = None
