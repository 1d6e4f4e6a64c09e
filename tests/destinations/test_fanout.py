"""One backup file to several destinations: parallel, independent, resumable."""

from datetime import UTC, datetime
from pathlib import Path

from rookdb.destinations import (
    RetryPolicy,
    from_config,
    missing_files,
    upload_to_all,
)

from .contract import FULL, INCR, RUN, write
from .servers import Backend, dead_port

NO_WAIT = RetryPolicy(attempts=2, sleep=lambda _: None)


def test_one_destination_down_never_fails_the_others(
    moto_s3_backend: Backend, azurite_backend: Backend, tmp_path: Path
) -> None:
    s3 = moto_s3_backend.make()
    azure = azurite_backend.make()
    down = from_config(
        {"kind": "ftp", "host": "127.0.0.1", "port": dead_port(), "timeout_seconds": 2}
    )
    source = write(tmp_path / "full", b"backup bytes" * 1000)

    results = upload_to_all([s3, down, azure], source, FULL, retry=NO_WAIT)

    assert [(r.kind, r.state) for r in results] == [
        ("s3", "done"),
        ("ftp", "failed"),
        ("azure", "done"),
    ]
    failed = results[1]
    assert failed.name == down.name
    assert failed.error is not None and "could not upload" in failed.error
    assert failed.attempts == 2  # unreachable is retryable: tried again before giving up
    for destination in (s3, azure):
        assert [(f.path, f.size) for f in destination.list()] == [(FULL, 12000)]
    assert results[0].to_json()["state"] == "done"
    assert str(results[0].to_json()["at"]).endswith("Z")


def test_permanent_errors_are_not_retried(moto_s3_backend: Backend, tmp_path: Path) -> None:
    assert moto_s3_backend.wrong_credentials is not None
    denied = moto_s3_backend.wrong_credentials()
    slept: list[float] = []
    policy = RetryPolicy(attempts=5, sleep=slept.append)
    [result] = upload_to_all([denied], write(tmp_path / "f", b"x"), FULL, retry=policy)
    assert result.state == "failed"
    assert result.attempts == 1
    assert slept == []
    assert result.error is not None and "access denied" in result.error


def test_next_run_uploads_only_what_is_missing(tmp_path: Path) -> None:
    first = from_config({"kind": "local", "path": str(tmp_path / "one")})
    second = from_config({"kind": "local", "path": str(tmp_path / "two")})
    full = write(tmp_path / "full", b"full")
    incremental = write(tmp_path / "incr", b"incremental")
    upload_to_all([first], full, FULL)  # the second destination was down for the full
    upload_to_all([first, second], incremental, INCR)

    assert missing_files(first, [FULL, INCR]) == []
    assert missing_files(second, [FULL, INCR]) == [FULL]

    clock = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    results = upload_to_all([first, second], full, FULL, skip_existing=True, clock=lambda: clock)
    assert [r.state for r in results] == ["skipped", "done"]
    assert results[0].at == clock
    assert missing_files(second, [FULL, INCR]) == []
    assert [f.path for f in second.list(RUN)] == [FULL, INCR]


def test_uploads_run_in_parallel(tmp_path: Path) -> None:
    import threading

    seen: set[str] = set()
    barrier = threading.Barrier(3, timeout=5)

    class Slow(type(from_config({"kind": "local", "path": str(tmp_path)}))):  # type: ignore[misc]
        def put_file(self, local_path: Path, remote_path: str, progress: object = None) -> None:
            barrier.wait()  # only passes if all three uploads are in flight at once
            seen.add(threading.current_thread().name)
            super().put_file(local_path, remote_path)

    destinations = [Slow(tmp_path / str(n)) for n in range(3)]
    results = upload_to_all(destinations, write(tmp_path / "f", b"x"), FULL)
    assert [r.state for r in results] == ["done"] * 3
    assert len(seen) == 3
