"""Which node runs each backup task of a cluster, and why: recorded in the cluster state.

The observer (one node, elected under an etcd lease) decides with
`rookdb.tasks.placement.choose_responsible` and writes the answer here; every
node reads it, runs only what is assigned to it, and keeps running it from its
last known copy while etcd has no quorum.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rookdb.system.store import SystemStore

ASSIGNMENTS_NAMESPACE = "task-assignments"


@dataclass(frozen=True)
class Assignment:
    node: str
    reason: str
    since: str

    def to_json(self) -> dict[str, Any]:
        return {"node": self.node, "reason": self.reason, "since": self.since}


class Assignments:
    """The assignment of every task, by database and task id."""

    def __init__(self, system: SystemStore) -> None:
        self._system = system

    def get(self, database: str, task_id: str) -> Assignment | None:
        entry = self._system.get(ASSIGNMENTS_NAMESPACE, _key(database, task_id))
        if entry is None:
            return None
        value = entry.value
        return Assignment(
            str(value["node"]), str(value.get("reason", "")), str(value.get("since", ""))
        )

    def set(self, database: str, task_id: str, assignment: Assignment) -> None:
        self._system.put(ASSIGNMENTS_NAMESPACE, _key(database, task_id), assignment.to_json())


def _key(database: str, task_id: str) -> str:
    return f"{database.lower()}/{task_id}"
