"""A chain whose last backed-up changes were rolled back is not continued.

In a database group a member holding the chain's last etag may still not hold
the same changes: if the write node that wrote them was replaced before the
others had them, the new write node wrote other changes under the same etags
(in a new term) and the old ones went to a rollback file. An incremental
"since etag E" would then skip the group's real changes up to E. So each
backup remembers the term that wrote its last etag, and a run that finds the
group's history says otherwise starts a new chain with a full backup and says
why in `last_run`. (The group's record is changed here as the observer
changes it at a failover; the processes and the rollback itself are shown in
tests/test_cluster_rollback.py.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import rookdb
from rookdb.cluster.groups import Group
from rookdb.instance import Instance
from rookdb.tasks import BackupScheduler, BackupTasks


def group_database_with_a_task(instance: Instance, out: Path) -> tuple[BackupTasks, dict[str, Any]]:
    instance.register_database("shop", Group(("A",), "A"))
    db = instance.database("shop")
    for n in range(10):
        db.put(f"users/{n}", {"n": n})
    service = BackupTasks(instance, BackupScheduler(instance))
    task = service.create(
        "shop",
        {"full_backup_cron": "0 2 * * *", "destinations": [{"kind": "local", "path": str(out)}]},
    )
    return service, task


def new_term_from(instance: Instance, first_etag: int) -> None:
    """What the observer does at a failover: a new term whose first etag is `first_etag`."""
    record = instance.system.get_database("shop")
    assert record is not None
    group = Group.from_settings(record.settings)
    assert group is not None
    changed = type(record)(
        record.name,
        record.created_at,
        record.file,
        group.with_write_node("A", first_etag).to_settings(),
    )
    instance.system.replace_database(record, changed)


def test_an_incremental_continues_a_chain_the_new_term_kept(tmp_path: Path) -> None:
    with rookdb.open(tmp_path / "data") as instance:
        service, task = group_database_with_a_task(instance, tmp_path / "out")
        try:
            full = service.backup_now("shop", task["id"], full=True, wait=True)
            assert full["error"] is None
            assert service.status("shop", task["id"])["last_etag"] == 10
            new_term_from(instance, 11)  # the new write node held everything up to 10
            instance.database("shop").put("users/new", {"n": 99})
            run = service.backup_now("shop", task["id"], full=False, wait=True)
            assert run["kind"] == "incremental" and run["error"] is None, run
            assert "full_reason" not in run
        finally:
            service.scheduler.stop()


def test_a_chain_whose_last_changes_were_rolled_back_starts_again_with_a_full(
    tmp_path: Path,
) -> None:
    with rookdb.open(tmp_path / "data") as instance:
        service, task = group_database_with_a_task(instance, tmp_path / "out")
        try:
            full = service.backup_now("shop", task["id"], full=True, wait=True)
            assert full["error"] is None
            # The new write node held only up to etag 8: 9 and 10 of the old term are gone.
            new_term_from(instance, 9)
            run = service.backup_now("shop", task["id"], full=False, wait=True)
            assert run["kind"] == "full" and run["error"] is None, run
            assert "rolled back" in run["full_reason"] and "etag 10" in run["full_reason"]
            status = service.status("shop", task["id"])
            assert status["run_folder"] != full["file"].split("/")[0]
            assert status["last_run"]["full_reason"] == run["full_reason"]
            # The new chain is continued normally.
            instance.database("shop").put("users/later", {"n": 100})
            after = service.backup_now("shop", task["id"], full=False, wait=True)
            assert after["kind"] == "incremental" and after["error"] is None, after
        finally:
            service.scheduler.stop()
