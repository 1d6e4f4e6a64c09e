"""Where a task runs: one place answers it, from a topology, for backups and drills alike.

A node runs only the tasks placed on it. The rule: the task's preferred node
when it is up; otherwise a stable choice among the nodes that are up (the same
answer on every node that sees the same topology, so a task whose preferred
node is down or unknown runs on exactly one node, never on every node). On a
single node the topology is that node alone, so every task runs there. In a
cluster the observer asks `choose_responsible` (the live members of the
database's group, the node the task has now) and records the answer with its
reason (`rookdb.tasks.assignments`); this module stays the one that decides.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from rookdb.tasks.model import BackupTask


@dataclass(frozen=True)
class Topology:
    """The nodes as this node sees them: itself, and which are up."""

    this_node: str
    up: frozenset[str]

    @classmethod
    def single(cls, node: str) -> Topology:
        """A node without a cluster: it alone, and up."""
        return cls(node, frozenset({node}))

    @classmethod
    def of(cls, node: str, up: set[str] | frozenset[str]) -> Topology:
        return cls(node, frozenset(up) | {node})


@dataclass(frozen=True)
class Placement:
    """The node responsible for a task, and why."""

    node: str
    reason: str  # "preferred node" | "preferred node down" | "balanced"


def place(task: BackupTask, topology: Topology) -> Placement:
    """The responsible node of `task` under `topology`."""
    if task.preferred_node and task.preferred_node in topology.up:
        return Placement(task.preferred_node, "preferred node")
    reason = "preferred node down" if task.preferred_node else "balanced"
    return Placement(_stable_choice(task.id, topology.up), reason)


def runs_here(task: BackupTask, topology: Topology) -> bool:
    """True when this node runs `task` (an enabled task placed on it)."""
    return not task.disabled and place(task, topology).node == topology.this_node


def _stable_choice(task_id: str, nodes: frozenset[str]) -> str:
    # Rendezvous hashing: each node scores the task, the highest wins. The same on
    # every node, and a node going down moves only the tasks it held.
    def score(node: str) -> bytes:
        return hashlib.sha256(f"{node}/{task_id}".encode()).digest()

    return max(sorted(nodes), key=score)


def choose_responsible(
    task: BackupTask,
    members: tuple[str, ...],
    up: frozenset[str],
    current: str | None,
    *,
    running: bool,
) -> tuple[str, str] | None:
    """In a cluster: the (node, reason) a task should move to now, or None to leave it.

    The preferred node when it is a live member of the database's group (taken
    back only between runs); else the node it has while that one stays a live
    member (a task does not flap); else a stable choice among the live members.
    None as well when no member is live: nobody could run it.
    """
    live = frozenset(m for m in members if m in up)
    if not live:
        return None
    preferred = task.preferred_node
    if preferred and preferred in live:
        if current == preferred or (running and current in live):
            return None
        return preferred, "preferred node"
    if current in live:
        return None
    if preferred:
        reason = "preferred node down" if preferred in members else "preferred node not in group"
    elif current is None:
        reason = "balanced"
    else:
        # The group shrinking under a task moves it as a node dying does.
        reason = "previous node down" if current in members else "previous node left the group"
    return _stable_choice(task.id, live), reason
