"""Task definitions in the system store: namespace `backup-tasks`, key `{db}/{task_id}`.

Secrets (the encryption key, destination credentials) are sealed with the
server's master key before they reach the store and opened when a task is
read back; definitions stored in clear by an older version are read as they
are and sealed at their next write or at `rookdb keys rotate-master`.
"""

from __future__ import annotations

from typing import Any

from rookdb.errors import ConcurrencyConflict, MasterKeyError, NotFound
from rookdb.security.secrets import MasterKeys, is_sealed, key_id
from rookdb.system import SystemStore
from rookdb.system.store import Write
from rookdb.tasks.model import BackupTask, load_task
from rookdb.tasks.status import status_key
from rookdb.tasks.upload import SECRET_FIELDS

TASKS_NAMESPACE = "backup-tasks"
_RESEAL_ATTEMPTS = 5


class TaskStore:
    """Reads and writes backup task definitions (secrets included: never render these directly)."""

    def __init__(self, system: SystemStore, secrets: MasterKeys | None = None) -> None:
        self._system = system
        self._secrets = secrets

    def get(self, database: str, task_id: str) -> BackupTask:
        """The task; NotFound names it when it does not exist."""
        key = status_key(database, task_id)
        entry = self._system.get(TASKS_NAMESPACE, key)
        if entry is None:
            raise NotFound(f"backup task {task_id!r} of database {database!r} does not exist")
        return load_task(self._open(key, entry.value))

    def exists(self, database: str, task_id: str) -> bool:
        return self._system.get(TASKS_NAMESPACE, status_key(database, task_id)) is not None

    def list(self, database: str) -> list[BackupTask]:
        """The database's tasks, by id."""
        prefix = status_key(database, "")
        return [
            load_task(self._open(e.key, e.value))
            for e in self._system.list(TASKS_NAMESPACE, prefix)
        ]

    def put(self, database: str, task: BackupTask) -> None:
        self._system.commit([self.write(database, task)])

    def write(
        self, database: str, task: BackupTask, *, expected_version: int | None = None
    ) -> Write:
        """The write that stores `task` (secrets sealed), to commit alone or with its status."""
        key = status_key(database, task.id)
        return Write(TASKS_NAMESPACE, key, self._seal(key, task.stored_json()), expected_version)

    def removal(self, database: str, task_id: str) -> Write:
        """The write that deletes a task's definition."""
        return Write(TASKS_NAMESPACE, status_key(database, task_id), None)

    def reseal_all(self, new_key: bytes) -> int:
        """Seal every task's secrets with `new_key` (master key rotation); how many were."""
        count = 0
        for entry in self._system.list(TASKS_NAMESPACE):
            count += self._reseal(entry.key, new_key)
        return count

    # -- sealing ----------------------------------------------------------------------
    def _reseal(self, key: str, new_key: bytes) -> int:
        wanted = key_id(new_key)
        for _ in range(_RESEAL_ATTEMPTS):
            entry = self._system.get(TASKS_NAMESPACE, key)
            if entry is None:
                return 0
            stale = [
                path
                for path, value in _secret_slots(entry.value)
                if not (is_sealed(value) and value.get("key") == wanted)
            ]
            if not stale:
                return 0
            plain = self._open(key, entry.value)
            sealed = self._seal(key, plain, new_key)
            try:
                self._system.put(TASKS_NAMESPACE, key, sealed, expected_version=entry.version)
            except ConcurrencyConflict:
                continue  # the task was saved meanwhile: read it again
            return len(stale)
        raise ConcurrencyConflict(f"backup task {key} kept changing during the master key rotation")

    def _seal(
        self, key: str, stored: dict[str, Any], master: bytes | None = None
    ) -> dict[str, Any]:
        if self._secrets is None:
            return stored
        secrets = self._secrets

        def seal(path: str, value: Any) -> Any:
            if isinstance(value, str) and value:
                return secrets.seal(value, f"{TASKS_NAMESPACE}/{key}/{path}", key=master)
            return value

        return _map_secrets(stored, seal)

    def _open(self, key: str, stored: dict[str, Any]) -> dict[str, Any]:
        secrets = self._secrets

        def open_(path: str, value: Any) -> Any:
            if not is_sealed(value):
                return value
            if secrets is None:
                raise MasterKeyError(f"backup task {key} has sealed secrets and no master key")
            return secrets.open(value, f"{TASKS_NAMESPACE}/{key}/{path}")

        return _map_secrets(stored, open_)


def _secret_slots(stored: dict[str, Any]) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []

    def collect(path: str, value: Any) -> Any:
        if value:
            found.append((path, value))
        return value

    _map_secrets(stored, collect)
    return found


def _map_secrets(stored: dict[str, Any], change: Any) -> dict[str, Any]:
    """A copy of a stored task with `change(path, value)` applied to every secret field."""
    out = dict(stored)
    out["encryption_key"] = change("encryption_key", stored.get("encryption_key"))
    destinations = []
    for index, config in enumerate(stored.get("destinations") or []):
        if isinstance(config, dict):
            config = {
                k: change(f"destinations.{index}.{k}", v) if k in SECRET_FIELDS else v
                for k, v in config.items()
            }
        destinations.append(config)
    out["destinations"] = destinations
    return out
