"""The destination contract on FTP and FTPS (pyftpdlib), plus an FTPS stress test."""

import os
import time
from pathlib import Path

from rookdb.destinations import RetryPolicy, with_retry

from .contract import BIG, DestinationContract, sha
from .servers import Backend


class TestFtp(DestinationContract):
    backend_fixture = "ftp_backend_plain"


class TestFtps(DestinationContract):
    backend_fixture = "ftps_backend"


def test_ftps_repeated_large_uploads(ftps_backend: Backend, tmp_path: Path) -> None:
    """Big FTPS uploads were seen to fail intermittently (EOFError): retried, they all land."""
    destination = ftps_backend.make()
    source = tmp_path / "big"
    source.write_bytes(os.urandom(BIG))
    policy = RetryPolicy(attempts=3, sleep=lambda _: None)
    for n in range(3):
        with_retry(lambda n=n: destination.put_file(source, f"run/f{n}"), policy)
    assert [(f.path, f.size) for f in destination.list("run/")] == [
        (f"run/f{n}", BIG) for n in range(3)
    ]
    destination.get_file("run/f2", tmp_path / "back")
    assert sha(tmp_path / "back") == sha(source)


def test_an_abandoned_upload_is_removed_once_old_and_a_fresh_one_kept(
    ftp_backend_plain: Backend, ftp_home: Path, tmp_path: Path
) -> None:
    """What a killed upload leaves on the server: a temporary name in its run folder."""
    destination = ftp_backend_plain.make()
    source = tmp_path / "file"
    source.write_bytes(b"x" * 1000)
    destination.put_file(source, "run-a/done.rookdb-full-backup")
    folder = ftp_home / destination.folder.lstrip("/")  # type: ignore[attr-defined]
    (folder / "run-b").mkdir(parents=True)
    old = folder / "run-b" / ".rookdb-upload-0123-x.rookdb-full-backup"
    fresh = folder / "run-a" / ".rookdb-upload-4567-y.rookdb-incremental-backup"
    for leftover in (old, fresh):
        leftover.write_bytes(b"half")
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))

    assert destination.remove_abandoned_uploads(600) == (f"run-b/{old.name}",)
    assert not (folder / "run-b").exists(), "the emptied run folder goes too"
    assert fresh.exists()
    assert [f.path for f in destination.list()] == ["run-a/done.rookdb-full-backup"]
