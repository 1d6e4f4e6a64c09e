"""The explorer on Glacier (moto's server): it says a retrieval is needed and offers it; the
retrieval is requested and followed (CLI, HTTP, the Python client), then reading works from
the retrieved copy, downloaded once into the local cache and checked."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from explorer_chains import Chain, make_chain
from rookdb import Client, Instance
from rookdb.cli.main import run as run_cli
from rookdb.destinations import from_config
from rookdb.destinations.base import ArchiveNeedsRetrieval
from rookdb.errors import Forbidden
from rookdb.explorer import backup_retrieval, open_backup
from rookdb.security.keys import ApiKeys
from rookdb.server import ServerThread

from .conftest import glacier_config
from .servers import ServerProcess


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    return make_chain(tmp_path_factory.mktemp("glacier-chain"), count=200)


def uploaded(endpoint: str, chain: Chain, inventory: Path) -> tuple[str, dict[str, Any]]:
    """Upload the chain to a fresh prefix; the explorer's URL and its source options."""
    config = glacier_config(endpoint, inventory)
    destination = from_config(config)
    try:
        for name in chain.files:
            destination.put_file(chain.folder / name, f"{chain.folder.name}/{name}")
    finally:
        destination.close()
    options = {k: v for k, v in config.items() if k not in ("kind", "vault", "prefix")}
    return f"glacier://{config['vault']}/{config['prefix']}", options


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run_cli(["--quiet", *args])
    return code, out.getvalue(), err.getvalue()


def test_the_cli_offers_the_retrieval_then_reads_the_copy(
    moto_glacier: ServerProcess,
    chain: Chain,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ROOKDB_EXPLORER_CACHE", str(tmp_path / "cache" / "explorer"))
    url, options = uploaded(moto_glacier.url, chain, tmp_path / "inventory.json")
    flags = [f"--source-option={k}={v}" for k, v in options.items()]

    code, out, err = run("backup", "get", url, "orders/1041", "--until", chain.files[1], *flags)
    assert code == 1 and out == "" and "Traceback" not in err
    assert "needs a retrieval first" in err and "not-requested" in err
    assert "rookdb backup retrieve" in err

    code, out, err = run("backup", "retrieve", url, "--status", "--json", *flags)
    assert code == 0, err
    assert {f["state"] for f in json.loads(out)["files"]} == {"not-requested"}

    code, out, err = run("backup", "retrieve", url, *flags)
    assert code == 0, err
    assert len(out.splitlines()) == 3 and "not-requested" not in out

    def ready() -> bool:
        return backup_retrieval(url, credentials=options).ready

    wait_until(ready, "the retrieval jobs")
    code, out, err = run("backup", "get", url, "orders/1041", "--until", chain.files[1], *flags)
    assert code == 0, err
    assert json.loads(out)["status"] == "paid"
    code, out, err = run("backup", "retrieve", url, "--status", *flags)
    assert [line.split()[0] for line in out.splitlines()] == ["downloaded"] * 3
    copies = [p for p in (tmp_path / "cache" / "explorer-retrieved").rglob("*") if p.is_file()]
    assert sorted(p.name for p in copies) == sorted(chain.files)
    code, out, err = run("backup", "history", url, "orders/7", *flags)
    assert code == 0 and "changed" in out and "created" in out


def test_retrieval_over_http_and_the_client(
    moto_glacier: ServerProcess,
    chain: Chain,
    live_server: ServerThread,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The server runs in this process: it reads this environment.
    monkeypatch.setenv("ROOKDB_EXPLORER_CACHE", str(tmp_path / "cache" / "explorer"))
    url, options = uploaded(moto_glacier.url, chain, tmp_path / "inventory.json")
    with Client(live_server.url) as client:
        backup = client.open_backup(url, source_options={k: str(v) for k, v in options.items()})
        with pytest.raises(ArchiveNeedsRetrieval, match="needs a retrieval first"):
            backup.get("orders/1")
        assert not backup.retrieval().ready
        started = backup.retrieval(start=True)
        assert {f.state for f in started.files} <= {"in-progress", "ready"}
        wait_until(lambda: backup.retrieval().ready, "the retrieval jobs")
        assert backup.get("orders/1").body == {"total": 1}
        assert {f.state for f in backup.retrieval().files} == {"downloaded"}
        with pytest.raises(Exception, match="destination URL"):
            client.open_backup(str(chain.folder)).retrieval(start=True)
    # An explorer opened here (same cache) reads the same copy, with nothing to wait for.
    with open_backup(url, credentials=options) as explorer:
        assert explorer.get("orders/6").body == {"total": 6}


def test_a_reader_follows_a_retrieval_an_operator_starts_it(
    moto_glacier: ServerProcess,
    chain: Chain,
    instance: Instance,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ROOKDB_EXPLORER_CACHE", str(tmp_path / "cache" / "explorer"))
    url, options = uploaded(moto_glacier.url, chain, tmp_path / "inventory.json")
    keys = ApiKeys(instance.system)
    reader, operator = keys.create("reader")[1], keys.create("operator")[1]
    source_options = {k: str(v) for k, v in options.items()}
    server = ServerThread(instance, auth=True).start()
    try:
        with Client(server.url, api_key=reader) as client:
            backup = client.open_backup(url, source_options=source_options)
            with pytest.raises(Forbidden, match="operator or admin"):
                backup.retrieval(start=True)
            assert {f.state for f in backup.retrieval().files} == {"not-requested"}
        with Client(server.url, api_key=operator) as client:
            backup = client.open_backup(url, source_options=source_options)
            assert "not-requested" not in {f.state for f in backup.retrieval(start=True).files}
    finally:
        server.stop()
