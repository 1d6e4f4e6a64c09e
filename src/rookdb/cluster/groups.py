"""A database group: the nodes that hold one database, its write node, term and write concern.

Kept in the database's record in the cluster state (`settings`), so every node
reads the same group and a change to it (a new member, a new write node) is
one compare-and-set on that record. The *term* grows at every change of write
node: a node acting on an older term has been replaced.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from rookdb.errors import InvalidInput

WriteConcern = Literal["1", "majority"]
MAX_MEMBERS = 7


@dataclass(frozen=True)
class Group:
    """`history` holds (term, first etag written in it) for every term, oldest first."""

    members: tuple[str, ...]
    write_node: str
    term: int = 1
    write_concern: WriteConcern = "1"
    history: tuple[tuple[int, int], ...] = ((1, 1),)

    @property
    def acks_needed(self) -> int:
        """How many members (the write node included) must hold a write before it is answered."""
        return len(self.members) // 2 + 1 if self.write_concern == "majority" else 1

    def followers(self) -> tuple[str, ...]:
        return tuple(tag for tag in self.members if tag != self.write_node)

    def with_write_node(self, tag: str, first_etag: int) -> Group:
        """`tag` writes from now on, in a new term whose first etag is `first_etag`."""
        term = self.term + 1
        return replace(self, write_node=tag, term=term, history=(*self.history, (term, first_etag)))

    def term_of(self, etag: int) -> int:
        """The term in which the group's change `etag` was written (as far as it knows now)."""
        found = self.history[0][0]
        for term, first_etag in self.history:
            if first_etag <= etag:
                found = term
        return found

    def diverged_from(self, held_term: int, held_etag: int) -> int | None:
        """Where a member that holds up to `held_etag`, last written in `held_term`, parts.

        Its changes after the returned etag were written in an older term by a
        write node that was replaced before the group had them: the group's history
        goes another way from there. None when its history is a prefix of the group's.
        """
        for term, first_etag in self.history:
            if term > held_term:
                return first_etag - 1 if held_etag >= first_etag else None
        return None

    def to_settings(self) -> dict[str, Any]:
        return {
            "nodes": list(self.members),
            "write_node": self.write_node,
            "term": self.term,
            "write_concern": self.write_concern,
            "history": [list(entry) for entry in self.history],
        }

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> Group | None:
        """The group in a record's settings; None for a database of a single node."""
        members = tuple(str(tag) for tag in settings.get("nodes", []))
        if not members:
            return None
        write_node = str(settings.get("write_node") or members[0])
        concern: WriteConcern = "majority" if settings.get("write_concern") == "majority" else "1"
        history = tuple((int(t), int(e)) for t, e in settings.get("history", [[1, 1]]))
        return cls(members, write_node, int(settings.get("term", 1)), concern, history)

    def to_json(self) -> dict[str, Any]:
        return self.to_settings()


def plan_group(
    *,
    this_node: str,
    known: Collection[str],
    up: Collection[str],
    nodes: Sequence[str] | None = None,
    replication_factor: int | None = None,
    write_concern: str | None = None,
) -> Group:
    """The group of a new database, from what the user asked; InvalidInput says what is wrong.

    `nodes` names the members (the first is the write node); otherwise
    `replication_factor` live nodes are chosen, this node first (default:
    min(3, live nodes)). Write concern defaults to majority for 3 members or more.
    """
    if nodes is not None and replication_factor is not None:
        raise InvalidInput("give the nodes or a replication factor, not both", field="nodes")
    live = sorted(up)
    if nodes is not None:
        members = _check_nodes(nodes, known, up)
    else:
        factor = min(3, len(live)) if replication_factor is None else replication_factor
        if not 1 <= factor <= MAX_MEMBERS:
            raise InvalidInput(
                f"replication factor {factor}: use 1 to {MAX_MEMBERS}",
                field="replication_factor",
            )
        if factor > len(live):
            raise InvalidInput(
                f"replication factor {factor} is more than the {len(live)} live node(s) of the "
                f"cluster ({', '.join(live) or 'none'})",
                field="replication_factor",
            )
        others = [tag for tag in live if tag != this_node]
        members = tuple(([this_node] if this_node in live else []) + others)[:factor]
    if write_concern is None:
        concern: WriteConcern = "majority" if len(members) >= 3 else "1"
    elif write_concern in ("1", "majority"):
        concern = "majority" if write_concern == "majority" else "1"
    else:
        raise InvalidInput(
            f"write concern {write_concern!r}: use 1 or majority", field="write_concern"
        )
    return Group(members, members[0], 1, concern)


def _check_nodes(
    nodes: Sequence[str], known: Collection[str], up: Collection[str]
) -> tuple[str, ...]:
    members = tuple(dict.fromkeys(tag.strip() for tag in nodes if tag.strip()))
    if not members:
        raise InvalidInput("give at least one node", field="nodes")
    if len(members) > MAX_MEMBERS:
        raise InvalidInput(f"a group has at most {MAX_MEMBERS} nodes", field="nodes")
    unknown = [tag for tag in members if tag not in known]
    if unknown:
        raise InvalidInput(
            f"unknown node(s) {', '.join(unknown)}: the cluster has {', '.join(sorted(known))}",
            field="nodes",
        )
    down = [tag for tag in members if tag not in up]
    if down:
        raise InvalidInput(
            f"node(s) {', '.join(down)} are down: a new database needs live members",
            field="nodes",
        )
    return members
