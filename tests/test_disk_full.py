"""A full disk: a clean error naming the database, nothing half-written, the server keeps serving.

Two real ways to run out of room: a small tmpfs mounted for the test (the
disk really is full: ENOSPC; our test machines run as root), and, for `rookdb`
processes, RLIMIT_FSIZE set in the child with SIGXFSZ ignored, so a write past
the limit fails with EFBIG as on a disk that has no room left.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

import rookdb
from rookdb.backup import write_full_backup
from rookdb.errors import StorageError
from rookdb.server import ServerThread
from rookdb_process import ENV, ROOKDB
from small_disk import mounted_tmpfs

BLOB = 20_000  # characters of one filler document


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 8 MB tmpfs, unmounted when the test ends."""
    with mounted_tmpfs(tmp_path / "disk", "8m") as mount:
        yield mount


def fill_up(disk: Path, leave: int = 256 * 1024) -> Path:
    """Take all but `leave` bytes of the disk with one file; delete it to free the room."""
    ballast = disk / "ballast"
    stat = os.statvfs(disk)
    with open(ballast, "wb") as out:
        out.write(b"\0" * max(stat.f_bavail * stat.f_frsize - leave, 0))
    return ballast


def put_until_full(put: Callable[[int], object], limit: int = 200) -> tuple[int, object]:
    """Call put(i) for i = 0, 1, ... until it does not return normally; (i, what it raised)."""
    for i in range(limit):
        try:
            put(i)
        except Exception as exc:  # the test asserts on what this is
            return i, exc
    raise AssertionError(f"{limit} puts did not fill the disk")


def filler(i: int) -> dict[str, object]:
    return {"n": i, "blob": f"{i:08d}" * (BLOB // 8)}


def test_embedded_put_on_a_full_disk_is_a_storage_error_and_saves_nothing(
    small_disk: Path,
) -> None:
    with rookdb.open(small_disk / "data") as instance:
        db = instance.create_database("shop")
        db.put("users/keep", {"name": "Ann"})
        ballast = fill_up(small_disk)
        failed_at, error = put_until_full(lambda i: db.put(f"users/{i}", filler(i)))

        assert isinstance(error, StorageError), repr(error)
        assert "disk full" in error.message and "shop" in error.message
        assert not isinstance(error.__cause__, sqlite3.OperationalError) or (
            "rollback" not in str(error.__cause__)
        )
        # Nothing of the failed write: no document, no etag used.
        assert db.get(f"users/{failed_at}") is None
        assert db.count() == failed_at + 1
        assert db.last_etag == failed_at + 1
        assert db.get("users/keep") is not None

        # A second try on the still-full disk fails the same clean way.
        with pytest.raises(StorageError, match="disk full"):
            db.put("users/again", filler(0))

        ballast.unlink()
        assert db.put(f"users/{failed_at}", filler(failed_at)).etag == failed_at + 2

    with rookdb.open(small_disk / "data") as reopened:
        db = reopened.database("shop")
        assert db.count() == failed_at + 2
        assert db.get(f"users/{failed_at}") is not None
        check = sqlite3.connect(str(db.path))
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        check.close()


def test_system_store_write_on_a_full_disk_is_a_storage_error_and_saves_nothing(
    small_disk: Path,
) -> None:
    # Task definitions, statuses, keys and database records live in the system store.
    with rookdb.open(small_disk / "data") as instance:
        store = instance.system
        store.put("notes", "keep", {"n": 0})
        ballast = fill_up(small_disk)
        failed_at, error = put_until_full(lambda i: store.put("notes", f"k{i}", filler(i)))

        assert isinstance(error, StorageError), repr(error)
        assert "disk full" in error.message and "system.sqlite" in error.message
        assert store.get("notes", f"k{failed_at}") is None
        assert store.get("notes", "keep") is not None

        ballast.unlink()
        assert store.put("notes", f"k{failed_at}", {"n": 1}) == 1


def test_served_put_on_a_full_disk_is_a_clean_error_and_the_server_keeps_serving(
    small_disk: Path,
) -> None:
    with rookdb.open(small_disk / "data") as instance:
        instance.create_database("shop")
        with ServerThread(instance) as server, httpx.Client(base_url=server.url) as http:
            assert http.put("/databases/shop/docs/users/keep", json={"a": 1}).status_code == 200
            ballast = fill_up(small_disk)

            def put(i: int) -> None:
                response = http.put(f"/databases/shop/docs/users/{i}", json=filler(i))
                if response.status_code != 200:
                    raise AssertionError(response)

            failed_at, error = put_until_full(put)
            assert isinstance(error, AssertionError)
            response = error.args[0]
            assert isinstance(response, httpx.Response)
            assert response.status_code == 500
            body = response.json()
            assert body["error"] == "storage-error"
            assert "disk full" in body["message"] and "shop" in body["message"]

            # Still serving: reads work, the failed document is not there.
            assert http.get("/databases/shop/docs/users/keep").json()["a"] == 1
            assert http.get(f"/databases/shop/docs/users/{failed_at}").status_code == 404
            assert http.get("/health").status_code == 200

            # An attachment upload that does not fit is the same clean error.
            upload = http.put(
                "/databases/shop/attachments",
                params={"id": "users/keep", "name": "big.bin"},
                content=os.urandom(2 << 20),
            )
            assert upload.status_code == 500, upload.text
            assert upload.json()["error"] == "storage-error"
            assert "disk full" in upload.json()["message"]
            listed = http.get("/databases/shop/attachments/list", params={"id": "users/keep"})
            assert listed.json() == {"attachments": []}

            ballast.unlink()
            again = http.put(f"/databases/shop/docs/users/{failed_at}", json=filler(failed_at))
            assert again.status_code == 200


def _limited(max_bytes: int) -> Callable[[], None]:
    def limit() -> None:
        # Ignored signals stay ignored across exec: the write fails with EFBIG instead.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return limit


def rookdb_limited(
    data: Path, max_bytes: int, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`rookdb --data-dir DATA ARGS` as a process that cannot grow any file past `max_bytes`."""
    return subprocess.run(
        [*ROOKDB, "--data-dir", str(data), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
        preexec_fn=_limited(max_bytes),
    )


def assert_one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and 'File "' not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    return lines[0]


def test_cli_put_that_cannot_grow_the_file_is_one_error_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with rookdb.open(data) as instance:
        instance.create_database("shop").put("users/keep", {"a": 1})
    big = json.dumps({"blob": "x" * (2 << 20)})
    done = rookdb_limited(data, 1 << 20, "put", "shop", "users/big", "-", stdin=big)
    line = assert_one_error_line(done)
    assert "shop" in line and "I/O error" in line
    with rookdb.open(data) as instance:
        db = instance.database("shop")
        assert db.get("users/big") is None and db.count() == 1


def test_cli_restore_that_fills_the_disk_is_one_error_line_and_leaves_nothing(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    with rookdb.open(data, durable=False) as instance:
        db = instance.create_database("shop")
        db.bulk_insert((f"users/{i}", {"blob": os.urandom(300).hex()}) for i in range(3000))
        full = write_full_backup(db, tmp_path / "backups", compression="none")
    before = sorted(p.name for p in (data / "databases").iterdir())

    done = rookdb_limited(data, 1 << 20, "restore", str(full.path.parent), "--database", "copy")

    line = assert_one_error_line(done)
    assert "I/O error" in line or "disk full" in line, line
    with rookdb.open(data) as instance:
        assert instance.database_names() == ["shop"]
    assert sorted(p.name for p in (data / "databases").iterdir()) == before
    staging = data / "staging"
    assert not staging.exists() or list(staging.iterdir()) == []
