"""Kept answers of the cluster state: dropped on a change, a broken watch, or old age."""

from __future__ import annotations

from rookdb.system.watched_reads import WatchedReads


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Source:
    """What etcd would answer, and how often it was asked."""

    def __init__(self) -> None:
        self.value = {"v": 1}
        self.asked = 0

    def __call__(self) -> dict[str, int]:
        self.asked += 1
        return dict(self.value)


def test_an_answer_is_kept_while_in_sync_and_dropped_when_its_namespace_changes() -> None:
    reads, source = WatchedReads(), Source()
    assert reads.read("tasks", "k", source) == {"v": 1}  # not in sync yet: asked, not kept
    reads.set_in_sync(True)
    reads.read("tasks", "k", source)
    reads.read("tasks", "k", source)
    assert source.asked == 2
    source.value = {"v": 2}
    reads.changed(["other"])
    assert reads.read("tasks", "k", source) == {"v": 1}, "another namespace changed"
    reads.changed(["tasks"])
    assert reads.read("tasks", "k", source) == {"v": 2}
    reads.set_in_sync(False)
    source.value = {"v": 3}
    assert reads.read("tasks", "k", source) == {"v": 3}, "a broken watch keeps nothing"


def test_an_answer_older_than_its_max_age_is_asked_again() -> None:
    # A watch stream on an etcd member cut off from its quorum stays open and silent.
    clock, source = Clock(), Source()
    reads = WatchedReads(max_age=5.0, clock=clock)
    reads.set_in_sync(True)
    reads.read("tasks", "k", source)
    clock.now += 4.9
    reads.read("tasks", "k", source)
    assert source.asked == 1
    source.value = {"v": 2}
    clock.now += 0.2
    assert reads.read("tasks", "k", source) == {"v": 2} and source.asked == 2


def test_an_answer_read_while_its_namespace_changed_is_not_kept() -> None:
    reads = WatchedReads()
    reads.set_in_sync(True)
    asked = []

    def changes_meanwhile() -> dict[str, int]:
        asked.append(1)
        reads.changed(["tasks"])  # the watch reports a change while etcd answers
        return {"v": 1}

    reads.read("tasks", "k", changes_meanwhile)
    reads.read("tasks", "k", changes_meanwhile)
    assert len(asked) == 2
