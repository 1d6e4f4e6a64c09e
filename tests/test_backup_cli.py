"""`rookdb backup run|ls|verify`, `rookdb restore`, `rookdb export|import` on a real data dir."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import rookdb
from rookdb.cli.main import app
from rookdb.errors import AlreadyExists, BackupCorrupted, EncryptionKeyError, InvalidInput

Run = Callable[..., Result]
ROOKDB = str(Path(sys.executable).with_name("rookdb"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    with rookdb.open(tmp_path / "data") as instance:
        db = instance.create_database("shop")
        db.bulk_insert((f"users/{i}", {"name": f"user {i}"}) for i in range(100))
        db.put_attachment("users/1", "a.txt", b"hello")
    return tmp_path / "data"


@pytest.fixture
def run(data_dir: Path) -> Run:
    def invoke(*args: str) -> Result:
        return CliRunner().invoke(app, ["--data-dir", str(data_dir), "--quiet", *args])

    return invoke


def test_full_incremental_ls_verify_restore(run: Run, data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "backups"
    full = run("backup", "run", "shop", "--to", str(out))
    assert full.exit_code == 0, full.output
    assert "full backup written" in full.stdout and "100 documents" in full.stdout
    # Sizes read as everywhere in the CLI: bytes, then binary units (KiB, MiB ...).
    assert re.search(r", (\d+ B|\d+\.\d [KMGT]iB)\)$", full.stdout.strip()), full.stdout

    nothing = run("backup", "run", "shop", "--to", str(out), "--incremental")
    assert nothing.exit_code == 0, nothing.output
    assert "no changes since etag 101 — nothing written" in nothing.stdout

    with rookdb.open(data_dir) as instance:
        instance.database("shop").delete("users/5")
    inc = run("backup", "run", "shop", "--to", str(out), "--incremental", "--json")
    assert inc.exit_code == 0, inc.output
    written = json.loads(inc.stdout)
    assert written["kind"] == "incremental" and written["tombstones"] == 1

    listed = run("backup", "ls", str(out), "--json")
    assert listed.exit_code == 0, listed.output
    [folder] = json.loads(listed.stdout)
    assert [f["kind"] for f in folder["files"]] == ["full", "incremental"]
    assert folder["problems"] == []
    table = run("backup", "ls", str(out))
    assert written["file_name"] in table.stdout

    assert run("backup", "verify", str(out)).exit_code == 0

    restored = run("restore", folder["path"], "--database", "copy")
    assert restored.exit_code == 0, restored.output
    assert "99 documents" in restored.stdout
    again = run("restore", folder["path"], "--database", "copy")
    assert isinstance(again.exception, AlreadyExists)

    early = run(
        "restore", folder["path"], "-d", "early", "--until", folder["files"][0]["file_name"]
    )
    assert early.exit_code == 0, early.output
    with rookdb.open(data_dir) as instance:
        assert instance.database("copy").get("users/5") is None
        assert instance.database("early").get("users/5") is not None
        assert instance.database("copy").read_attachment("users/1", "a.txt") == b"hello"


def test_snapshot_gzip_and_encryption_options(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "backups"
    args = ("--type", "snapshot", "--compression", "gzip", "--encryption-key", "s3cret pass")
    assert run("backup", "run", "shop", "--to", str(out), *args).exit_code == 0
    listed = json.loads(run("backup", "ls", str(out), "--json").stdout)
    [file] = listed[0]["files"]
    assert (file["type"], file["compression"], file["encrypted"]) == ("snapshot", "gzip", True)
    no_key = run("restore", listed[0]["path"], "--database", "copy")
    assert isinstance(no_key.exception, EncryptionKeyError)
    wrong = run("backup", "verify", str(out), "--encryption-key", "wrong")
    assert wrong.exit_code == 1
    ok = run("restore", listed[0]["path"], "--database", "copy", "--encryption-key", "s3cret pass")
    assert ok.exit_code == 0, ok.output
    bad = run("backup", "run", "shop", "--to", str(out), "--type", "raw")
    assert isinstance(bad.exception, InvalidInput)


def test_verify_fails_on_a_damaged_file(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "backups"
    run("backup", "run", "shop", "--to", str(out))
    [file] = list(out.rglob("*.rookdb-full-backup"))
    data = bytearray(file.read_bytes())
    data[len(data) // 2] ^= 0x10
    file.write_bytes(bytes(data))
    result = run("backup", "verify", str(out))
    assert result.exit_code == 1
    assert file.name in result.stderr
    restored = run("restore", str(file.parent), "--database", "copy")
    assert isinstance(restored.exception, BackupCorrupted)


def test_export_and_import(run: Run, data_dir: Path, tmp_path: Path) -> None:
    exported = run("export", "shop", str(tmp_path / "shop.export"))
    assert exported.exit_code == 0, exported.output
    assert "100 documents" in exported.stdout
    imported = run("import", str(tmp_path / "shop.export"), "copy")
    assert imported.exit_code == 0, imported.output
    with rookdb.open(data_dir) as instance:
        mark = instance.database("shop").last_etag
        instance.database("shop").delete("users/9")
    delta = run("export", "shop", str(tmp_path / "delta"), "--since-etag", str(mark))
    assert delta.exit_code == 0 and "1 deletes" in delta.stdout
    applied = run("import", str(tmp_path / "delta"), "copy", "--incremental")
    assert applied.exit_code == 0, applied.output
    with rookdb.open(data_dir) as instance:
        assert instance.database("copy").count() == 99


def test_real_process_exit_codes_and_unreachable_url(data_dir: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOKDB_")}

    def rook(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([ROOKDB, *args], capture_output=True, text=True, env=env, timeout=60)
        assert "Traceback" not in done.stderr, done.stderr
        return done

    out = tmp_path / "backups"
    assert (
        rook(
            "--data-dir", str(data_dir), "-q", "backup", "run", "shop", "--to", str(out)
        ).returncode
        == 0
    )
    missing = rook("--data-dir", str(data_dir), "restore", str(tmp_path / "nope"), "-d", "x")
    assert missing.returncode == 1 and missing.stderr.startswith("error: ")
    remote = rook("--url", "http://127.0.0.1:9", "backup", "run", "shop", "--to", str(out))
    # `backup run` works over --url now: an unreachable server is one error line.
    assert remote.returncode == 1 and "cannot reach rookdb" in remote.stderr
    [file] = list(out.rglob("*.rookdb-full-backup"))
    file.write_bytes(file.read_bytes()[:-100])
    broken = rook("--data-dir", str(data_dir), "restore", str(file.parent), "-d", "copy")
    assert broken.returncode == 1 and file.name in broken.stderr
    assert rook("backup", "verify", str(out)).returncode == 1
