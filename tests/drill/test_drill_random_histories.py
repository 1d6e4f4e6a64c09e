"""No false alarms: drills pass at every file of chains built from seeded random histories."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import pytest

import rookdb
from rookdb.backup import write_full_backup, write_incremental_backup
from rookdb.drill import run_drill, scratch_root

from .chains import T0


def mutate(db: rookdb.Database, rng: random.Random, steps: int) -> None:
    """Puts, re-puts, deletes, re-creates, attachments, identities and index changes."""
    for _ in range(steps):
        doc = f"{rng.choice(['users', 'orders'])}/{rng.randint(0, 30)}"
        action = rng.random()
        if action < 0.45:
            db.put(doc, {"n": rng.randint(0, 9), "tag": rng.choice(["a", "b", None])})
        elif action < 0.6:
            db.delete(doc)
        elif action < 0.75 and db.get(doc) is not None:
            name = rng.choice(["a.bin", "b.bin"])
            db.put_attachment(doc, name, rng.randbytes(rng.randint(0, 3000)), "x/y")
        elif action < 0.82 and db.get(doc) is not None:
            db.delete_attachment(doc, rng.choice(["a.bin", "b.bin"]))
        elif action < 0.9:
            db.next_identity(rng.choice(["invoices", "orders"]))
        elif action < 0.95:
            db.create_index(rng.choice(["ByN", "ByTag"]), "Users", [rng.choice(["n", "tag"])])
        else:
            db.delete_index(rng.choice(["ByN", "ByTag"]))


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
@pytest.mark.parametrize("backup_type", ["backup", "snapshot"])
def test_every_point_of_a_random_chain_passes(
    instance: rookdb.Instance, tmp_path: Path, seed: int, backup_type: str
) -> None:
    rng = random.Random(seed)
    db = instance.create_database("shop")
    mutate(db, rng, 80)
    full = write_full_backup(db, tmp_path / "b", backup_type=backup_type, now=T0)
    files, last = [full], full.last_etag
    for hour in range(1, 5):
        mutate(db, rng, 40)
        written = write_incremental_backup(
            db, full.path.parent, last, now=T0 + timedelta(hours=hour)
        )
        if written is not None:
            files.append(written)
            last = written.last_etag
    for point in files:
        report = run_drill(point.path, scratch_root(instance.data_dir))
        assert report.passed, (point.file_name, report.problems)
        assert report.last_etag_found == point.last_etag
    assert report.totals["documents"] == db.count()
    assert report.totals["attachments"] == db.stats().attachments
