"""The destination contract: every backend passes the same tests against its real server.

A backend joins with a one-line subclass naming its ``Backend`` fixture::

    class TestS3OnMoto(DestinationContract):
        backend_fixture = "moto_s3_backend"

A new kind brings ``tests/destinations/test_<kind>.py`` with that subclass (and
the fixture starting its server, unless ``conftest.py`` already has one);
``test_registry.py`` fails for a registered kind without it.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rookdb.destinations import Destination, RetryPolicy, with_retry
from rookdb.errors import DestinationAccessDenied, DestinationUnavailable, NotFound

from .servers import Backend

RUN = "2026-11-23-02-00-00.rookdb-shop-A-backup"
FULL = f"{RUN}/2026-11-23-02-00-00.rookdb-full-backup"
INCR = f"{RUN}/2026-11-23-08-00-00.rookdb-incremental-backup"
BIG = 21 * 1024 * 1024  # above every backend's part/block/chunk size: takes the multipart path


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class DestinationContract:
    """Behaviour every Destination must show on a real server."""

    backend_fixture: str = ""

    @pytest.fixture
    def backend(self, request: pytest.FixtureRequest) -> Backend:
        backend: Backend = request.getfixturevalue(self.backend_fixture)
        return backend

    @pytest.fixture
    def dest(self, backend: Backend) -> Iterator[Destination]:
        destination = backend.make()
        yield destination
        destination.close()

    def test_round_trip(self, dest: Destination, tmp_path: Path) -> None:
        source = write(tmp_path / "full", b'{"id": "users/1"}\n' * 100)
        dest.put_file(source, FULL)
        listed = dest.list()
        assert [(f.path, f.size) for f in listed] == [(FULL, source.stat().st_size)]
        dest.get_file(FULL, tmp_path / "back")
        assert (tmp_path / "back").read_bytes() == source.read_bytes()
        dest.delete(FULL)
        assert dest.list() == []

    def test_nested_paths_keep_the_layout(self, dest: Destination, tmp_path: Path) -> None:
        a = write(tmp_path / "a", b"full")
        b = write(tmp_path / "b", b"incremental!")
        nested = f"{RUN}/deeper/level/x.bin"
        dest.put_file(a, FULL)
        dest.put_file(b, INCR)
        dest.put_file(b, nested)
        assert {(f.path, f.size) for f in dest.list()} == {(FULL, 4), (INCR, 12), (nested, 12)}
        dest.get_file(nested, tmp_path / "n")
        assert (tmp_path / "n").read_bytes() == b"incremental!"

    def test_large_file_goes_up_in_parts(self, dest: Destination, tmp_path: Path) -> None:
        source = write(tmp_path / "big", os.urandom(BIG))
        sent: list[int] = []
        dest.put_file(source, FULL, progress=sent.append)
        assert sum(sent) == BIG
        [remote] = dest.list(RUN)
        assert remote.size == BIG
        dest.get_file(FULL, tmp_path / "big-back")
        assert sha(tmp_path / "big-back") == sha(source)

    def test_overwrite_replaces_the_content(self, dest: Destination, tmp_path: Path) -> None:
        dest.put_file(write(tmp_path / "v1", b"first version"), FULL)
        dest.put_file(write(tmp_path / "v2", b"second"), FULL)
        assert [(f.path, f.size) for f in dest.list()] == [(FULL, 6)]
        dest.get_file(FULL, tmp_path / "back")
        assert (tmp_path / "back").read_bytes() == b"second"

    def test_list_with_prefix(self, dest: Destination, tmp_path: Path) -> None:
        data = write(tmp_path / "d", b"x")
        for path in ("run-a/f1", "run-a/f2", "run-ab/f3", "other/f4"):
            dest.put_file(data, path)
        assert [f.path for f in dest.list("run-a/")] == ["run-a/f1", "run-a/f2"]
        assert [f.path for f in dest.list("run-a")] == ["run-a/f1", "run-a/f2", "run-ab/f3"]
        assert [f.path for f in dest.list("nothing-here/")] == []
        assert len(dest.list()) == 4

    def test_range_reads(self, dest: Destination, tmp_path: Path) -> None:
        # The backup explorer reads a file's trailer, one catalog block and one data
        # block by ranges; each must be exactly the bytes asked, short at the end.
        data = os.urandom(300_000)
        dest.put_file(write(tmp_path / "f", data), FULL)
        assert dest.read_range(FULL, 0, 10) == data[:10]
        assert dest.read_range(FULL, 123_456, 70_000) == data[123_456:193_456]
        assert dest.read_range(FULL, 299_990, 100) == data[299_990:]
        with pytest.raises(NotFound):
            dest.read_range(f"{RUN}/no-such-file", 0, 10)

    def test_missing_file(self, dest: Destination, tmp_path: Path) -> None:
        with pytest.raises(NotFound):
            dest.get_file(f"{RUN}/no-such-file", tmp_path / "x")
        dest.delete(f"{RUN}/no-such-file")  # deleting what is not there is fine

    def test_check_access_leaves_nothing_behind(self, dest: Destination) -> None:
        dest.check_access()
        assert dest.list() == []

    def test_failed_upload_leaves_nothing_visible(
        self, backend: Backend, dest: Destination, tmp_path: Path
    ) -> None:
        if not backend.chunked_progress:
            pytest.skip(f"{backend.label} uploads in one request: no mid-upload hook")
        source = write(tmp_path / "big", os.urandom(BIG))

        def interrupt(n: int) -> None:
            raise RuntimeError("connection lost mid-upload")

        with pytest.raises(Exception):  # noqa: B017 - any failure; what matters is what is left
            dest.put_file(source, FULL, progress=interrupt)
        assert [f for f in dest.list() if f.path == FULL] == []

    def test_wrong_credentials_are_access_denied(self, backend: Backend, tmp_path: Path) -> None:
        if backend.wrong_credentials is None:
            pytest.skip(f"{backend.label}: the emulator does not check credentials")
        destination = backend.wrong_credentials()
        with pytest.raises(DestinationAccessDenied) as info:
            destination.put_file(write(tmp_path / "f", b"x"), FULL)
        assert not info.value.retryable
        with pytest.raises(DestinationAccessDenied):
            destination.check_access()

    def test_missing_container_is_access_denied_and_named(
        self, backend: Backend, tmp_path: Path
    ) -> None:
        assert backend.missing_container is not None
        destination, missing_name = backend.missing_container()
        with pytest.raises(DestinationAccessDenied) as info:
            destination.check_access()
        assert missing_name in info.value.message
        with pytest.raises(DestinationAccessDenied):
            destination.put_file(write(tmp_path / "f", b"x"), FULL)

    def test_unreachable_server_is_unavailable(self, backend: Backend, tmp_path: Path) -> None:
        if backend.unreachable is None:
            pytest.skip(f"{backend.label} has no server to be unreachable")
        destination = backend.unreachable()
        started = time.monotonic()
        with pytest.raises(DestinationUnavailable) as info:
            destination.put_file(write(tmp_path / "f", b"x"), FULL)
        assert info.value.retryable
        if backend.remote_listing:
            with pytest.raises(DestinationUnavailable):
                destination.list()
        assert time.monotonic() - started < 30

    def test_run_recovers_after_the_server_is_back(self, backend: Backend, tmp_path: Path) -> None:
        if backend.restartable is None:
            pytest.skip(f"{backend.label} has no server to stop")
        source = write(tmp_path / "f", os.urandom(256 * 1024))
        with backend.restartable() as server:
            server.destination.put_file(source, INCR)
            server.stop()
            with pytest.raises(DestinationUnavailable):
                server.destination.put_file(source, FULL)
            attempts: list[int] = []

            def restart_while_waiting(seconds: float) -> None:
                if not attempts:
                    server.start()
                attempts.append(1)

            policy = RetryPolicy(attempts=4, sleep=restart_while_waiting)
            with_retry(lambda: server.destination.put_file(source, FULL), policy)
            assert attempts == [1]
            server.destination.get_file(FULL, tmp_path / "back")
            assert (tmp_path / "back").read_bytes() == source.read_bytes()
