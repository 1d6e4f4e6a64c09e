"""What routes receive from the app: the core objects of its `AppState`, as dependencies.

Async on purpose: FastAPI runs a plain function dependency in a thread, which
a lookup on the app does not need.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from rookdb.app_state import backup_tasks_of, instance_of, restore_jobs_of
from rookdb.instance import Instance
from rookdb.restore import RestoreJobs
from rookdb.tasks import BackupTasks


async def get_instance(request: Request) -> Instance:
    """The Instance this app serves."""
    return instance_of(request)


async def get_backup_tasks(request: Request) -> BackupTasks:
    """The app's one backup task service (the Studio finds the same one)."""
    return backup_tasks_of(request)


async def get_restore_jobs(request: Request) -> RestoreJobs:
    """The app's restore jobs (the Studio finds the same ones)."""
    return restore_jobs_of(request)


InstanceDep = Annotated[Instance, Depends(get_instance)]
TasksDep = Annotated[BackupTasks, Depends(get_backup_tasks)]
JobsDep = Annotated[RestoreJobs, Depends(get_restore_jobs)]
