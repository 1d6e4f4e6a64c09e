"""A slow server: uploads through a loopback proxy that holds back the S3 server's answers.

The proxy sits in front of the real moto S3 server and delays every chunk the
server sends back. Slower than the destination's timeout, an upload fails
with a clear, retryable error in about that timeout; the next attempt, once
the server is quick again, lands the file whole. Slow but within the
timeout, the upload simply completes.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest

from rookdb.destinations import RetryPolicy, from_config, upload_to_all, with_retry
from rookdb.errors import DestinationUnavailable

from .conftest import s3_client
from .contract import FULL, INCR, write
from .servers import unique

_CHUNK = 64 * 1024


class SlowProxy:
    """Forwards 127.0.0.1:port to a target port; the target's answers wait `delay` s per chunk."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.delay = 0.0
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._spawn(self._accept_loop)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # the listener was closed
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
            self._sockets += [client, upstream]
            self._spawn(self._pump, client, upstream, False)
            self._spawn(self._pump, upstream, client, True)

    def _pump(self, source: socket.socket, sink: socket.socket, held: bool) -> None:
        # Ends at EOF, on any socket error, or when the proxy stops: every loop is bounded.
        try:
            while not self._stop.is_set():
                data = source.recv(_CHUNK)
                if not data:
                    break
                if held and self.delay and self._stop.wait(self.delay):
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        for sock in self._sockets:
            sock.close()
        for thread in self._threads:
            thread.join(timeout=5)


@pytest.fixture
def proxy(moto_s3: dict[str, str]) -> Iterator[SlowProxy]:
    target = int(moto_s3["endpoint_url"].rsplit(":", 1)[1])
    slow = SlowProxy(target)
    yield slow
    slow.close()


def s3_through(proxy: SlowProxy, moto_s3: dict[str, str], timeout: float) -> dict[str, Any]:
    return {
        "kind": "s3",
        "bucket": moto_s3["bucket"],
        "prefix": f"slow/{unique()}",
        "region": "us-east-1",
        "endpoint_url": proxy.url,
        "access_key_id": moto_s3["access_key_id"],
        "secret_access_key": moto_s3["secret_access_key"],
        "timeout_seconds": timeout,
    }


def stored_bytes(moto_s3: dict[str, str], key: str) -> bytes:
    """The object as the S3 server holds it (straight to the server, not through the proxy)."""
    client = s3_client(
        moto_s3["endpoint_url"], moto_s3["access_key_id"], moto_s3["secret_access_key"]
    )
    body: bytes = client.get_object(Bucket=moto_s3["bucket"], Key=key)["Body"].read()
    return body


def test_too_slow_times_out_retryably_and_the_next_attempt_lands(
    proxy: SlowProxy, moto_s3: dict[str, str], tmp_path: Path
) -> None:
    config = s3_through(proxy, moto_s3, timeout=1)
    destination = from_config(config)
    source = write(tmp_path / "full", os.urandom(512 * 1024))
    proxy.delay = 4.0  # answers held far longer than the 1 s timeout

    started = time.monotonic()
    with pytest.raises(DestinationUnavailable) as info:
        destination.put_file(source, FULL)
    assert time.monotonic() - started < 4  # the timeout ended it, not the server
    assert info.value.retryable
    assert "timed out waiting for the server" in info.value.message
    assert config["secret_access_key"] not in info.value.message

    # The task's fan-out: the first attempt meets the slow server, the server is quick
    # again by the retry, and the file lands whole.
    def server_recovers(seconds: float) -> None:
        proxy.delay = 0.0

    policy = RetryPolicy(attempts=3, sleep=server_recovers)
    proxy.delay = 4.0
    [result] = upload_to_all([destination], source, INCR, retry=policy)
    assert (result.state, result.attempts) == ("done", 2), result
    assert stored_bytes(moto_s3, f"{config['prefix']}/{INCR}") == source.read_bytes()
    destination.close()


def test_slow_within_the_timeout_completes(
    proxy: SlowProxy, moto_s3: dict[str, str], tmp_path: Path
) -> None:
    config = s3_through(proxy, moto_s3, timeout=5)
    destination = from_config(config)
    source = write(tmp_path / "full", os.urandom(256 * 1024))
    proxy.delay = 0.5  # every answer chunk waits, but well inside the timeout
    with_retry(lambda: destination.put_file(source, FULL), RetryPolicy(attempts=1))
    proxy.delay = 0.0
    assert [(f.path, f.size) for f in destination.list()] == [(FULL, 256 * 1024)]
    assert stored_bytes(moto_s3, f"{config['prefix']}/{FULL}") == source.read_bytes()
    destination.close()
