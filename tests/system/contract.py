"""The system store contract: every store (SQLite today, etcd in a cluster) runs this suite.

A backend's test module subclasses `SystemStoreContract` and provides the
`open_store` fixture: a function giving a *new client* of one shared store each
time it is called (two clients stand for two processes, or two nodes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from rookdb.errors import ConcurrencyConflict
from rookdb.system import SystemStore
from rookdb.system.store import Write
from rookdb.tasks.status import HISTORY_LENGTH, StatusRecord, StatusStore

OpenStore = Callable[[], SystemStore]
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


class SystemStoreContract:
    """What every system store must do; subclasses give `open_store`."""

    @pytest.fixture
    def store(self, open_store: OpenStore) -> SystemStore:
        return open_store()

    def test_versions_grow_by_one_and_compare_and_set_checks_them(self, store: SystemStore) -> None:
        assert store.put("ns", "a", {"n": 1}, expected_version=0) == 1
        assert store.put("ns", "a", {"n": 2}, expected_version=1) == 2
        with pytest.raises(ConcurrencyConflict):
            store.put("ns", "a", {"n": 3}, expected_version=1)
        with pytest.raises(ConcurrencyConflict):
            store.put("ns", "a", {"n": 3}, expected_version=0)  # 0: must not exist yet
        entry = store.get("ns", "a")
        assert entry is not None and entry.value == {"n": 2} and entry.version == 2

    def test_a_commit_applies_every_write_or_none(self, store: SystemStore) -> None:
        store.put("ns", "taken", {"n": 0})
        with pytest.raises(ConcurrencyConflict):
            store.commit(
                [Write("ns", "new", {"n": 1}, expected_version=0), Write("ns", "taken", {}, 0)]
            )
        assert store.get("ns", "new") is None
        store.commit([Write("ns", "new", {"n": 1}, 0), Write("ns", "taken", None)])
        assert store.get("ns", "new") is not None and store.get("ns", "taken") is None

    def test_list_by_prefix_in_key_order(self, store: SystemStore) -> None:
        for key in ("shop/t-2", "shop/t-1", "shoppe/t-3", "other/t-4"):
            store.put("ns", key, {"key": key})
        assert [e.key for e in store.list("ns", "shop/")] == ["shop/t-1", "shop/t-2"]
        assert store.delete("ns", "shop/t-1") and not store.delete("ns", "shop/t-1")

    def test_two_clients_lose_no_status_update(self, open_store: OpenStore) -> None:
        first, second = StatusStore(open_store()), StatusStore(open_store())
        first.ensure("shop", StatusRecord.fresh("t-1", NOW))
        rounds = 60

        def bump(statuses: StatusStore) -> None:
            for _ in range(rounds):
                statuses.update("shop", "t-1", lambda r: setattr(r, "runs", r.runs + 1))

        threads = [threading.Thread(target=bump, args=(s,)) for s in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        record = first.get("shop", "t-1")
        assert record is not None and record.runs == 2 * rounds

    def test_status_of_a_missing_task_is_not_created_by_an_update(self, store: SystemStore) -> None:
        statuses = StatusStore(store)
        assert statuses.update("shop", "t-9", lambda r: setattr(r, "runs", 1)) is None
        assert statuses.get("shop", "t-9") is None
        made = statuses.ensure("shop", StatusRecord.fresh("t-9", NOW))
        again = statuses.ensure("shop", StatusRecord.fresh("t-9", datetime(2030, 1, 1, tzinfo=UTC)))
        assert again.since == made.since  # the first one stays

    def test_history_is_newest_first_and_bounded(self, store: SystemStore) -> None:
        statuses = StatusStore(store)
        for n in range(HISTORY_LENGTH + 5):
            statuses.add_history("shop", "t-1", {"n": n})
        runs = statuses.history("shop", "t-1")
        assert len(runs) == HISTORY_LENGTH and runs[0] == {"n": HISTORY_LENGTH + 4}
        store.commit(statuses.removal("shop", "t-1"))
        assert statuses.history("shop", "t-1") == []
