"""The server-level system store: database records, task definitions, task status."""

from typing import TYPE_CHECKING

from rookdb.lazy_exports import lazy_exports

__all__ = ["DatabaseRecord", "Entry", "SqliteSystemStore", "SystemStore"]

if TYPE_CHECKING:
    from rookdb.system.sqlite import SqliteSystemStore
    from rookdb.system.store import DatabaseRecord, Entry, SystemStore
else:
    __getattr__ = lazy_exports(
        __name__,
        {"sqlite": ["SqliteSystemStore"], "store": ["DatabaseRecord", "Entry", "SystemStore"]},
    )
