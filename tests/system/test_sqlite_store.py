"""The SQLite system store (one file in the data dir) under the system store contract."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rookdb.system import SqliteSystemStore, SystemStore

from .contract import OpenStore, SystemStoreContract


class TestSqliteSystemStore(SystemStoreContract):
    @pytest.fixture
    def open_store(self, tmp_path: Path) -> Iterator[OpenStore]:
        # Each client its own connection to one file, as two processes on one data dir.
        opened: list[SystemStore] = []

        def open_one() -> SystemStore:
            opened.append(SqliteSystemStore(tmp_path / "system.sqlite"))
            return opened[-1]

        yield open_one
        for store in opened:
            store.close()
