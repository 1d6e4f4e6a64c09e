"""Running the app: `serve` (the `rookdb serve` command) and `ServerThread` (tests, embedding)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from rookdb.errors import RookError
from rookdb.instance import Instance
from rookdb.server.app import MAX_JSON_BODY, Service, create_app


class _Server(uvicorn.Server):
    """A uvicorn server that reports its real URL once it listens (port 0 is allowed)."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[str], None] | None) -> None:
        super().__init__(config)
        self._on_ready = on_ready
        self.url: str | None = None

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if not self.started:
            return
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://{_url_host(host)}:{port}/"
        if self._on_ready is not None:
            self._on_ready(self.url)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _config(app: FastAPI, host: str, port: int, access_log: bool) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        workers=1,
        access_log=access_log,
        log_level="info" if access_log else "warning",
        lifespan="on",
    )


def serve(
    data_dir: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 8080,
    node_tag: str = "A",
    *,
    access_log: bool = False,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Open the data dir and serve it until SIGINT or SIGTERM, then close it cleanly."""
    instance = Instance(data_dir, node_tag=node_tag)
    try:
        server = _Server(_config(create_app(instance), host, port, access_log), on_ready)
        try:
            with _quiet_signal_replay():
                server.run()
        except SystemExit as exc:
            # uvicorn exits the process when it cannot bind; say so as a RookError instead.
            if server.started:
                raise
            raise RookError(
                f"cannot serve on {host}:{port}: the address is in use or not allowed"
            ) from exc
        if not server.started:
            raise RookError(f"cannot serve on {host}:{port}: the server did not start")
    finally:
        instance.close()


@contextmanager
def _quiet_signal_replay() -> Iterator[None]:
    # uvicorn shuts down gracefully on SIGINT/SIGTERM and then re-raises the signal
    # with the handlers it found installed; with the defaults that would kill the
    # process (SIGTERM) or raise KeyboardInterrupt before our cleanup runs. No-op
    # handlers make a signalled shutdown a normal return.
    saved: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            saved[sig] = signal.signal(sig, _ignore_signal)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _ignore_signal(signum: int, frame: FrameType | None) -> None:
    return None


class ServerThread:
    """Serve an already open Instance from a background thread (tests, embedding).

    `start()` returns once the server listens; `url` is then its base URL.
    """

    def __init__(
        self,
        instance: Instance,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        services: Sequence[Service] | None = (),
        access_log: bool = False,
        max_json_body: int = MAX_JSON_BODY,
    ) -> None:
        self.instance = instance
        self.app = create_app(instance, services=services, max_json_body=max_json_body)
        self._server = _Server(_config(self.app, host, port, access_log), None)
        self._thread = threading.Thread(target=self._server.run, name="rookdb-http", daemon=True)

    @property
    def url(self) -> str:
        """The base URL, such as `http://127.0.0.1:41234` (no trailing slash)."""
        if self._server.url is None:
            raise RookError("the server is not listening yet")
        return self._server.url.rstrip("/")

    def start(self, timeout: float = 10.0) -> ServerThread:
        """Start serving; return once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RookError("the HTTP server failed to start (see the log)")
            if time.monotonic() > deadline:
                raise RookError("the HTTP server did not start in time")
            time.sleep(0.005)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to shut down and wait for it."""
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
