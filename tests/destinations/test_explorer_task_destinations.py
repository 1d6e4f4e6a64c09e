"""A backup task's destination of any kind opens in the explorer from its stored config alone
(what the Studio's "Browse backups" on a task does): Azure, GCS and FTP on their real servers.
S3 and Glacier are covered through the Studio (tests/studio/test_studio_browse_secrets.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from explorer_chains import Chain, make_chain
from rookdb.destinations import from_config
from rookdb.errors import InvalidInput
from rookdb.explorer import open_backup
from rookdb.explorer.task_source import destination_source

from .conftest import azure_config, fast, gcs_config
from .servers import FtpServer, ServerProcess, unique


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    return make_chain(tmp_path_factory.mktemp("task-chain"), count=150)


def azure(request: pytest.FixtureRequest) -> dict[str, Any]:
    server: ServerProcess = request.getfixturevalue("azurite")
    return azure_config(server.port)


def gcs(request: pytest.FixtureRequest) -> dict[str, Any]:
    server: ServerProcess = request.getfixturevalue("gcs_emulator")
    return gcs_config(server.url)


def ftp(request: pytest.FixtureRequest) -> dict[str, Any]:
    server: FtpServer = request.getfixturevalue("ftp_server")
    folder = f"/backups/{unique()}"
    return fast({"kind": "ftp", "host": "127.0.0.1", "port": server.port, "user": "rook",
                 "password": "rook-secret", "folder": folder, "tls": False})  # fmt: skip


@pytest.mark.parametrize("make_config", [azure, gcs, ftp], ids=["azure", "gcs", "ftp"])
def test_a_task_destination_opens_from_its_config(
    make_config: Any,
    request: pytest.FixtureRequest,
    chain: Chain,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ROOKDB_EXPLORER_CACHE", str(tmp_path / "cache"))
    config = make_config(request)
    destination = from_config(config)
    try:
        for name in chain.files:
            destination.put_file(chain.folder / name, f"{chain.folder.name}/{name}")
    finally:
        destination.close()
    source, credentials = destination_source(config)
    assert "secret" not in source and "password" not in source and "key" not in source.lower()
    with open_backup(source, chain.files[1], credentials=credentials) as explorer:
        assert explorer.get("orders/1041").body == {"total": 1041, "status": "paid"}
        assert chain.folder.name in explorer.point.describe()


def test_a_destination_that_cannot_be_browsed_is_refused_clearly() -> None:
    with pytest.raises(InvalidInput, match="cannot be browsed"):
        destination_source({"kind": "tape"})
    with pytest.raises(InvalidInput, match="no usable bucket"):
        destination_source({"kind": "s3", "bucket": "a/b"})
    assert destination_source({"kind": "local", "path": "/backups"}) == ("/backups", None)
