"""`rookdb backup get | history | ls --documents` on real backup chains, good and damaged.

A chain of a full backup and two incrementals of a small database, written
with known times, read back through the CLI: a document as of each point (by
file and by time), a delete, an id that appears only later, an unknown id,
odd characters, attachments; then damage: a data block, a catalog block, a
missing incremental, an encrypted chain with and without its key, and the
version-1 files of tests/data (no catalog: read whole, and said so).
"""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import rookdb
from backup_surgery import RAW_KEY, put_together, take_apart
from explorer_chains import ODD, Chain, make_chain
from rookdb.backup import write_full_backup
from rookdb.cli.main import run as run_cli

V1_PLAIN = Path(__file__).parent / "data" / "backup-format-v1" / "plain"
T0 = datetime(2026, 11, 24, 2, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    return make_chain(tmp_path_factory.mktemp("chain"))


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run(*args: str) -> Outcome:
    """The CLI as a user runs it: exit code, stdout, and one `error:` line on stderr."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run_cli(["--quiet", *args])
    return Outcome(code, out.getvalue(), err.getvalue())


def test_get_as_of_each_point_by_file_and_by_time(chain: Chain) -> None:
    src = str(chain.folder)
    first = run("backup", "get", src, "orders/1041", "--until", chain.files[0])
    assert first.exit_code == 0, first.output
    doc = json.loads(first.stdout)
    assert doc["total"] == 1041 and "status" not in doc
    assert doc["@metadata"]["@id"] == "orders/1041"
    second = run("backup", "get", src, "orders/1041", "--until", "2026-11-25T12:00:00Z")
    assert json.loads(second.stdout)["status"] == "paid"
    newest = run("backup", "get", src, "orders/1041")
    assert newest.exit_code == 0
    assert "deleted at etag" in newest.stdout and chain.files[2] in newest.stdout
    as_json = run("backup", "get", src, "orders/1041", "--json")
    assert json.loads(as_json.stdout)["deleted"] is True


def test_unknown_id_and_an_id_that_appears_later(chain: Chain) -> None:
    src = str(chain.folder)
    unknown = run("backup", "get", src, "orders/nope")
    assert unknown.exit_code == 1
    assert "not in this backup at that point" in unknown.stderr
    later = run("backup", "get", src, "orders/new", "--until", chain.files[0])
    assert later.exit_code == 1
    assert "not in this backup at that point" in later.stderr
    assert f"first appears in {chain.files[1]}" in later.stderr
    before_chain = run("backup", "get", src, "orders/1", "--until", "2020-01-01T00:00:00Z")
    assert before_chain.exit_code == 1 and "nothing to restore at or before" in before_chain.stderr


def test_odd_ids_case_and_attachments(chain: Chain, tmp_path: Path) -> None:
    src = str(chain.folder)
    odd = run("backup", "get", src, ODD)
    assert odd.exit_code == 0, odd.output
    assert json.loads(odd.stdout)["@metadata"]["@id"] == ODD
    upper = run("backup", "get", src, "ORDERS/7")
    assert json.loads(upper.stdout)["note"] == "changed"
    out = tmp_path / "receipt.txt"
    got = run("backup", "get", src, "orders/7", "--attachment", "receipt.txt", "-o", str(out))
    assert got.exit_code == 0, got.output
    assert out.read_bytes() == b"paid 7 EUR\n" * 300
    missing = run("backup", "get", src, "orders/7", "--attachment", "nope", "-o", str(out))
    assert missing.exit_code == 1 and "receipt.txt" in missing.stderr


def test_history_newest_first(chain: Chain) -> None:
    result = run("backup", "history", str(chain.folder), "orders/1041", "--json")
    assert result.exit_code == 0, result.output
    versions = json.loads(result.stdout)
    assert [v["change"] for v in versions] == ["deleted", "changed", "created"]
    assert [v["file"] for v in versions] == list(reversed(chain.files))


def test_ls_documents_at_a_point(chain: Chain) -> None:
    src = str(chain.folder)
    result = run("backup", "ls", src, "--documents", "--prefix", "orders/10", "--json")
    assert result.exit_code == 0, result.output
    ids = [json.loads(line)["id"] for line in result.stdout.splitlines()]
    assert "orders/1041" not in ids and "orders/1040" in ids
    at_second = run(
        "backup", "ls", src, "--documents", "--prefix", "orders/104", "--until", chain.files[1]
    )
    assert "orders/1041\t" in at_second.stdout
    counted = run("backup", "ls", src, "--documents", "--collection", "orders")
    assert len(counted.stdout.splitlines()) == 3000 - 1 + 1  # orders/5 deleted, orders/new added


def test_a_damaged_data_block_names_the_file(chain: Chain, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(chain.folder, tmp_path / chain.folder.name))
    victim = folder / chain.files[0]
    parts = take_apart(victim)
    block = parts.data_blocks()[0]
    raw = bytearray(parts.raw(block))
    at = raw.find(b'"total":1}')  # orders/1's body, same length, another value
    raw[at + 8] = ord("9")
    parts.set_raw(block, bytes(raw))
    put_together(parts, victim)
    result = run("backup", "get", str(folder), "orders/1")
    assert result.exit_code == 1
    assert chain.files[0] in result.stderr and "does not match" in result.stderr


def test_a_damaged_catalog_block_names_the_file(chain: Chain, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(chain.folder, tmp_path / chain.folder.name))
    victim = folder / chain.files[0]
    data = bytearray(victim.read_bytes())
    catalog_offset = take_apart(victim).catalog_blocks()[0].offset
    data[catalog_offset + 40] ^= 0xFF  # inside the block's stored bytes: its CRC fails
    victim.write_bytes(bytes(data))
    result = run("backup", "get", str(folder), "orders/1")
    assert result.exit_code == 1
    assert chain.files[0] in result.stderr and "CRC" in result.stderr


def test_a_missing_incremental_in_the_middle_is_refused(chain: Chain, tmp_path: Path) -> None:
    folder = Path(shutil.copytree(chain.folder, tmp_path / chain.folder.name))
    (folder / chain.files[1]).unlink()
    result = run("backup", "get", str(folder), "orders/1")
    assert result.exit_code == 1
    assert "gap in the chain" in result.stderr and "missing" in result.stderr
    earlier = run("backup", "get", str(folder), "orders/1", "--until", chain.files[0])
    assert earlier.exit_code == 0


def test_encrypted_chain_with_and_without_the_key(tmp_path: Path) -> None:
    sealed = make_chain(tmp_path, encryption_key=RAW_KEY)
    without = run("backup", "get", str(sealed.folder), "orders/1041", "--until", sealed.files[1])
    assert without.exit_code == 1
    assert "encrypted" in without.stderr and "--encryption-key" in without.stderr
    wrong = run(
        "backup", "get", str(sealed.folder), "orders/1", "--encryption-key", "not the key at all"
    )
    assert wrong.exit_code == 1 and "wrong encryption key" in wrong.stderr
    found = run(
        "backup", "get", str(sealed.folder), "orders/1041", "--until", sealed.files[1],
        "--encryption-key", RAW_KEY,
    )  # fmt: skip
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout)["status"] == "paid"
    history = run("backup", "history", str(sealed.folder), "orders/7", "--encryption-key", RAW_KEY)
    assert history.exit_code == 0 and "changed" in history.stdout


def test_files_written_before_the_catalog_are_read_the_slow_way() -> None:
    result = run("backup", "get", str(V1_PLAIN), "users/4")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["@metadata"]["@etag"] == 35
    assert "predate the catalog" in result.stderr
    deleted = run("backup", "get", str(V1_PLAIN), "users/3")
    assert "deleted at etag 34" in deleted.stdout


def test_diff_of_two_points_and_reversed(chain: Chain) -> None:
    src = str(chain.folder)
    result = run("backup", "diff", src, "--from", chain.files[0], "--to", chain.files[1], "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    rows = {row["id"]: row for row in lines[:-1]}
    assert {i: r["change"] for i, r in rows.items()} == {
        "orders/1041": "changed",
        "orders/5": "deleted",
        "orders/new": "added",
    }
    assert rows["orders/1041"]["size_before"] < rows["orders/1041"]["size_after"]
    stats = lines[-1]["statistics"]
    assert (stats["added"], stats["changed"], stats["deleted"]) == (1, 1, 1)
    back = run("backup", "diff", src, "--from", chain.files[1], "--to", chain.files[0])
    assert back.exit_code == 0, back.output
    assert "added    Orders" in back.stdout and "orders/5" in back.stdout
    assert "1 added, 1 changed, 1 deleted" in back.stdout.splitlines()[-1]
    only = run("backup", "diff", src, "--from", chain.files[0], "--collection", "Nothing", "--json")
    assert json.loads(only.stdout)["statistics"]["changed"] == 0


def test_diff_across_two_chains_of_one_database_and_two_databases(tmp_path: Path) -> None:
    with rookdb.open(tmp_path / "data") as instance:
        db = instance.create_database("shop")
        db.put("a/1", {"v": 1})
        db.put("a/2", {"v": 2})
        first = write_full_backup(db, tmp_path / "backups", now=T0).path
        db.put("a/2", {"v": 3})
        db.put("a/3", {"v": 3})
        db.delete("a/1")
        second = write_full_backup(db, tmp_path / "backups", now=T0 + timedelta(days=1)).path
        other = instance.create_database("other")
        other.put("a/1", {"v": 1})
        foreign = write_full_backup(other, tmp_path / "foreign", now=T0).path
    root = str(tmp_path / "backups")
    result = run("backup", "diff", root, "--from", first.name, "--to", second.name, "--json")
    assert result.exit_code == 0, result.output
    changes = {r["id"]: r["change"] for r in map(json.loads, result.stdout.splitlines()[:-1])}
    assert changes == {"a/1": "deleted", "a/2": "changed", "a/3": "added"}
    # Two databases' run folders side by side: the diff is refused, naming both.
    shutil.copytree(foreign.parent, tmp_path / "backups" / foreign.parent.name)
    refused = run("backup", "diff", root, "--from", foreign.name, "--to", second.name)
    assert refused.exit_code == 1
    assert "two different databases" in refused.stderr


def test_get_and_history_from_an_s3_url(
    chain: Chain,
    s3_endpoint_client: Any,
    s3_endpoint_options: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ROOKDB_EXPLORER_CACHE", str(tmp_path / "cache"))
    s3_endpoint_client.create_bucket(Bucket="backups")
    for name in chain.files:
        key = f"prod/{chain.folder.name}/{name}"
        s3_endpoint_client.upload_file(str(chain.folder / name), "backups", key)
    options = [f"--source-option={k}={v}" for k, v in s3_endpoint_options.items()]
    for source in (f"s3://backups/prod/{chain.folder.name}", "s3://backups/prod"):
        got = run("backup", "get", source, "orders/1041", "--until", chain.files[1], *options)
        assert got.exit_code == 0, got.output
        assert json.loads(got.stdout)["status"] == "paid"
    history = run("backup", "history", "s3://backups/prod", "orders/1041", "--json", *options)
    assert [v["change"] for v in json.loads(history.stdout)] == ["deleted", "changed", "created"]
    unknown = run("backup", "get", "s3://backups/prod", "orders/none", *options)
    assert unknown.exit_code == 1 and "not in this backup at that point" in unknown.stderr
