"""Where a task runs: the preferred node when up, else one stable choice — never every node."""

from __future__ import annotations

from rookdb.tasks.model import BackupTask, parse_task
from rookdb.tasks.placement import Topology, choose_responsible, place, runs_here


def task(task_id: str, preferred: str | None = None, disabled: bool = False) -> BackupTask:
    parsed = parse_task(
        {
            "full_backup_cron": "0 2 * * *",
            "preferred_node": preferred,
            "disabled": disabled,
            "destinations": [{"kind": "local", "path": "/backups"}],
        }
    )
    return parsed.model_copy(update={"id": task_id})


def test_the_preferred_node_runs_the_task_while_it_is_up() -> None:
    up = {"A", "B", "C"}
    placed = place(task("t-1", "B"), Topology.of("A", up))
    assert (placed.node, placed.reason) == ("B", "preferred node")
    assert [runs_here(task("t-1", "B"), Topology.of(n, up)) for n in "ABC"] == [False, True, False]


def test_a_preferred_node_down_or_unknown_gives_exactly_one_node() -> None:
    up = {"A", "C"}
    for preferred in ("B", "Z"):
        views = [place(task("t-1", preferred), Topology.of(n, up)) for n in "AC"]
        assert len({v.node for v in views}) == 1  # every node sees the same answer
        assert views[0].node in up and views[0].reason == "preferred node down"
        runners = [n for n in "AC" if runs_here(task("t-1", preferred), Topology.of(n, up))]
        assert len(runners) == 1


def test_tasks_spread_and_a_node_going_down_moves_only_its_own() -> None:
    ids = [f"t-{n:03d}" for n in range(60)]
    before = {i: place(task(i), Topology.of("A", {"A", "B", "C"})).node for i in ids}
    assert set(before.values()) == {"A", "B", "C"}
    after = {i: place(task(i), Topology.of("A", {"A", "C"})).node for i in ids}
    moved = [i for i in ids if before[i] != after[i]]
    assert moved and all(before[i] == "B" for i in moved)


def test_a_single_node_runs_every_enabled_task() -> None:
    alone = Topology.single("A")
    assert runs_here(task("t-1"), alone) and runs_here(task("t-2", "B"), alone)
    assert not runs_here(task("t-3", disabled=True), alone)


def test_a_group_shrinking_under_a_task_moves_it_to_a_member_left() -> None:
    up = frozenset("ABC")
    moved = choose_responsible(task("t-1"), ("A", "C"), up, "B", running=False)
    assert moved is not None and moved[0] in ("A", "C")
    assert moved[1] == "previous node left the group"
    kept = choose_responsible(task("t-1"), ("A", "C"), up, "C", running=False)
    assert kept is None, "a task whose node stays a live member does not move"
    preferred_gone = choose_responsible(task("t-2", "B"), ("A", "C"), up, "B", running=False)
    assert preferred_gone is not None and preferred_gone[1] == "preferred node not in group"
    assert choose_responsible(task("t-1"), ("A", "C"), frozenset("B"), "B", running=False) is None
