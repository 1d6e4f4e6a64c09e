"""`BackupTasks`: the core API of backup tasks; HTTP routes, CLI and Studio all call it.

Everything it returns is safe to show: secrets are masked, the encryption key
is never returned.
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Sequence
from typing import Any

from rookdb.destinations.config import parse_config, secret_scope_change
from rookdb.errors import InvalidInput
from rookdb.instance import Instance
from rookdb.tasks.clock import Clock
from rookdb.tasks.model import BackupTask, generated_name, parse_task
from rookdb.tasks.records import DrillOutcome, LastRun
from rookdb.tasks.scheduler import BackupScheduler
from rookdb.tasks.status import StatusRecord
from rookdb.tasks.status_view import TaskOverview, TaskStatus, render
from rookdb.tasks.upload import MASK, SECRET_FIELDS, DestinationConfig, reveal

# Changing these starts a new chain: the next run is a full backup.
_CHAIN_FIELDS = ("type", "compression", "encryption_key", "destinations")
# Changing these restarts the schedule: fire times before the change are not owed.
_SCHEDULE_FIELDS = ("full_backup_cron", "incremental_backup_cron", "timezone", "disabled")


class BackupTasks:
    """Create, change, run and report on the backup tasks of an instance's databases."""

    def __init__(
        self,
        instance: Instance,
        scheduler: BackupScheduler | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.instance = instance
        self.scheduler = scheduler or BackupScheduler(instance, clock=clock)
        self.clock = self.scheduler.clock
        self.tasks = self.scheduler.tasks
        self.statuses = self.scheduler.statuses

    # -- definitions ----------------------------------------------------------------
    def create(self, database: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Validate and store a new task; nothing is stored when the input is invalid."""
        # Task definitions are cluster state: any node may define one, wherever the data is.
        self.instance.home_node(database)
        task = parse_task(_with_stored_secrets([], payload))
        self._check_preferred_node(database, task)
        now = self.clock.now()
        task = task.model_copy(
            update={
                "id": self._new_id(database),
                "name": self._unique_name(database, task, None),
                "created_at": now.isoformat(),
            }
        )
        # Together or not at all: a task never exists without its status.
        self.instance.system.commit(
            [
                self.tasks.write(database, task, expected_version=0),
                self.statuses.create(database, StatusRecord.fresh(task.id, now)),
            ]
        )
        self.scheduler.notify()
        return task.public_json()

    def list(self, database: str) -> list[dict[str, Any]]:
        """Every task of a database with its status (the task list view), as JSON."""
        return [row.to_json() for row in self.overview(database)]

    def overview(self, database: str) -> builtins.list[TaskOverview]:
        """Every task of a database with its status, typed."""
        self.instance.home_node(database)
        return [
            TaskOverview(task.public_json(), self._status(database, task))
            for task in self.tasks.list(database)
        ]

    def get(self, database: str, task_id: str) -> dict[str, Any]:
        """One task's definition (secrets masked)."""
        self.instance.home_node(database)  # NotFound names the database first
        return self.tasks.get(database, task_id).public_json()

    def update(self, database: str, task_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Replace a task's definition; masked secrets sent back keep their stored value.

        A masked secret is kept only while its destination still sends it to the
        same place (`secret_scope_change`); otherwise the secret must be given again.
        """
        old = self.tasks.get(database, task_id)
        task = parse_task(_with_stored_secrets(old.destinations, payload))
        self._check_preferred_node(database, task)
        task = task.model_copy(
            update={
                "id": old.id,
                "created_at": old.created_at,
                "name": self._unique_name(database, task, old.id),
                "encryption_key": _encryption_key(old, payload),
            }
        )
        self._save_changed(database, old, task)
        return task.public_json()

    def delete(self, database: str, task_id: str) -> None:
        """Delete a task and its status (files already on the destinations stay)."""
        self.tasks.get(database, task_id)
        removal = [self.tasks.removal(database, task_id), *self.statuses.removal(database, task_id)]
        self.instance.system.commit(removal)
        self.scheduler.notify()

    def enable(self, database: str, task_id: str) -> dict[str, Any]:
        """Let the task run on its schedule again (from now on: missed times are not owed)."""
        return self._set_disabled(database, task_id, False)

    def disable(self, database: str, task_id: str) -> dict[str, Any]:
        """Stop scheduling the task (a run going on finishes)."""
        return self._set_disabled(database, task_id, True)

    # -- running and status -------------------------------------------------------
    def status(self, database: str, task_id: str) -> dict[str, Any]:
        """The task's status JSON (state, last backups, next estimated backup, last run ...)."""
        return self.task_status(database, task_id).to_json()

    def task_status(self, database: str, task_id: str) -> TaskStatus:
        """The task's status, typed (`to_json()` is what `status` returns)."""
        self.instance.home_node(database)
        return self._status(database, self.tasks.get(database, task_id))

    def backup_now(
        self, database: str, task_id: str, *, full: bool = True, wait: bool = False
    ) -> dict[str, Any]:
        """Start a run at once; with `wait`, return when it ended (its `last_run` entry)."""
        if wait:
            return self.run_backup_now(database, task_id, full=full).to_json()
        handle = self.scheduler.backup_now(database, task_id, full=full)
        return {**handle.to_json(), "status": self.status(database, task_id)}

    def run_backup_now(self, database: str, task_id: str, *, full: bool = True) -> LastRun:
        """Back up at once and wait for the run to end; what it did."""
        return self.scheduler.backup_now(database, task_id, full=full).outcome()

    def drill_now(self, database: str, task_id: str, *, wait: bool = False) -> dict[str, Any]:
        """Queue a restore drill of the newest chain; with `wait`, its `last_drill` entry."""
        if wait:
            return self.run_drill_now(database, task_id).to_json()
        handle = self.scheduler.drill_now(database, task_id)
        return {**handle.to_json(), "status": self.status(database, task_id)}

    def run_drill_now(self, database: str, task_id: str) -> DrillOutcome:
        """Drill the newest chain and wait for the drill to end; what it found."""
        return self.scheduler.drill_now(database, task_id).outcome()

    def history(self, database: str, task_id: str) -> builtins.list[dict[str, Any]]:
        """The last runs, newest first, as JSON."""
        return [run.to_json() for run in self.runs(database, task_id)]

    def runs(self, database: str, task_id: str) -> builtins.list[LastRun]:
        """The last runs, newest first."""
        self.tasks.get(database, task_id)
        return self.statuses.history(database, task_id)

    def all_statuses(self) -> builtins.list[tuple[str, BackupTask, TaskStatus, StatusRecord]]:
        """(database, task, status, record) of every task of every database, for metrics."""
        out = []
        for database in self.instance.database_names():
            for task in self.tasks.list(database):
                record = self._record(database, task)
                out.append((database, task, self._render(database, task, record), record))
        return out

    # -- internals ------------------------------------------------------------------
    def _check_preferred_node(self, database: str, task: BackupTask) -> None:
        """In a cluster, a preferred node must be one of the database's group."""
        members = self.instance.group_members(database)
        if members is not None and task.preferred_node and task.preferred_node not in members:
            raise InvalidInput(
                f"preferred node {task.preferred_node!r} does not hold database {database!r}; "
                f"its group is {', '.join(members)}",
                field="preferred_node",
            )

    def _status(self, database: str, task: BackupTask) -> TaskStatus:
        return self._render(database, task, self._record(database, task))

    def _record(self, database: str, task: BackupTask) -> StatusRecord:
        record = self.statuses.get(database, task.id)
        if record is None:  # a task stored by an older version: start its schedule now
            record = self.statuses.ensure(database, StatusRecord.fresh(task.id, self.clock.now()))
        return record

    def _render(self, database: str, task: BackupTask, record: StatusRecord) -> TaskStatus:
        responsible, reason = self.scheduler.responsibility(task, database)
        return render(
            task,
            record,
            node=self.scheduler.node_tag,
            responsible=responsible,
            reason=reason,
            now=self.clock.now(),
        )

    def _set_disabled(self, database: str, task_id: str, disabled: bool) -> dict[str, Any]:
        old = self.tasks.get(database, task_id)
        self._save_changed(database, old, old.model_copy(update={"disabled": disabled}))
        return self.status(database, task_id)

    def _save_changed(self, database: str, old: BackupTask, new: BackupTask) -> None:
        now = self.clock.now()
        restart = any(getattr(old, f) != getattr(new, f) for f in _SCHEDULE_FIELDS)
        new_chain = any(getattr(old, f) != getattr(new, f) for f in _CHAIN_FIELDS)
        new_drill = old.drill != new.drill or old.timezone != new.timezone

        def change(record: StatusRecord) -> None:
            if restart:
                record.restart_schedule(now)
            if new_chain:
                record.reset_chain()
            if new_drill or restart:
                record.drill_anchor = now.isoformat()  # drill fire times before now are not owed

        self.tasks.put(database, new)
        if self.statuses.update(database, new.id, change) is None:
            self.statuses.ensure(database, StatusRecord.fresh(new.id, now))
        self.scheduler.notify()

    def _new_id(self, database: str) -> str:
        while True:
            task_id = f"t-{secrets.token_hex(2)}"
            if not self.tasks.exists(database, task_id):
                return task_id

    def _unique_name(self, database: str, task: BackupTask, own_id: str | None) -> str:
        taken = {t.name.lower() for t in self.tasks.list(database) if t.id != own_id}
        if task.name:
            if task.name.lower() in taken:
                raise InvalidInput(
                    f"database {database!r} already has a backup task named {task.name!r}",
                    field="name",
                )
            return task.name
        base = generated_name(task)
        name, n = base, 2
        while name.lower() in taken:
            name, n = f"{base} #{n}", n + 1
        return name


def _with_stored_secrets(stored: Sequence[DestinationConfig], payload: object) -> dict[str, Any]:
    """The payload, its destinations checked as new input, with masked secrets filled in."""
    # A client that edits what GET returned sends the masks back: they stand for the
    # stored value, but only where the secret would still be sent to the same place.
    if not isinstance(payload, dict):
        raise InvalidInput("a backup task is a JSON object", field="task")
    destinations = payload.get("destinations")
    if not isinstance(destinations, list):
        return payload  # parse_task names what is wrong with it
    merged = [
        with_stored_secrets(stored, index, config) if isinstance(config, dict) else config
        for index, config in enumerate(destinations)
    ]
    return {**payload, "destinations": merged}


def with_stored_secrets(
    stored: Sequence[DestinationConfig], index: int, config: dict[str, Any]
) -> dict[str, Any]:
    """Destination `index` of an edited task, checked as new input, its masked secrets
    filled from the stored destination that still points to the same place (else
    InvalidInput naming the secret to enter again). Saving a task and testing one of its
    destinations both go through this."""
    given = _new_destination(index, config)
    masked = sorted(k for k in SECRET_FIELDS if config.get(k) == MASK)
    if not masked:
        return config
    revealed = reveal(_stored_match(stored, index, given, masked))
    return {**config, **{k: revealed[k] for k in masked}}


def _new_destination(index: int, config: dict[str, Any]) -> DestinationConfig:
    try:
        return parse_config(config, as_input=True)
    except InvalidInput as exc:
        field = f"destinations.{index}" + (f".{exc.field}" if exc.field else "")
        raise InvalidInput(f"destinations[{index}]: {exc.message}", field=field) from None


def _stored_match(
    stored: Sequence[DestinationConfig], index: int, given: DestinationConfig, masked: list[str]
) -> DestinationConfig:
    """The stored destination whose secrets the masks may stand for, or InvalidInput why not."""
    # The same position first; then any other with the same place, so that removing
    # or reordering destinations keeps their secrets too.
    order = ([index] if index < len(stored) else []) + [i for i in range(len(stored)) if i != index]
    for i in order:
        candidate = stored[i]
        values = reveal(candidate)
        if secret_scope_change(candidate, given) is None and all(values.get(k) for k in masked):
            return candidate
    field = masked[0]
    if index >= len(stored):
        reason = "there is no stored secret for a new destination"
    else:
        changed = secret_scope_change(stored[index], given)
        if changed == "kind":
            reason = "the destination kind changed"
        elif changed is not None:
            reason = f"the {changed} changed"
        else:
            field = next(k for k in masked if not reveal(stored[index]).get(k))
            reason = "no secret is stored for it"
    raise InvalidInput(
        f"destinations[{index}].{field}: {reason}; enter the secret again "
        f"({MASK} stands for a stored secret)",
        field=f"destinations.{index}.{field}",
    )


def _encryption_key(old: BackupTask, payload: dict[str, Any]) -> str | None:
    # Write-only: absent or null keeps the stored key, "" removes it.
    given = payload.get("encryption_key")
    if given is None:
        return old.encryption_key
    return given or None
