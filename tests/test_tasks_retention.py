"""Retention: old chains go, the newest complete chain never does."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rookdb import Instance
from rookdb.destinations import RemoteFile
from rookdb.tasks import BackupScheduler, BackupTasks, ManualClock
from rookdb.tasks.model import Retention
from rookdb.tasks.retention import chains_of, plan

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def folder(day: int, db: str = "shop") -> str:
    return f"2026-11-{day:02d}-02-00-00.rookdb-{db}-A-backup"


def listing(*days: int, incomplete: tuple[int, ...] = (), db: str = "shop") -> list[str]:
    paths = []
    for day in days:
        name = folder(day, db)
        paths.append(f"{name}/2026-11-{day:02d}-02-00-00.rookdb-full-backup")
        paths.append(f"{name}/2026-11-{day:02d}-08-00-00.rookdb-incremental-backup")
    for day in incomplete:  # a chain whose full never arrived
        paths.append(f"{folder(day, db)}/2026-11-{day:02d}-08-00-00.rookdb-incremental-backup")
    return paths


def doomed(paths: list[str], retention: Retention, current: str | None = None) -> list[str]:
    listed = [RemoteFile(path, 100, None) for path in paths]
    return [c.name for c in plan(chains_of(listed, "shop"), retention, NOW, current)]


def test_keep_n_full_chains() -> None:
    paths = listing(20, 22, 24, 26, 28)
    assert doomed(paths, Retention(keep_full_chains=2)) == [folder(20), folder(22), folder(24)]
    assert doomed(paths, Retention(keep_full_chains=9)) == []


def test_no_rule_deletes_nothing() -> None:
    assert doomed(listing(1, 2, 3), Retention()) == []


def test_max_age_never_deletes_the_newest_complete_chain() -> None:
    paths = listing(1, 2, 3)  # everything is older than a week
    assert doomed(paths, Retention(max_age_days=7)) == [folder(1), folder(2)]


def test_keep_at_least_n_wins_over_age() -> None:
    paths = listing(1, 2, 3, 29)
    assert doomed(paths, Retention(keep_full_chains=3, max_age_days=7)) == [folder(1)]


def test_incomplete_chains_do_not_count_and_newer_ones_stay() -> None:
    paths = listing(20, 24, incomplete=(22, 28))
    # The folder of the 28th (newer than the newest complete chain) may still be uploading.
    assert doomed(paths, Retention(keep_full_chains=1)) == [folder(20), folder(22)]
    # With no complete chain at all, nothing is deleted.
    assert doomed(listing(incomplete=(20, 22)), Retention(keep_full_chains=1)) == []


def test_other_databases_and_foreign_files_are_left_alone() -> None:
    paths = [
        *listing(20, 22),
        *listing(10, db="shop-eu"),
        "notes.txt",
        "random-folder/file",
    ]
    assert doomed(paths, Retention(keep_full_chains=1)) == [folder(20)]


def test_same_second_folders_sort_by_their_counter() -> None:
    first = "2026-11-20-02-00-00.rookdb-shop-A-backup"
    second = "2026-11-20-02-00-00-01.rookdb-shop-A-backup"
    paths = [
        f"{first}/2026-11-20-02-00-00.rookdb-full-backup",
        f"{second}/2026-11-20-02-00-00.rookdb-full-backup",
    ]
    assert doomed(paths, Retention(keep_full_chains=1)) == [first]


def test_the_chain_in_use_is_kept() -> None:
    assert doomed(listing(20, 22), Retention(max_age_days=1), current=folder(20)) == []


def test_retention_runs_after_each_successful_full(instance: Instance, tmp_path: Path) -> None:
    db = instance.create_database("shop")
    clock = ManualClock("2026-11-20T00:00:00Z")
    service = BackupTasks(instance, BackupScheduler(instance, clock=clock))
    out = tmp_path / "out"
    task = service.create(
        "shop",
        {
            "full_backup_cron": "0 2 * * *",
            "incremental_backup_cron": "0 */6 * * *",
            "retention": {"keep_full_chains": 2},
            "destinations": [{"kind": "local", "path": str(out)}],
        },
    )
    for day in range(20, 25):
        for hour in (2, 6, 12):
            db.put(f"users/{day}-{hour}", {"day": day})
            clock.set(f"2026-11-{day}T{hour:02d}:00:00Z")
            for handle in service.scheduler.tick():
                assert handle.wait(30)["error"] is None
    folders = sorted(p.name for p in out.iterdir())
    assert folders == [
        "2026-11-23-02-00-00.rookdb-shop-A-backup",
        "2026-11-24-02-00-00.rookdb-shop-A-backup",
    ]
    assert len(list((out / folders[-1]).iterdir())) == 3  # the full and two incrementals
    last = service.status("shop", task["id"])["last_run"]
    assert last["kind"] == "incremental"
    fulls = [r for r in service.history("shop", task["id"]) if r["kind"] == "full"]
    assert fulls[0]["retention"][0]["deleted_folders"] == [
        "2026-11-22-02-00-00.rookdb-shop-A-backup"
    ]
    service.scheduler.stop()
