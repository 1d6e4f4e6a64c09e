"""Two observers for a moment: etcd refuses the changes of the one that lost the role.

The observer places tasks and changes write nodes; it holds the role under its
node's lease. During an etcd blip (or a pause past its lease) another node
takes the role while the first still believes it has it. Its changes are made
inside `as_observer()`, which makes etcd compare, in the same transaction, that
the observer key is still under its lease: the stale observer's change is
refused (`FencedOut`) and nothing of it is written, while the new observer's
changes go through. Real etcd; the members are in this process.
"""

from __future__ import annotations

import pytest

from rookdb.cluster.member import ClusterMember
from rookdb.errors import FencedOut
from rookdb.system.etcd import b64
from rookdb.system.store import DatabaseRecord, Write
from rookdb.tasks.assignments import ASSIGNMENTS_NAMESPACE

PLACEMENT = "shop/task-1"


def take_the_role_from(old: ClusterMember, new: ClusterMember) -> None:
    """What a lease running out does to the observer key, then the next node claiming it."""
    old.client.post("kv/deleterange", {"key": b64(f"/rookdb/{old.options.name}/observer")})
    assert new.registry.claim_observer()
    assert old.registry.observer() == new.tag


def test_the_observers_changes_go_through_while_it_holds_the_role(
    members_ab: tuple[ClusterMember, ClusterMember],
) -> None:
    a, _ = members_ab
    assert a.registry.claim_observer()
    with a.as_observer():
        a.store.put(ASSIGNMENTS_NAMESPACE, PLACEMENT, {"node": "A", "reason": "balanced"})
        a.store.commit([Write(ASSIGNMENTS_NAMESPACE, "shop/task-2", {"node": "A"})])
        a.store.add_database(DatabaseRecord("shop", "2026-11-30T00:00:00Z", "shop.sqlite", {}))
        assert a.store.delete(ASSIGNMENTS_NAMESPACE, "shop/task-2")
    assert a.store.get(ASSIGNMENTS_NAMESPACE, PLACEMENT).value["node"] == "A"  # type: ignore[union-attr]


def test_a_stale_observer_cannot_change_anything_once_another_node_holds_the_role(
    members_ab: tuple[ClusterMember, ClusterMember],
) -> None:
    a, b = members_ab
    assert a.registry.claim_observer()
    a.store.put(ASSIGNMENTS_NAMESPACE, PLACEMENT, {"node": "A", "reason": "balanced"})
    record = DatabaseRecord("shop", "2026-11-30T00:00:00Z", "shop.sqlite", {"nodes": ["A"]})
    a.store.add_database(record)

    with a.as_observer():  # A decided as observer ...
        take_the_role_from(a, b)  # ... and lost the role before it wrote
        with pytest.raises(FencedOut, match="no longer the cluster's observer"):
            a.store.put(ASSIGNMENTS_NAMESPACE, PLACEMENT, {"node": "C", "reason": "stale"})
        with pytest.raises(FencedOut):
            a.store.replace_database(
                record, DatabaseRecord(record.name, record.created_at, record.file, {})
            )
        with pytest.raises(FencedOut):
            a.store.delete(ASSIGNMENTS_NAMESPACE, PLACEMENT)

    assert b.store.get(ASSIGNMENTS_NAMESPACE, PLACEMENT).value["node"] == "A"  # type: ignore[union-attr]
    assert b.store.get_database("shop") == record
    with b.as_observer():  # the new observer's changes go through
        b.store.put(ASSIGNMENTS_NAMESPACE, PLACEMENT, {"node": "B", "reason": "balanced"})
    assert a.store.get(ASSIGNMENTS_NAMESPACE, PLACEMENT) is not None
    assert b.store.get(ASSIGNMENTS_NAMESPACE, PLACEMENT).value["node"] == "B"  # type: ignore[union-attr]


def test_a_change_refused_for_its_own_compare_is_not_taken_for_a_lost_role(
    members_ab: tuple[ClusterMember, ClusterMember],
) -> None:
    a, _ = members_ab
    assert a.registry.claim_observer()
    a.store.put(ASSIGNMENTS_NAMESPACE, PLACEMENT, {"node": "A"})
    with a.as_observer():
        with pytest.raises(Exception) as refused:
            a.store.put(ASSIGNMENTS_NAMESPACE, PLACEMENT, {"node": "B"}, expected_version=99)
        assert not isinstance(refused.value, FencedOut)
        assert "changed meanwhile" in str(refused.value)
