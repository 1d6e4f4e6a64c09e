"""Seed 002: restore from periodic backups by importing the whole folder, `--incremental`.

RavenDB: `raven.smuggler.exe in http://localhost:8080 c:\\path-to-folder --database=foo
--incremental`. rookdb: `rookdb --url http://... import FOLDER foo --incremental` (and
the same on a data dir). Every file of the folder's chain is applied in chain order,
deletes included; a folder whose files do not chain is refused before anything is
applied. The CLI runs as a real process, the server is a real `rookdb serve`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import rookdb
from database_contents import contents, shop_history
from rookdb.backup import export_database, write_full_backup, write_incremental_backup
from rookdb_process import Served, cli, serve


@dataclass
class Periodic:
    """A source database and a folder of its periodic exports, named out of chain order."""

    source: Path  # the source's data dir (closed)
    folder: Path
    expected: dict[str, object]  # contents of the source after the last export
    chain: list[str]  # the export files in chain order


@pytest.fixture
def periodic(tmp_path: Path) -> Periodic:
    folder = tmp_path / "periodic"
    folder.mkdir()
    # Alphabetical order is not chain order: the etag ranges decide.
    names = ["shop-c.export", "shop-a.export", "shop-b.export"]
    with rookdb.open(tmp_path / "source") as instance:
        db = instance.create_database("shop")
        since = 0
        for step, name in enumerate(names):
            shop_history(db, step)
            export_database(db, folder / name, since_etag=since)
            since = db.last_etag
        expected = contents(db)
    (folder / "README.txt").write_text("periodic exports of shop\n")
    return Periodic(tmp_path / "source", folder, expected, names)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Served]:
    served = serve(["--data-dir", str(tmp_path / "served"), "--port", "0"])
    yield served
    served.stop()


def over_url(served: Served, *args: str) -> list[str]:
    assert served.admin_key is not None
    return ["--url", served.url, "--api-key", served.admin_key, *args]


def remote_contents(served: Served, name: str) -> dict[str, object]:
    with rookdb.Client(served.url, api_key=served.admin_key) as client:
        return contents(client.database(name))


def test_a_data_dir_imports_the_folder_in_chain_order(periodic: Periodic, tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = cli("--data-dir", str(data), "import", str(periodic.folder), "foo", "--incremental")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "skipped README.txt: not a backup or export file"
    assert [line.split()[1] for line in lines[1:4]] == periodic.chain
    assert "(full, etags 0.." in lines[1] and "(incremental, etags" in lines[2]
    assert lines[-1].startswith(f"imported 3 file(s) from {periodic.folder} into foo:")
    with rookdb.open(data) as instance:
        assert contents(instance.database("foo")) == periodic.expected


def test_a_running_server_gets_every_file_deletes_included(
    periodic: Periodic, server: Served
) -> None:
    # "foo" already holds the first export, as after yesterday's import.
    first = periodic.folder / periodic.chain[0]
    assert cli(*over_url(server, "import", str(first), "foo")).returncode == 0
    assert cli(*over_url(server, "import", str(first), "bar")).returncode == 0

    done = cli(*over_url(server, "import", str(periodic.folder), "foo", "--incremental", "--json"))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert [f["file"] for f in result["files"]] == periodic.chain
    assert [f["kind"] for f in result["files"]] == ["full", "incremental", "incremental"]
    assert result["skipped"] == ["README.txt"]
    assert result["counts"]["deletes"] == 3  # users/3, users/4, users/1
    assert remote_contents(server, "foo") == periodic.expected

    # Without --incremental the deletes are not applied (the smuggler's rule).
    kept = cli(*over_url(server, "import", str(periodic.folder), "bar"))
    assert kept.returncode == 0, kept.stderr
    bar = remote_contents(server, "bar")
    documents = bar["documents"]
    assert isinstance(documents, dict)
    assert "users/4" in documents
    assert documents["users/3"][1]["name"] == "back again"


def test_a_new_database_on_the_server_is_created_from_the_full(
    periodic: Periodic, server: Served
) -> None:
    done = cli(*over_url(server, "import", str(periodic.folder), "fresh", "--incremental"))
    assert done.returncode == 0, done.stderr
    assert remote_contents(server, "fresh") == periodic.expected


@pytest.mark.parametrize("target", ["data-dir", "url"])
def test_a_gap_is_refused_before_anything_is_applied(
    periodic: Periodic, server: Served, tmp_path: Path, target: str
) -> None:
    (periodic.folder / periodic.chain[1]).unlink()  # the first incremental is lost
    data = tmp_path / "data"
    base = ["--data-dir", str(data)] if target == "data-dir" else over_url(server)
    first = periodic.folder / periodic.chain[0]
    assert cli(*base, "import", str(first), "foo").returncode == 0
    before = cli(*base, "get", "foo", "users/4")
    assert before.returncode == 0

    refused = cli(*base, "import", str(periodic.folder), "foo", "--incremental")
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: ")
    assert f"gap in the chain before {periodic.chain[2]}" in refused.stderr
    assert "nothing was applied" in refused.stderr
    assert cli(*base, "get", "foo", "users/4").stdout == before.stdout
    new = cli(*base, "import", str(periodic.folder), "never", "--incremental")
    assert new.returncode == 1 and "gap in the chain" in new.stderr
    assert cli(*base, "get", "never", "users/0").returncode == 1


def test_a_damaged_file_is_refused_before_anything_is_applied(
    periodic: Periodic, server: Served
) -> None:
    last = periodic.folder / periodic.chain[2]
    data = bytearray(last.read_bytes())
    data[len(data) // 2] ^= 0xFF
    last.write_bytes(bytes(data))
    refused = cli(*over_url(server, "import", str(periodic.folder), "foo", "--incremental"))
    assert refused.returncode == 1 and periodic.chain[2] in refused.stderr, refused.stderr
    assert cli(*over_url(server, "db", "list", "--json")).stdout.strip() == "[]"


def test_a_folder_of_run_folders_imports_its_current_chain(tmp_path: Path, server: Served) -> None:
    backups = tmp_path / "backups"
    with rookdb.open(tmp_path / "source") as instance:
        db = instance.create_database("shop")
        shop_history(db, 0)
        write_full_backup(db, backups)  # an older chain, passed over
        shop_history(db, 1)
        full = write_full_backup(db, backups)
        shop_history(db, 2)
        inc = write_incremental_backup(db, full.path.parent, full.last_etag)
        assert inc is not None
        expected = contents(db)
    done = cli(*over_url(server, "import", str(backups), "foo", "--incremental", "--json"))
    assert done.returncode == 0, done.stderr
    assert f"using run folder {full.run_folder}" in done.stderr
    result = json.loads(done.stdout)
    assert [f["file"] for f in result["files"]] == [full.relative_path, inc.relative_path]
    assert result["chain_choice"]["run_folder"] == full.run_folder
    assert remote_contents(server, "foo") == expected

    # The same folder on a data dir.
    data = str(tmp_path / "data")
    local = cli("--data-dir", data, "import", str(backups), "foo", "--incremental")
    assert local.returncode == 0, local.stderr
    with rookdb.open(tmp_path / "data") as instance:
        assert contents(instance.database("foo")) == expected


def test_a_folder_without_backups_says_so(tmp_path: Path, periodic: Periodic) -> None:
    empty = tmp_path / "empty"
    shutil.copytree(periodic.folder, empty)
    for name in periodic.chain:
        (empty / name).unlink()
    done = cli("--data-dir", str(tmp_path / "data"), "import", str(empty), "foo")
    assert done.returncode == 1
    assert "holds no backup files or run folders" in done.stderr
