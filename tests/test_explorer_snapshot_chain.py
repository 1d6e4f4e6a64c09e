"""The explorer on a chain that starts with a snapshot: incrementals read as usual, the snapshot
decompressed once into the local cache (checked first) and only when an answer needs it.

(That every point of such a chain answers like a restore is checked, with random histories,
by tests/test_explorer_matches_restore.py.)
"""

from __future__ import annotations

import io
import json
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

import rookdb
from explorer_chains import Chain, make_chain
from rookdb.cli.main import run as run_cli

KEY = "a passphrase for the snapshot"


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    return make_chain(tmp_path_factory.mktemp("snap"), count=400, backup_type="snapshot")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The explorer's cache for this test; snapshot copies go next to it."""
    monkeypatch.setenv("ROOKDB_EXPLORER_CACHE", str(tmp_path / "cache" / "explorer"))
    return tmp_path / "cache" / "explorer-snapshots"


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run_cli(["--quiet", *args])
    return code, out.getvalue(), err.getvalue()


def test_incrementals_answer_alone_and_the_snapshot_is_opened_once(
    chain: Chain, cache: Path
) -> None:
    assert chain.files[0].endswith(".rookdb-snapshot")
    src = str(chain.folder)
    code, out, err = run("backup", "get", src, "orders/1041", "--until", chain.files[1])
    assert code == 0, err
    assert json.loads(out)["status"] == "paid"
    assert "snapshot" not in err and not cache.exists()  # settled by the incremental alone

    code, out, err = run("backup", "get", src, "orders/3", "--until", chain.files[1])
    assert code == 0, err
    assert json.loads(out)["total"] == 3
    assert f"starts with snapshot {chain.files[0]}" in err and "slower" in err
    [copy] = list(cache.glob("*.sqlite"))
    made = copy.stat().st_ino

    code, out, err = run("backup", "get", src, "orders/7", "--attachment", "receipt.txt",
                         "-o", str(cache.parent / "receipt.txt"))  # fmt: skip
    assert code == 0, err
    assert (cache.parent / "receipt.txt").read_bytes() == b"paid 7 EUR\n" * 300
    assert [p.stat().st_ino for p in cache.glob("*.sqlite")] == [made]  # reused, not redone

    code, out, err = run("backup", "history", src, "orders/7")
    assert code == 0, err
    assert [line.split()[4] for line in out.splitlines()] == ["changed", "created"]
    assert chain.files[0] in out.splitlines()[1]  # the first version, from the snapshot
    code, out, err = run("backup", "get", src, "orders/5")
    assert code == 0 and "was deleted at etag" in out
    code, out, err = run("backup", "get", src, "orders/nope")
    assert code == 1 and "is not in this backup at that point" in err and "Traceback" not in err


def test_listing_diff_and_restore_into(chain: Chain, cache: Path, tmp_path: Path) -> None:
    src = str(chain.folder)
    code, out, err = run("backup", "ls", src, "--documents", "--prefix", "orders/1",
                         "--until", chain.files[1])  # fmt: skip
    assert code == 0, err
    ids = [line.split("\t")[0] for line in out.splitlines()]
    assert (
        ids == sorted(i for i in ids) and "orders/1041" in ids and len(ids) == 112
    )  # orders/1, 1x, 1xx and orders/1041
    assert "starts with snapshot" in err

    code, out, err = run("backup", "diff", src, "--from", chain.files[0], "--to", chain.files[2],
                         "--json")  # fmt: skip
    assert code == 0, err
    rows = {r["id"]: r["change"] for r in map(json.loads, out.splitlines()) if "id" in r}
    assert rows == {"orders/5": "deleted", "orders/new": "added", "orders/7": "changed"}

    data = tmp_path / "live"
    with rookdb.open(data) as instance:
        instance.create_database("shop")
    code, out, err = run("--data-dir", str(data), "restore", src, "--into", "shop",
                         "--prefix", "orders/1", "--until", chain.files[1])  # fmt: skip
    assert code == 0, err
    with rookdb.open(data) as instance:
        shop = instance.database("shop")
        assert shop.count() == 112
        restored = shop.get("orders/1041")
        assert restored is not None and restored.body["status"] == "paid"


def test_a_damaged_snapshot_is_refused_and_nothing_is_cached(
    chain: Chain, cache: Path, tmp_path: Path
) -> None:
    folder = Path(shutil.copytree(chain.folder, tmp_path / chain.folder.name))
    victim = folder / chain.files[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    code, out, err = run("backup", "get", str(folder), "orders/3")
    assert code == 1 and out == ""
    assert chain.files[0] in err and "corrupted" in err and "Traceback" not in err
    assert not cache.exists() or not list(cache.iterdir())
    # What the incrementals settle alone is still answered.
    code, out, err = run("backup", "get", str(folder), "orders/new")
    assert code == 0 and json.loads(out)["total"] == 1


def test_an_encrypted_snapshot_is_never_left_decrypted_in_the_cache(
    cache: Path, tmp_path: Path
) -> None:
    sealed = make_chain(tmp_path / "sealed", KEY, count=50, backup_type="snapshot")
    code, _out, err = run("backup", "get", str(sealed.folder), "orders/3")
    assert code == 1 and "--encryption-key" in err
    code, out, err = run("backup", "get", str(sealed.folder), "orders/3", "--encryption-key", KEY)
    assert code == 0, err
    assert json.loads(out)["total"] == 3
    assert not cache.exists() or not list(cache.iterdir())


def test_a_snapshot_chain_on_s3(
    chain: Chain,
    cache: Path,
    s3_endpoint_client: Any,
    s3_endpoint_options: dict[str, str],
) -> None:
    """On a destination the snapshot is read whole by ranges (once), then from the copy."""
    from rookdb.explorer import open_backup

    s3_endpoint_client.create_bucket(Bucket="snaps")
    for name in chain.files:
        s3_endpoint_client.upload_file(
            str(chain.folder / name), "snaps", f"prod/{chain.folder.name}/{name}"
        )
    with open_backup("s3://snaps/prod", chain.files[1], credentials=s3_endpoint_options) as remote:
        assert remote.get("orders/3").body == {"total": 3}
        assert remote.snapshot_files() == [chain.files[0]]
        listed = [d.id for d in remote.documents(prefix="orders/39")]
    assert listed == ["orders/39", "orders/390", "orders/391", "orders/392", "orders/393",
                      "orders/394", "orders/395", "orders/396", "orders/397", "orders/398",
                      "orders/399"]  # fmt: skip
    assert len(list(cache.glob("*.sqlite"))) == 1
