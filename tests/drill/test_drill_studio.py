"""The Studio's task card shows the last verified restorable point, restore time, drill error."""

from __future__ import annotations

from pathlib import Path

import httpx

from rookdb import Instance
from rookdb.server import ServerThread
from rookdb.tasks import BackupTasks

from .chains import fill, flip_byte


def test_task_card_shows_the_drill(instance: Instance, tmp_path: Path) -> None:
    fill(instance.create_database("shop"))
    out = tmp_path / "out"
    service = BackupTasks(instance)
    task = service.create(
        "shop",
        {
            "full_backup_cron": "0 2 * * *",
            "destinations": [{"kind": "local", "path": str(out)}],
            "drill": {"after_full": False},
        },
    )
    with ServerThread(instance, services=[]) as server:
        page = httpx.get(f"{server.url}/studio/databases/shop/tasks", timeout=30)
        assert page.status_code == 200
        assert "Verified restorable" in page.text and "not yet" in page.text

        service.backup_now("shop", task["id"], full=True, wait=True)
        drill = service.drill_now("shop", task["id"], wait=True)
        assert drill["passed"] is True
        page = httpx.get(f"{server.url}/studio/databases/shop/tasks", timeout=30)
        assert "not yet" not in page.text
        assert f"{service.status('shop', task['id'])['restore_time_seconds']:.1f} s" in page.text

        [full] = out.rglob("*.rookdb-full-backup")
        flip_byte(full)
        assert service.drill_now("shop", task["id"], wait=True)["passed"] is False
        page = httpx.get(f"{server.url}/studio/databases/shop/tasks", timeout=30)
        assert f"Last restore drill failed: backup file {full.name}" in page.text
    service.scheduler.stop()
