"""Task definitions in the system store: namespace `backup-tasks`, key `{db}/{task_id}`."""

from __future__ import annotations

from rookdb.errors import NotFound
from rookdb.system import SystemStore
from rookdb.tasks.model import BackupTask, load_task
from rookdb.tasks.status import status_key

TASKS_NAMESPACE = "backup-tasks"


class TaskStore:
    """Reads and writes backup task definitions (secrets included: never render these directly)."""

    def __init__(self, system: SystemStore) -> None:
        self._system = system

    def get(self, database: str, task_id: str) -> BackupTask:
        """The task; NotFound names it when it does not exist."""
        entry = self._system.get(TASKS_NAMESPACE, status_key(database, task_id))
        if entry is None:
            raise NotFound(f"backup task {task_id!r} of database {database!r} does not exist")
        return load_task(entry.value)

    def exists(self, database: str, task_id: str) -> bool:
        return self._system.get(TASKS_NAMESPACE, status_key(database, task_id)) is not None

    def list(self, database: str) -> list[BackupTask]:
        """The database's tasks, by id."""
        prefix = status_key(database, "")
        return [load_task(e.value) for e in self._system.list(TASKS_NAMESPACE, prefix)]

    def put(self, database: str, task: BackupTask) -> None:
        self._system.put(TASKS_NAMESPACE, status_key(database, task.id), task.stored_json())

    def delete(self, database: str, task_id: str) -> bool:
        return self._system.delete(TASKS_NAMESPACE, status_key(database, task_id))
