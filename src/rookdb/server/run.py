"""Running the app: `serve` (the `rookdb serve` command) and `ServerThread` (tests, embedding)."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn
from fastapi import FastAPI

from rookdb.cluster.member import ClusterMember, ClusterOptions
from rookdb.errors import InvalidInput, RookError
from rookdb.instance import Instance
from rookdb.security.keys import ApiKeys
from rookdb.server.app import MAX_JSON_BODY, Service, create_app
from rookdb.server.auth import is_loopback
from rookdb.tasks.status import HISTORY_NAMESPACE, STATUS_NAMESPACE


class _Server(uvicorn.Server):
    """A uvicorn server that reports its real URL once it listens (port 0 is allowed)."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[str], None] | None) -> None:
        super().__init__(config)
        self._on_ready = on_ready
        self._scheme = "https" if config.ssl_certfile else "http"
        self.url: str | None = None

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets)
        if not self.started:
            return
        host, port = self.servers[0].sockets[0].getsockname()[:2]
        self.url = f"{self._scheme}://{_url_host(host)}:{port}/"
        if self._on_ready is not None:
            self._on_ready(self.url)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


@dataclass(frozen=True)
class Tls:
    """The server's certificate chain and private key (PEM files)."""

    cert: Path
    key: Path

    @classmethod
    def from_options(cls, cert: str | Path | None, key: str | Path | None) -> Tls | None:
        """Both files or neither; each must be readable."""
        if cert is None and key is None:
            return None
        if cert is None or key is None:
            raise InvalidInput("TLS needs both --tls-cert and --tls-key", field="tls")
        for path, option in ((cert, "--tls-cert"), (key, "--tls-key")):
            if not Path(path).is_file():
                raise InvalidInput(f"{option} {path}: no such file", field="tls")
        return cls(Path(cert), Path(key))


def check_open_allowed(host: str, auth: bool) -> None:
    """Serving without authentication is for this machine only."""
    if not auth and not is_loopback(host):
        raise InvalidInput(
            f"refusing to serve {host} without authentication: --open is only allowed on a "
            "loopback address (127.0.0.1, ::1, localhost); drop --open to require API keys",
            field="host",
        )


def _config(
    app: FastAPI, host: str, port: int, access_log: bool, tls: Tls | None = None
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        workers=1,
        access_log=access_log,
        log_level="info" if access_log else "warning",
        lifespan="on",
        ssl_certfile=str(tls.cert) if tls else None,
        ssl_keyfile=str(tls.key) if tls else None,
    )


def first_admin_key(instance: Instance) -> str | None:
    """On a data dir that never had an API key, create an admin key and return it (once)."""
    keys = ApiKeys(instance.system)
    if keys.any_exist():
        return None
    _key, token = keys.create("admin", name="first admin key")
    return token


def serve(
    data_dir: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 8080,
    node_tag: str = "A",
    *,
    access_log: bool = False,
    on_ready: Callable[[str], None] | None = None,
    auth: bool = True,
    tls: Tls | None = None,
    on_admin_key: Callable[[str], None] | None = None,
    cluster: ClusterOptions | None = None,
) -> None:
    """Open the data dir and serve it until SIGINT or SIGTERM, then close it cleanly.

    With `auth` (the default) the first start creates an admin key and hands it
    to `on_admin_key`, the only time it is ever shown (in a cluster: the first
    node to start). With `cluster` the node joins it first (see
    `rookdb.cluster.member`); every check happens before anything is served.
    """
    check_open_allowed(host, auth)
    member = None
    if cluster is not None:
        member = ClusterMember.join(
            cluster, Path(data_dir), queued_namespaces=(STATUS_NAMESPACE, HISTORY_NAMESPACE)
        )
        instance = Instance(
            data_dir,
            node_tag=cluster.node_tag,
            system_store=member.store,
            secrets=member.secrets,
            clustered=True,
        )
    else:
        instance = Instance(data_dir, node_tag=node_tag)
    try:
        if auth:
            token = first_admin_key(instance)
            if token is not None and on_admin_key is not None:
                on_admin_key(token)
        app = create_app(instance, auth=auth, member=member)
        server = _Server(_config(app, host, port, access_log, tls), on_ready)
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
        if member is not None and not member.stopped:
            member.stop()  # it never started serving: leave the cluster at once
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

    Open (no authentication) by default, which is allowed on loopback only;
    pass `auth=True` to require API keys as `rookdb serve` does.

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
        auth: bool = False,
        tls: Tls | None = None,
    ) -> None:
        check_open_allowed(host, auth)
        self.instance = instance
        self.app = create_app(instance, services=services, max_json_body=max_json_body, auth=auth)
        self._server = _Server(_config(self.app, host, port, access_log, tls), None)
        self._thread = threading.Thread(target=self._server.run, name="rookdb-http", daemon=True)

    @property
    def url(self) -> str:
        """The base URL, such as `http://127.0.0.1:41234` (no trailing slash; https with TLS)."""
        if self._server.url is None:
            raise RookError("the server is not listening yet")
        return self._server.url.rstrip("/")

    def start(self, timeout: float = 10.0) -> ServerThread:
        """Start serving; return once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        # Wait for the URL, not uvicorn's `started`: that flag is set inside
        # startup() a moment before the listening address is read.
        while self._server.url is None:
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
