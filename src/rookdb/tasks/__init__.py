"""Backup tasks: validated definitions, cron schedules, runs, status, retention.

Layers, one way: ``model`` (what a task is) → ``schedule`` (pure: what is due
when) → ``runner`` (one run: write, upload, record) → ``scheduler`` (when to
run, one run per task) and ``service`` (the core API the HTTP routes, the CLI
and the Studio call).
"""

from typing import TYPE_CHECKING

from rookdb.lazy_exports import lazy_exports

__all__ = [
    "BackupScheduler",
    "BackupTask",
    "BackupTasks",
    "Clock",
    "ManualClock",
    "Retention",
    "RunHandle",
    "SystemClock",
]

if TYPE_CHECKING:
    from rookdb.tasks.clock import Clock, ManualClock, SystemClock
    from rookdb.tasks.model import BackupTask, Retention
    from rookdb.tasks.scheduler import BackupScheduler, RunHandle
    from rookdb.tasks.service import BackupTasks
else:
    __getattr__ = lazy_exports(
        __name__,
        {
            "clock": ["Clock", "ManualClock", "SystemClock"],
            "model": ["BackupTask", "Retention"],
            "scheduler": ["BackupScheduler", "RunHandle"],
            "service": ["BackupTasks"],
        },
    )
