"""`Instance`: a data directory holding many databases and the system store.

This is what `rookdb.open(path)` returns and what `rookdb serve` wraps; the
HTTP server, CLI and Studio all call into it.
"""

from __future__ import annotations

import os
import re
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rookdb import staging
from rookdb.cluster.groups import Group
from rookdb.durability import fsync_path
from rookdb.errors import AlreadyExists, DatabaseElsewhere, InvalidInput, NotFound
from rookdb.security.secrets import MasterKeys
from rookdb.storage import Database, DatabaseStats
from rookdb.storage.engine import utc_now_iso
from rookdb.system import DatabaseRecord, SqliteSystemStore, SystemStore

_DATABASE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
DATABASE_SUFFIX = ".rookdb"


def check_database_name(name: object) -> str:
    """A database name: letters, digits, '-' and '_', 1 to 64, starting with a letter or digit."""
    if not isinstance(name, str) or not _DATABASE_NAME.match(name):
        raise InvalidInput(
            f"database name {name!r} is not allowed: use 1-64 letters, digits, '-' or '_', "
            "starting with a letter or digit",
            field="name",
        )
    return name


@dataclass(frozen=True, slots=True)
class DatabaseInfo:
    """A database as listed: its record, its node, and its numbers when it lives here."""

    record: DatabaseRecord
    stats: DatabaseStats | None
    node: str

    def to_json(self) -> dict[str, Any]:
        numbers = self.stats.to_json() if self.stats is not None else {}
        return {
            "name": self.record.name,
            "created_at": self.record.created_at,
            "node": self.node,
            **{k: v for k, v in numbers.items() if k != "name"},
        }


class Instance:
    """A rookdb data directory: its databases and its system store.

    In a cluster (`clustered`) the system store is the cluster's, so it lists
    every database of the cluster; each record holds its group of nodes (see
    `rookdb.cluster.groups`), and only the databases this node is a member of
    are opened here (DatabaseElsewhere names the write node of any other). A
    member that is not the write node refuses local writes (NotWriteNode).
    """

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        node_tag: str = "A",
        system_store: SystemStore | None = None,
        secrets: MasterKeys | None = None,
        clustered: bool = False,
        durable: bool = True,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.node_tag = node_tag
        self.clustered = clustered
        self.durable = durable
        self.databases_dir = self.data_dir / "databases"
        self.databases_dir.mkdir(parents=True, exist_ok=True)
        self.system: SystemStore = system_store or SqliteSystemStore(
            self.data_dir / "system.sqlite"
        )
        # Seals stored secrets (task credentials, encryption keys); the key file is made lazily.
        self.secrets = secrets or MasterKeys(self.data_dir)
        self._open: dict[str, Database] = {}
        self._lock = threading.RLock()
        self._clean_staging()

    # -- databases ---------------------------------------------------------------
    def create_database(self, name: str) -> Database:
        """Create an empty database; AlreadyExists when the name is taken."""
        self.register_database(name)
        return self.database(name)

    def register_database(self, name: str, group: Group | None = None) -> DatabaseRecord:
        """Record a new, empty database (in a cluster: of `group`, else of this node alone).

        Its file is made by each member when first opened; a stale file under the
        name (of a database deleted earlier) is removed first.
        """
        check_database_name(name)
        with self._lock:
            if self.system.get_database(name) is not None:
                raise AlreadyExists(f"database {name!r} already exists")
            path = self.database_path(name)
            for stale in _sqlite_files(path):
                stale.unlink(missing_ok=True)
            record = self._new_record(name, path, group)
            self.system.add_database(record)
            return record

    def database(self, name: str) -> Database:
        """An existing database; NotFound names the database when it does not exist."""
        check_database_name(name)
        with self._lock:
            db = self._open.get(name.lower())
            if db is not None:
                return db
            record = self._local_record(name)
            db = Database(
                self.databases_dir / record.file,
                record.name,
                node_tag=self.node_tag,
                durable=self.durable,
            )
            self.follow_group(db, record)
            self._open[name.lower()] = db
            return db

    def rebuild_database(self, name: str) -> Database:
        """Empty this node's copy of a group database (it is then filled from its group).

        Only for a member whose copy went another way than the group's (its old
        changes saved aside first, see `rookdb.cluster.replication`).
        """
        with self._lock:
            record = self._local_record(name)
            db = self._open.pop(name.lower(), None)
            if db is not None:
                db.close()
            for path in _sqlite_files(self.databases_dir / record.file):
                path.unlink(missing_ok=True)
            return self.database(name)

    def replace_local_copy(self, name: str, copy: Path) -> Database:
        """Put a complete copy of a group database (from its write node) in place of this one."""
        with self._lock:
            record = self._local_record(name)
            db = self._open.pop(name.lower(), None)
            if db is not None:
                db.close()
            target = self.databases_dir / record.file
            for path in _sqlite_files(target):
                path.unlink(missing_ok=True)
            os.replace(copy, target)
            fsync_path(self.databases_dir)
            return self.database(name)

    def drop_local_copy(self, name: str) -> None:
        """Close and delete this node's copy of a database whose group it left."""
        with self._lock:
            db = self._open.pop(name.lower(), None)
            if db is not None:
                db.close()
            for path in _sqlite_files(self.database_path(name)):
                path.unlink(missing_ok=True)

    def follow_group(self, db: Database, record: DatabaseRecord) -> None:
        """Refuse local writes on a member that is not the group's write node."""
        group = Group.from_settings(record.settings)
        if group is None or group.write_node == self.node_tag:
            db.engine.read_only_reason = None
        else:
            db.engine.read_only_reason = (
                f"database {record.name!r} is written through its write node "
                f"{group.write_node}; this node ({self.node_tag}) follows it"
            )

    def has_database(self, name: str) -> bool:
        check_database_name(name)
        return self.system.get_database(name) is not None

    def list_databases(self) -> list[DatabaseInfo]:
        """Every database (of the cluster, in one), with numbers for those that live here."""
        return [
            DatabaseInfo(
                r,
                self.database(r.name).stats() if self.is_local(r) else None,
                self.home_of(r),
            )
            for r in self.system.list_databases()
        ]

    def database_names(self) -> list[str]:
        """Every database's name (of the whole cluster, in a cluster)."""
        return [r.name for r in self.system.list_databases()]

    def local_database_names(self) -> list[str]:
        """The databases this node holds (all of them on a single node)."""
        return [r.name for r in self.system.list_databases() if self.is_local(r)]

    def home_node(self, name: str) -> str:
        """The tag of the node that holds a database; NotFound when there is none."""
        check_database_name(name)
        record = self.system.get_database(name)
        if record is None:
            raise NotFound(f"database {name!r} does not exist")
        return self.home_of(record)

    def group_members(self, name: str) -> tuple[str, ...] | None:
        """The nodes that hold a database in a cluster (None on a single node)."""
        group = self._group_of(name)
        return group.members if group is not None else None

    def term_of_etag(self, name: str, etag: int) -> int | None:
        """The group term in which `etag` was written (None on a single node).

        A backup chain remembers it: if the group's history later says another term
        wrote that etag, the chain's last changes were rolled back (they were on a
        write node replaced before the others had them).
        """
        try:
            group = self._group_of(name)
        except NotFound:
            return None
        return group.term_of(etag) if group is not None else None

    def chain_rolled_back(self, name: str, term: int, etag: int) -> bool:
        """Whether the group's history no longer holds `etag` as written in `term`."""
        try:
            group = self._group_of(name)
        except NotFound:
            return False
        return group is not None and group.diverged_from(term, etag) is not None

    def _group_of(self, name: str) -> Group | None:
        """The database's group (None on a single node); NotFound when there is no database."""
        record = self.system.get_database(name)
        if record is None:
            raise NotFound(f"database {name!r} does not exist")
        return Group.from_settings(record.settings)

    def home_of(self, record: DatabaseRecord) -> str:
        """The node that takes a database's writes (its write node in a group)."""
        group = Group.from_settings(record.settings)
        return group.write_node if group is not None else self.node_tag

    def is_local(self, record: DatabaseRecord) -> bool:
        return not record.nodes or self.node_tag in record.nodes

    def delete_database(self, name: str) -> None:
        check_database_name(name)
        with self._lock:
            record = self._local_record(name)
            db = self._open.pop(name.lower(), None)
            if db is not None:
                db.close()
            self.system.remove_database(name)
            for path in _sqlite_files(self.databases_dir / record.file):
                path.unlink(missing_ok=True)

    def _local_record(self, name: str) -> DatabaseRecord:
        record = self.system.get_database(name)
        if record is None:
            raise NotFound(f"database {name!r} does not exist")
        if not self.is_local(record):
            raise DatabaseElsewhere(
                f"database {name!r} lives on node {self.home_of(record)}, not on this node "
                f"({self.node_tag}): send the request there"
            )
        return record

    def _new_record(self, name: str, path: Path, group: Group | None) -> DatabaseRecord:
        # In a cluster the record names its group (by default this node alone).
        if group is None and self.clustered:
            group = Group((self.node_tag,), self.node_tag)
        settings: dict[str, Any] = group.to_settings() if group is not None else {}
        return DatabaseRecord(name, utc_now_iso(), path.name, settings)

    def database_path(self, name: str) -> Path:
        return self.databases_dir / f"{name.lower()}{DATABASE_SUFFIX}"

    # -- staging, for restore ----------------------------------------------------
    def staging(self) -> AbstractContextManager[Path]:
        """A private work folder inside the data dir (same filesystem: renames are atomic).

        Removed on exit; locked while in use, so another process opening this
        data dir (a CLI command beside `rookdb serve`) never cleans it away.
        """
        return staging.work_folder(self.data_dir / staging.RESTORE_STAGING)

    def adopt_database(self, name: str, built_file: Path) -> Database:
        """Move a completely built database file in under `name` and register it."""
        check_database_name(name)
        with self._lock:
            if self.system.get_database(name) is not None:
                raise AlreadyExists(f"database {name!r} already exists")
            target = self.database_path(name)
            for stale in _sqlite_files(target):
                stale.unlink(missing_ok=True)
            os.replace(built_file, target)
            fsync_path(self.databases_dir)
            self.system.add_database(self._new_record(name, target, None))
            db = Database(target, name, node_tag=self.node_tag, durable=self.durable)
            self._open[name.lower()] = db
            return db

    def _clean_staging(self) -> None:
        # Leftovers of restores, drills and backup runs that were killed: never
        # visible, so safe to drop (a live process's folders stay locked).
        staging.remove_all_abandoned(self.data_dir)

    # -- lifecycle ---------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            for db in self._open.values():
                db.close()
            self._open.clear()
            self.system.close()

    def __enter__(self) -> Instance:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sqlite_files(path: Path) -> list[Path]:
    return [path, Path(f"{path}-wal"), Path(f"{path}-shm")]


def open(data_dir: str | os.PathLike[str], **kwargs: Any) -> Instance:  # noqa: A001
    """Open (or create) a rookdb data directory for embedded use."""
    return Instance(data_dir, **kwargs)
