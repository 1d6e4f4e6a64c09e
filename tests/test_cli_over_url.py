"""`backup run`, `restore`, `export` and `import` with --url: the CLI as a process, a real server.

They work as on a data dir: `backup run` writes into a folder on the server's
machine, `restore` starts a job on the server and follows it to its end (exit 1
when it fails), `export` streams the file down, `import` streams it up.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import rookdb
from database_contents import contents, shop_history
from rookdb.backup import write_full_backup
from rookdb_process import Served, cli, serve


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Served]:
    served = serve(["--data-dir", str(tmp_path / "served"), "--port", "0"])
    with rookdb.Client(served.url, api_key=served.admin_key) as client:
        db = client.create_database("shop")
        for n in range(40):
            db.put(f"users/{n}", {"name": f"u{n}"})
        db.put_attachment("users/1", "photo.txt", b"a photo", "text/plain")
    yield served
    served.stop()


def rook(served: Served, *args: str) -> list[str]:
    assert served.admin_key is not None
    return ["--url", served.url, "--api-key", served.admin_key, *args]


def client(served: Served) -> rookdb.Client:
    return rookdb.Client(served.url, api_key=served.admin_key)


def test_backup_run_writes_on_the_server_and_restore_follows_the_job(
    server: Served, tmp_path: Path
) -> None:
    out = tmp_path / "on-the-server"
    full = cli(*rook(server, "backup", "run", "shop", "--to", str(out), "--json"))
    assert full.returncode == 0, full.stderr
    written = json.loads(full.stdout)
    assert written["kind"] == "full" and Path(written["path"]).is_file()
    assert Path(written["path"]).parent.parent == out
    same = cli(*rook(server, "backup", "run", "shop", "--to", str(out), "--incremental"))
    assert same.returncode == 0 and "no changes since etag" in same.stdout
    with client(server) as c:
        c.database("shop").delete("users/7")
    inc = cli(*rook(server, "backup", "run", "shop", "--to", str(out), "--incremental"))
    assert inc.returncode == 0 and inc.stdout.startswith("incremental backup written:")
    assert "1 deletes" in inc.stdout
    relative = cli(*rook(server, "backup", "run", "shop", "--to", "relative/dir"))
    assert relative.returncode == 1 and "absolute path" in relative.stderr

    done = cli(*rook(server, "restore", str(out), "--database", "copy"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("restored copy from 2 file(s)")
    assert "using run folder" in done.stderr  # the chain chosen, as on a data dir
    as_json = cli(*rook(server, "-q", "restore", str(out), "-d", "copy2", "--json"))
    result = json.loads(as_json.stdout)
    assert result["database"] == "copy2" and result["chain_choice"]["run_folder"]
    with client(server) as c:
        assert contents(c.database("copy")) == contents(c.database("shop"))
        assert c.database("copy").get("users/7") is None

    taken = cli(*rook(server, "restore", str(out), "-d", "copy"))
    assert taken.returncode == 1 and "already exists" in taken.stderr


def test_a_failed_restore_exits_1_naming_why(server: Served, tmp_path: Path) -> None:
    out = tmp_path / "on-the-server"
    assert cli(*rook(server, "-q", "backup", "run", "shop", "--to", str(out))).returncode == 0
    [file] = out.glob("*/*.rookdb-full-backup")
    file.write_bytes(file.read_bytes()[:-64])
    failed = cli(*rook(server, "restore", str(file.parent), "-d", "copy"))
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines()[-1].startswith("error: ")
    assert file.name in failed.stderr
    with client(server) as c:
        assert not c.has_database("copy")
    relative = cli(*rook(server, "restore", "some/folder", "-d", "copy"))
    assert relative.returncode == 1 and "absolute path" in relative.stderr


def test_export_streams_down_and_import_streams_up(server: Served, tmp_path: Path) -> None:
    file = tmp_path / "shop.export"
    exported = cli(*rook(server, "export", "shop", str(file)))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith(f"exported shop to {file}: etags 0..")
    assert "40 documents" in exported.stdout and f"{file.stat().st_size} bytes" in exported.stdout
    # The downloaded file is an ordinary export: a data dir imports it.
    local = tmp_path / "local"
    assert cli("--data-dir", str(local), "-q", "import", str(file), "copy").returncode == 0

    imported = cli(*rook(server, "import", str(file), "copy", "--json"))
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["files"] == ["shop.export"]
    with client(server) as c, rookdb.open(local) as instance:
        assert contents(c.database("copy")) == contents(c.database("shop"))
        assert contents(instance.database("copy")) == contents(c.database("shop"))

    mark = json.loads(cli(*rook(server, "db", "list", "--json")).stdout)
    last = next(d["last_etag"] for d in mark if d["name"] == "shop")
    with client(server) as c:
        c.database("shop").delete("users/3")
    delta = cli(*rook(server, "export", "shop", str(tmp_path / "delta"), "--since-etag", str(last)))
    assert delta.returncode == 0 and "1 deletes" in delta.stdout
    applied = cli(*rook(server, "import", str(tmp_path / "delta"), "copy", "--incremental"))
    assert applied.returncode == 0 and "1 deletes" in applied.stdout
    with client(server) as c:
        assert contents(c.database("copy")) == contents(c.database("shop"))

    missing = cli(*rook(server, "export", "nope", str(tmp_path / "nope.export")))
    assert missing.returncode == 1 and "nope" in missing.stderr
    assert not (tmp_path / "nope.export").exists()


def test_a_local_backup_restores_on_the_server(server: Served, tmp_path: Path) -> None:
    # The server's machine is this one: a path written here is a path there.
    with rookdb.open(tmp_path / "elsewhere") as instance:
        db = instance.create_database("shop")
        for step in range(3):
            shop_history(db, step)
        full = write_full_backup(db, tmp_path / "backups", encryption_key="k" * 12)
        expected = contents(db)
    wrong = cli(*rook(server, "restore", str(full.path), "-d", "copy", "--encryption-key", "x"))
    assert wrong.returncode == 1 and "key" in wrong.stderr
    done = cli(*rook(server, "restore", str(full.path), "-d", "copy",
                     "--encryption-key", "k" * 12))  # fmt: skip
    assert done.returncode == 0, done.stderr
    with client(server) as c:
        assert contents(c.database("copy")) == expected
