"""The server-level system store: database records, task definitions, task status."""

from rookdb.system.sqlite import SqliteSystemStore
from rookdb.system.store import DatabaseRecord, Entry, SystemStore

__all__ = ["DatabaseRecord", "Entry", "SqliteSystemStore", "SystemStore"]
