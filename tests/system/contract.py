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

from rookdb.errors import ConcurrencyConflict, Conflict, NotFound
from rookdb.system import SystemStore
from rookdb.system.store import DatabaseRecord, Write
from rookdb.tasks import lease
from rookdb.tasks.records import (
    Attempt,
    DestinationOutcome,
    DrillMarker,
    DrillOutcome,
    LastRun,
    Progress,
    RetentionOutcome,
    RunMarker,
    VerifiedPoint,
)
from rookdb.tasks.status import (
    HISTORY_LENGTH,
    STATUS_NAMESPACE,
    STATUS_SCHEMA,
    StatusRecord,
    StatusStore,
    status_key,
)

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

    def test_a_database_record_changes_only_from_what_the_writer_read(
        self, store: SystemStore
    ) -> None:
        first = DatabaseRecord("Shop", "2026-11-30T00:00:00Z", "shop.rookdb", {"nodes": ["A"]})
        store.add_database(first)
        grown = DatabaseRecord(first.name, first.created_at, first.file, {"nodes": ["A", "B"]})
        store.replace_database(first, grown)
        assert store.get_database("shop") == grown
        with pytest.raises(ConcurrencyConflict):  # a writer that read the old record loses
            store.replace_database(first, DatabaseRecord("Shop", "x", "y", {"nodes": ["C"]}))
        assert store.get_database("shop") == grown
        store.remove_database("shop")
        with pytest.raises(NotFound):
            store.replace_database(grown, first)

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
            statuses.add_history(
                "shop", "t-1", LastRun("full", "2026-11-30T12:00:00Z", documents=n)
            )
        runs = statuses.history("shop", "t-1")
        assert len(runs) == HISTORY_LENGTH and runs[0].documents == HISTORY_LENGTH + 4
        store.commit(statuses.removal("shop", "t-1"))
        assert statuses.history("shop", "t-1") == []

    def test_a_typed_record_reads_back_as_written(self, open_store: OpenStore) -> None:
        first, second = StatusStore(open_store()), StatusStore(open_store())
        record = busy_record()
        first.ensure("shop", record)
        assert second.get("shop", "t-1") == record

    def test_records_written_before_types_still_read(self, store: SystemStore) -> None:
        # As rookdb wrote them with dicts: no schema, a marker without a lease, an
        # empty progress, a last_run without node or file, retention as lists.
        store.put(STATUS_NAMESPACE, status_key("shop", "t-1"), OLD_RECORD)
        record = StatusStore(store).get("shop", "t-1")
        assert record is not None and record.last_etag == 12 and record.runs == 3
        assert record.running == RunMarker("incremental", "2026-11-30T11:00:00Z")
        assert not lease.is_live(record.running)  # no lease: never a live run
        assert record.last_run == LastRun(
            "full",
            "2026-11-30T10:00:00Z",
            type="backup",
            duration_ms=812,
            size_bytes=1024,
            documents=3,
            retention=(RetentionOutcome("Local (/b)", ("old",)),),
        )
        assert record.destinations == (DestinationOutcome("local", "Local (/b)", "done"),)
        assert record.last_attempt == Attempt("2026-11-30T10:00:00+00:00", "full")
        assert record.drilling == DrillMarker("2026-11-30T11:30:00Z", "cron")
        assert record.last_drill == DrillOutcome(
            "2026-11-30T09:00:00Z", "after_full", passed=False, error="boom"
        )
        assert record.last_verified_restorable is None

    def test_a_record_of_a_newer_layout_is_never_overwritten(self, store: SystemStore) -> None:
        statuses = StatusStore(store)
        key = status_key("shop", "t-1")
        newer = {**busy_record().to_json(), "schema": STATUS_SCHEMA + 1, "future": {"x": 1}}
        store.put(STATUS_NAMESPACE, key, newer)
        assert statuses.get("shop", "t-1") is not None  # read, tolerantly
        with pytest.raises(Conflict, match="newer rookdb"):
            statuses.update("shop", "t-1", lambda r: setattr(r, "runs", 0))
        entry = store.get(STATUS_NAMESPACE, key)
        assert entry is not None and entry.value == newer


OLD_RECORD = {
    "task_id": "t-1",
    "since": "2026-11-30T00:00:00+00:00",
    "full_anchor": "2026-11-30T00:00:00+00:00",
    "incremental_anchor": "2026-11-30T00:00:00+00:00",
    "last_etag": 12,
    "runs": 3,
    "running": {"kind": "incremental", "started_at": "2026-11-30T11:00:00Z", "progress": {}},
    "last_attempt": {"at": "2026-11-30T10:00:00+00:00", "kind": "full"},
    "last_run": {
        "kind": "full",
        "type": "backup",
        "started_at": "2026-11-30T10:00:00Z",
        "duration_ms": 812,
        "size_bytes": 1024,
        "documents": 3,
        "error": None,
        "skipped": False,
        "retention": [{"destination": "Local (/b)", "deleted_folders": ["old"], "error": None}],
    },
    "destinations": [
        {"kind": "local", "name": "Local (/b)", "state": "done", "error": None, "at": None}
    ],
    "drilling": {"requested_at": "2026-11-30T11:30:00Z", "trigger": "cron"},
    "last_drill": {
        "at": "2026-11-30T09:00:00Z",
        "trigger": "after_full",
        "passed": False,
        "error": "boom",
        "skipped": False,
    },
    "some_field_nobody_reads": True,
}


def busy_record() -> StatusRecord:
    """A record with every typed part filled in."""
    record = StatusRecord.fresh("t-1", NOW)
    record.running = RunMarker(
        "incremental", "2026-11-30T12:00:00Z", Progress.of(5, 10), lease.claim("A")
    )
    record.last_attempt = Attempt("2026-11-30T11:00:00+00:00", "full")
    record.last_run = LastRun(
        "full",
        "2026-11-30T11:00:00Z",
        type="snapshot",
        duration_ms=5,
        size_bytes=100,
        documents=2,
        manual=True,
        node="A",
        file="run/f.rookdb-snapshot",
        last_etag=9,
        retention=(RetentionOutcome("Local (/b)", ("a", "b")), RetentionOutcome(None, (), "E")),
        cleaned_up=("run/x.in-progress",),
    )
    record.destinations = (
        DestinationOutcome("local", "Local (/b)", "done", None, "2026-11-30T11:00:01Z"),
        DestinationOutcome("s3", "S3 (b)", "failed", "denied", None),
    )
    record.drilling = DrillMarker("2026-11-30T12:00:00Z", "manual", lease.claim("B"))
    record.last_drill = DrillOutcome(
        "2026-11-30T10:00:00Z",
        "cron",
        passed=True,
        destination="Local (/b)",
        run_folder="run",
        file="f",
        seconds=1.5,
        restore_seconds=1.0,
        check_seconds=0.5,
        cpu_seconds=0.25,
        bytes_read=10,
        bytes_downloaded=10,
        documents=2,
        last_etag=9,
    )
    record.last_verified_restorable = VerifiedPoint("2026-11-30T10:00:00Z", "run", "f")
    record.restore_time_seconds = 1.0
    return record
