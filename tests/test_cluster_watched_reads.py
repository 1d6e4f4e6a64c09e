"""A member answers repeated reads of the cluster state from memory, and never an old answer.

Real etcd; two members of one cluster (in this process): what one writes, the
other sees within a moment (its watch drops the kept answer); what a member
writes itself it sees at once; while its watch is down it asks etcd each time.
"""

from __future__ import annotations

from cluster_processes import wait_until
from rookdb.cluster.member import ClusterMember
from rookdb.system.store import DatabaseRecord

NAMESPACE = "backup-tasks"


def test_another_members_write_replaces_the_kept_answer(
    members_ab: tuple[ClusterMember, ClusterMember],
) -> None:
    a, b = members_ab
    a.store.put(NAMESPACE, "t1", {"v": 1})
    assert b.store.get(NAMESPACE, "t1").value == {"v": 1}  # type: ignore[union-attr]
    hits = b.store.reads.hits
    assert b.store.get(NAMESPACE, "t1").value == {"v": 1}  # type: ignore[union-attr]
    assert b.store.reads.hits == hits + 1, "the second read is answered from memory"

    a.store.put(NAMESPACE, "t1", {"v": 2})
    wait_until(
        lambda: b.store.get(NAMESPACE, "t1").value == {"v": 2},  # type: ignore[union-attr]
        5,
        "B sees A's change",
    )
    assert [e.value for e in b.store.list(NAMESPACE)] == [{"v": 2}]


def test_a_members_own_write_is_seen_at_once(
    members_ab: tuple[ClusterMember, ClusterMember],
) -> None:
    a, _ = members_ab
    assert a.store.get(NAMESPACE, "t2") is None
    assert a.store.get(NAMESPACE, "t2") is None  # kept: "not there"
    a.store.put(NAMESPACE, "t2", {"v": 1})
    assert a.store.get(NAMESPACE, "t2").value == {"v": 1}  # type: ignore[union-attr]

    record = DatabaseRecord("shop", "2026-01-01T00:00:00Z", "shop.sqlite", {})
    assert a.store.list_databases() == []
    a.store.add_database(record)
    assert [r.name for r in a.store.list_databases()] == ["shop"]
    a.store.remove_database("shop")
    assert a.store.get_database("shop") is None


def test_a_kept_answer_is_a_copy_the_caller_may_change(
    members_ab: tuple[ClusterMember, ClusterMember],
) -> None:
    a, _ = members_ab
    a.store.put(NAMESPACE, "t3", {"list": [1]})
    first = a.store.get(NAMESPACE, "t3")
    assert first is not None
    first.value["list"].append(2)
    assert a.store.get(NAMESPACE, "t3").value == {"list": [1]}  # type: ignore[union-attr]


def test_without_its_watch_a_member_asks_etcd_every_time(
    members_ab: tuple[ClusterMember, ClusterMember],
) -> None:
    a, b = members_ab
    b.store.reads.set_in_sync(False)  # as when the watch stream breaks
    a.store.put(NAMESPACE, "t4", {"v": 1})
    assert b.store.get(NAMESPACE, "t4").value == {"v": 1}  # type: ignore[union-attr]
    misses = b.store.reads.misses
    a.store.put(NAMESPACE, "t4", {"v": 2})
    # No waiting: nothing was kept, so the very next read is etcd's answer.
    assert b.store.get(NAMESPACE, "t4").value == {"v": 2}  # type: ignore[union-attr]
    assert b.store.reads.misses == misses + 1


def test_a_node_going_down_is_seen_by_the_others(
    members_ab: tuple[ClusterMember, ClusterMember],
) -> None:
    a, b = members_ab
    assert a.node_url("B") is not None
    b.registry.leave()
    wait_until(lambda: a.node_url("B") is None, 5, "A sees B leave")
