"""The destination contract on FTP and FTPS (pyftpdlib), plus an FTPS stress test."""

import os
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
