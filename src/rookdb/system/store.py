"""The system store interface.

A small contract so that the single-node SQLite store can later be replaced
by a cluster store (etcd) without touching its callers: database records,
plus namespaced JSON entries with a version for compare-and-set (tasks,
task status, API keys ...).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class DatabaseRecord:
    name: str
    created_at: str
    file: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def nodes(self) -> list[str]:
        """The nodes holding the database in a cluster (empty on a single node)."""
        return [str(tag) for tag in self.settings.get("nodes", [])]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "created_at": self.created_at,
            "file": self.file,
            "settings": self.settings,
        }


@dataclass(frozen=True, slots=True)
class Entry:
    """A namespaced JSON value and its version (grows by one on every write)."""

    namespace: str
    key: str
    value: dict[str, Any]
    version: int


@dataclass(frozen=True, slots=True)
class Write:
    """One write of a transaction: put `value` (None deletes), when `expected_version` matches.

    `expected_version` None writes whatever is there; 0 means "must not exist yet".
    """

    namespace: str
    key: str
    value: dict[str, Any] | None
    expected_version: int | None = None


class SystemStore(ABC):
    """Where a server keeps what is not inside a database."""

    @abstractmethod
    def add_database(self, record: DatabaseRecord) -> None:
        """Register a database; AlreadyExists when the name (any case) is taken."""

    @abstractmethod
    def get_database(self, name: str) -> DatabaseRecord | None: ...

    @abstractmethod
    def list_databases(self) -> list[DatabaseRecord]: ...

    @abstractmethod
    def remove_database(self, name: str) -> bool: ...

    @abstractmethod
    def replace_database(self, expected: DatabaseRecord, new: DatabaseRecord) -> None:
        """Compare-and-set a record's settings (its group of nodes changed).

        ConcurrencyConflict when the stored record is no longer `expected`,
        NotFound when it is gone. The name, creation time and file never change.
        """

    @abstractmethod
    def put(
        self,
        namespace: str,
        key: str,
        value: dict[str, Any],
        *,
        expected_version: int | None = None,
    ) -> int:
        """Store a value; with expected_version (0: must not exist) it is a compare-and-set.

        Returns the new version; raises ConcurrencyConflict when the version differs.
        """

    @abstractmethod
    def commit(self, writes: Sequence[Write]) -> None:
        """Apply every write or none (ConcurrencyConflict when a version differs).

        A task and its status are created and deleted together through this, so
        a crash or a conflict never leaves one without the other.
        """

    @abstractmethod
    def get(self, namespace: str, key: str) -> Entry | None: ...

    @abstractmethod
    def list(self, namespace: str, prefix: str = "") -> list[Entry]: ...

    @abstractmethod
    def delete(self, namespace: str, key: str) -> bool: ...

    @abstractmethod
    def close(self) -> None: ...
