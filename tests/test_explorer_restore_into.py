"""`rookdb restore SOURCE --into LIVE_DB`: selected documents back into a live database.

The documents come back as new writes (new etags, in the next incremental),
attachments included; the conflict choice decides about documents the live
database still has; a dry run writes nothing; an unknown id or database
stops everything before any write.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import rookdb
from rookdb.backup import read_run_folder, write_full_backup, write_incremental_backup
from rookdb.cli.main import run as run_cli
from rookdb.explorer import open_backup

T0 = datetime(2026, 11, 24, 2, 0, 0, tzinfo=UTC)


def run(data_dir: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = run_cli(["--quiet", "--data-dir", str(data_dir), *args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def live(tmp_path: Path) -> tuple[Path, Path]:
    """A data dir with database shop, backed up, then changed: (data dir, run folder)."""
    data = tmp_path / "data"
    with rookdb.open(data) as instance:
        db = instance.create_database("shop")
        for i in range(20):
            db.put(f"orders/{i}", {"total": i})
        db.put("orders/1041", {"total": 1041, "status": "paid"})
        db.put_attachment("orders/1041", "receipt.pdf", b"%PDF receipt", "application/pdf")
        folder = write_full_backup(db, tmp_path / "backups", now=T0).path.parent
        db.delete("orders/1041")
        db.put("orders/2", {"total": 2, "edited": "later"})
        db.put("orders/3", {"total": 3, "edited": "later"})
    return data, folder


def test_dry_run_then_put_back_as_new_writes(live: tuple[Path, Path]) -> None:
    data, folder = live
    with rookdb.open(data) as instance:
        before = instance.database("shop").last_etag
    code, out, err = run(data, "restore", str(folder), "--into", "shop", "--ids", "orders/1041",
                         "--ids", "orders/2", "--dry-run")  # fmt: skip
    assert code == 0, err
    assert "create    orders/1041" in out and "skip      orders/2" in out
    assert "would put back 1 document(s)" in out
    with rookdb.open(data) as instance:
        assert instance.database("shop").last_etag == before  # nothing written

    code, out, err = run(data, "restore", str(folder), "--into", "shop", "--ids", "orders/1041",
                         "--ids", "orders/2", "--json")  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["counts"] == {"create": 1, "overwrite": 0, "skip": 1}
    with rookdb.open(data) as instance:
        db = instance.database("shop")
        back = db.get("orders/1041")
        assert back is not None and back.body == {"total": 1041, "status": "paid"}
        assert back.etag > before  # a new write, not the backup's etag
        assert db.read_attachment("orders/1041", "receipt.pdf") == b"%PDF receipt"
        assert db.get("orders/2").body["edited"] == "later"  # skipped: the live one stays
        # It enters the next incremental like any other change.
        write_incremental_backup(
            db, folder, read_run_folder(folder).last_etag, now=T0 + timedelta(days=1)
        )
    with open_backup(folder) as explorer:
        assert explorer.get("orders/1041").document["status"] == "paid"
        assert [a.name for a in explorer.get("orders/1041").attachments] == ["receipt.pdf"]


def test_conflict_choices(live: tuple[Path, Path]) -> None:
    data, folder = live
    code, out, err = run(data, "restore", str(folder), "--into", "shop", "--prefix", "orders/",
                         "--on-conflict", "overwrite-if-older")  # fmt: skip
    assert code == 0, err
    # The live edits are newer than the backup: kept.
    assert "the live document is newer" in out
    code, out, err = run(data, "restore", str(folder), "--into", "shop", "--collection", "Orders",
                         "--on-conflict", "overwrite")  # fmt: skip
    assert code == 0, err
    assert "overwrite orders/2" in out and "overwrite orders/3" in out
    with rookdb.open(data) as instance:
        assert instance.database("shop").get("orders/3").body == {"total": 3}


def test_bad_input_writes_nothing(live: tuple[Path, Path]) -> None:
    data, folder = live
    with rookdb.open(data) as instance:
        before = instance.database("shop").last_etag
    code, _out, err = run(data, "restore", str(folder), "--into", "shop",
                          "--ids", "orders/1041", "--ids", "orders/none")  # fmt: skip
    assert code == 1 and "orders/none is not in this backup at that point" in err
    code, _out, err = run(data, "restore", str(folder), "--into", "nope", "--ids", "orders/1")
    assert code == 1 and "'nope' does not exist" in err
    code, _out, err = run(data, "restore", str(folder), "--into", "shop")
    assert code == 1 and "exactly one of --ids, --collection or --prefix" in err
    code, _out, err = run(data, "restore", str(folder), "--into", "shop", "--ids", "orders/1",
                          "--on-conflict", "sometimes")  # fmt: skip
    assert code == 1 and "--on-conflict 'sometimes'" in err
    with rookdb.open(data) as instance:
        assert instance.database("shop").last_etag == before
