"""Database groups kept alike: followers pull their write node's changes and apply them as they are.

Every member of a group holds the same state with the same etags, change
vectors and times (the write node's), so etag N means the same thing on every
member and a backup chain written on one can be continued by another.

- A *follower* (`Follower`, a thread per database) asks its write node for the
  changes after its own last etag (`GET /cluster/internal/replication/{db}?after=N`,
  signed with the cluster key). The write node answers with those changes in
  the logical backup format (the same records a backup or a restore uses, so
  every kind of change travels: documents, tombstones, attachments with their
  bytes, identities, index definitions), or after a while with nothing new. The
  follower saves the answer to a work file (memory stays flat, however far
  behind it is) and applies it keeping etags, through the storage bulk loader.
  Each member builds its own index data as it applies.
- The write node learns what each follower holds from the `after` of its
  requests (`AppliedEtags`): a write with write concern `majority` is answered
  once a majority holds it.
- `Replication` (a service on every node) keeps this in line with the groups in
  the cluster state: the followers that should run, each database's write
  guard (only the write node takes local writes), this node's applied etags
  published for the observer, and, on the observer, a new write node (the most
  up-to-date live member, with a new term) when the write node is down.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import httpx
import orjson

from rookdb.backup.export import export_database, write_export
from rookdb.backup.format import BackupReader
from rookdb.cluster.groups import MAX_MEMBERS, Group, plan_group
from rookdb.cluster.member import ClusterMember
from rookdb.errors import (
    AlreadyExists,
    ClusterUnavailable,
    ConcurrencyConflict,
    FencedOut,
    InvalidInput,
    NotFound,
    RookError,
)
from rookdb.instance import Instance
from rookdb.restore.apply import Applier
from rookdb.storage import Database
from rookdb.system.store import DatabaseRecord
from rookdb.tasks import lease
from rookdb.tasks.assignments import Assignment, Assignments
from rookdb.tasks.placement import choose_responsible
from rookdb.tasks.status import StatusStore
from rookdb.tasks.store import TaskStore

log = logging.getLogger(__name__)

REPLICATION_PATH = "/cluster/internal/replication/"
TERMS_FILE = "replication-terms.json"
# Set on an answer that is a copy of the whole database file (a catch-up from nothing).
SNAPSHOT_HEADER = "x-rookdb-replication"
ROLLBACK_FOLDER = "rollback"
# Cluster state: "{db}/{tag}" -> {"etag", "term", "error"} (why that member cannot apply).
APPLIED_NAMESPACE = "replication-applied"
# How long a write node holds a follower's request when nothing is new.
LONG_POLL_SECONDS = 5.0
RETRY_SECONDS = 1.0
RECONCILE_SECONDS = 1.0


@dataclass
class FollowerReport:
    etag: int
    at: float  # monotonic time of the report
    caught_up_at: float


class HeldTerms:
    """The term each local database copy was last written in (a file in the data dir).

    A member tells its write node this term with every request, so that the write
    node can see when the member holds changes of an older term that the group
    never had (`Group.diverged_from`).
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        try:
            self._terms: dict[str, int] = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            self._terms = {}

    def get(self, database: str) -> int:
        with self._lock:
            return int(self._terms.get(database.lower(), 1))

    def set(self, database: str, term: int) -> None:
        with self._lock:
            if self._terms.get(database.lower()) == term:
                return
            self._terms[database.lower()] = term
            temp = self._path.with_suffix(".tmp")
            temp.write_bytes(orjson.dumps(self._terms))
            os.replace(temp, self._path)


class AppliedEtags:
    """On a write node: the last etag each follower holds, per database."""

    def __init__(self) -> None:
        self._reports: dict[tuple[str, str], FollowerReport] = {}
        self._changed = threading.Condition()

    def report(self, database: str, node: str, etag: int, *, caught_up: bool) -> None:
        now = time.monotonic()
        with self._changed:
            key = (database.lower(), node)
            previous = self._reports.get(key)
            since = now if caught_up or previous is None else previous.caught_up_at
            self._reports[key] = FollowerReport(etag, now, since)
            self._changed.notify_all()

    def of(self, database: str) -> dict[str, FollowerReport]:
        with self._changed:
            return {
                node: report
                for (db, node), report in self._reports.items()
                if db == database.lower()
            }

    def wait_for(
        self, database: str, etag: int, followers: tuple[str, ...], needed: int, timeout: float
    ) -> bool:
        """Whether `needed` of `followers` came to hold `etag` within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                holding = sum(
                    1
                    for node in followers
                    if (r := self._reports.get((database.lower(), node))) and r.etag >= etag
                )
                if holding >= needed:
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)


class Follower:
    """Pulls one database's changes from its write node and applies them, until stopped."""

    def __init__(
        self,
        instance: Instance,
        member: ClusterMember,
        db: Database,
        group: Group,
        terms: HeldTerms,
        on_rollback: Callable[[str, dict[str, Any]], None],
    ) -> None:
        self._instance = instance
        self._member = member
        self.db = db
        self.group = group
        self._terms = terms
        self._on_rollback = on_rollback
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"follow-{db.name}", daemon=True)

    def start(self) -> Follower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        with httpx.Client(timeout=httpx.Timeout(10.0, read=LONG_POLL_SECONDS + 30)) as http:
            while not self._stop.is_set():
                try:
                    self._pull(http)
                    self.last_error = None
                except (httpx.HTTPError, RookError, OSError) as exc:
                    message = self._explain(exc)
                    if message != self.last_error:
                        log.warning(
                            "following %s from %s: %s", self.db.name, self.group.write_node, message
                        )
                    self.last_error = message
                    self._stop.wait(RETRY_SECONDS)

    def _explain(self, exc: Exception) -> str:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            return (
                f"this node's disk is full ({exc.strerror}): it stops applying {self.db.name} "
                "and tries again every second; the other members go on. Free some room"
            )
        message = getattr(exc, "message", None)
        return str(message) if message else f"{type(exc).__name__}: {exc}"

    def _pull(self, http: httpx.Client) -> None:
        url = self._member.node_url(self.group.write_node)
        if url is None:
            raise ClusterUnavailable(f"write node {self.group.write_node} is down")
        after = self.db.engine.last_etag
        held = self._terms.get(self.db.name)
        target = f"{REPLICATION_PATH}{self.db.name}?after={after}&term={held}"
        if after == 0:
            target += "&snapshot=1"  # from nothing: a copy of the file, faster than the changes
        headers = self._member.requests.headers("GET", target)
        with (
            self._instance.staging() as work,
            http.stream("GET", url + target, headers=headers) as answer,
        ):
            if answer.status_code == 204:
                self._terms.set(self.db.name, self.group.term)
                return
            if answer.status_code != 200:
                body = answer.read()
                if answer.status_code == 409 and b'"diverged"' in body:
                    self._roll_back(int(orjson.loads(body)["common_etag"]), held)
                    return
                text = body.decode(errors="replace")[:300]
                raise RookError(
                    f"write node {self.group.write_node} answered {answer.status_code}: {text}"
                )
            changes = work / "changes.rookdb"
            with changes.open("wb") as out:
                for chunk in answer.iter_raw():
                    if self._stop.is_set():
                        return
                    out.write(chunk)
            if answer.headers.get(SNAPSHOT_HEADER) == "snapshot":
                self.db = self._instance.replace_local_copy(self.db.name, changes)
                self._terms.set(self.db.name, self.group.term)
                return
            self._apply(changes, fresh=after == 0)

    def _apply(self, changes: Path, *, fresh: bool) -> None:
        apply_changes(self.db, changes, fresh=fresh)
        self._terms.set(self.db.name, self.group.term)

    def _roll_back(self, common_etag: int, held_term: int) -> None:
        """Save the changes the group never had to a rollback file, then start again empty.

        They were written here in an older term by this node as write node, and
        never reached the member that took over: nothing is dropped silently, the
        file can be looked at and imported (`rookdb import FILE DB`).
        """
        name = self.db.name
        folder = self._instance.data_dir / ROLLBACK_FOLDER
        folder.mkdir(exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        file = folder / f"{name.lower()}-term{held_term}-after{common_etag}-{stamp}.rookdb"
        summary = export_database(self.db, file, since_etag=common_etag)
        self.db = self._instance.rebuild_database(name)
        self._terms.set(name, self.group.term)
        report = {
            "file": str(file),
            "changes": sum(summary.trailer.counts.values()),
            "after_etag": common_etag,
            "term": held_term,
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        log.warning(
            "database %s: this node's changes after etag %s (term %s) were never replicated; "
            "saved to %s, rebuilding from write node %s",
            name,
            common_etag,
            held_term,
            file,
            self.group.write_node,
        )
        self._on_rollback(name, report)


def apply_changes(db: Database, changes: Path, *, fresh: bool) -> None:
    """Apply a write node's changes (a file in the logical backup format) keeping its etags."""
    with BackupReader(changes) as reader, db.engine.replicating():
        Applier(db.engine, keep_etags=True).apply(reader, fresh=fresh)
        if db.engine.database_id != reader.header.database_id:
            db.engine.adopt_database_id(reader.header.database_id)


def export_changes(db: Database, after: int, out: IO[bytes]) -> None:
    """What a write node sends a follower that holds up to `after`: every change since."""
    write_export(db, out, since_etag=after, compression="none")


class Replication:
    """Keeps this node's followers, write guards and applied etags in line with the groups."""

    def __init__(self, instance: Instance, member: ClusterMember) -> None:
        self.instance = instance
        self.member = member
        self.applied = AppliedEtags()
        self.followers: dict[str, Follower] = {}
        self.terms = HeldTerms(instance.data_dir / TERMS_FILE)
        self.rollbacks: dict[str, dict[str, Any]] = {}
        self._member_of: set[str] = set()
        self._published: dict[str, tuple[int, int, str | None]] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the service -----------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="replication", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """The cluster state changed: look at the groups again now."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)
        for follower in self.followers.values():
            follower.stop()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.reconcile()
                if self.member.registry.observer() == self.member.tag:
                    with self.member.as_observer():
                        self.choose_write_nodes()
                        self.place_tasks()
            except ClusterUnavailable:
                pass  # no cluster state: followers keep following what they know
            except FencedOut as exc:
                log.warning("%s", exc.message)
            except Exception:
                log.exception("replication upkeep failed")
            self._wake.wait(RECONCILE_SECONDS)
            self._wake.clear()

    # -- this node's part ----------------------------------------------------------------
    def reconcile(self) -> None:
        me = self.member.tag
        wanted: set[str] = set()
        members_now: set[str] = set()
        for record in self.instance.system.list_databases():
            group = Group.from_settings(record.settings)
            if group is None or me not in group.members:
                continue
            members_now.add(record.name)
            db = self.instance.database(record.name)
            if group.write_node == me:
                self.terms.set(record.name, group.term)  # before this node takes writes
            self.instance.follow_group(db, record)
            key = record.name.lower()
            following = self.followers.get(key)
            error = following.last_error if following is not None else None
            self._publish(record.name, db.engine.last_etag, group.term, error)
            if group.write_node == me or len(group.members) == 1:
                continue
            wanted.add(key)
            follower = self.followers.get(key)
            if follower is not None and (follower.group != group or not follower.alive):
                follower.stop()
                follower = None
            if follower is None:
                self.followers[key] = Follower(
                    self.instance, self.member, db, group, self.terms, self._rolled_back
                ).start()
        for key in set(self.followers) - wanted:
            self.followers.pop(key).stop()
        for gone in self._member_of - members_now:
            with contextlib.suppress(RookError):
                self.instance.drop_local_copy(gone)
                log.warning("this node left the group of %s: its copy is dropped", gone)
        self._member_of = members_now

    def _rolled_back(self, database: str, report: dict[str, Any]) -> None:
        self.rollbacks[database.lower()] = report

    def _publish(self, database: str, etag: int, term: int, error: str | None) -> None:
        # The observer picks the most up-to-date live member when a write node dies; the
        # topology (answered by the write node) shows why a member cannot apply.
        if self._published.get(database.lower()) == (etag, term, error):
            return
        with contextlib.suppress(ClusterUnavailable):
            self.instance.system.put(
                APPLIED_NAMESPACE,
                f"{database.lower()}/{self.member.tag}",
                {"etag": etag, "term": term, "error": error},
            )
            self._published[database.lower()] = (etag, term, error)

    # -- the observer's part ---------------------------------------------------------------
    def choose_write_nodes(self) -> None:
        """Give every group whose write node is down the most up-to-date live member."""
        up = {n.tag for n in self.member.registry.nodes() if n.state == "up"}
        for record in self.instance.system.list_databases():
            group = Group.from_settings(record.settings)
            if group is None or group.write_node in up:
                continue
            candidates = [tag for tag in group.members if tag in up]
            if not candidates:
                continue
            applied = self._published_etags(record.name)
            chosen = max(sorted(candidates), key=lambda tag: applied.get(tag, 0))
            new = group.with_write_node(chosen, applied.get(chosen, 0) + 1)
            try:
                self.instance.system.replace_database(
                    record,
                    type(record)(record.name, record.created_at, record.file, new.to_settings()),
                )
            except FencedOut:
                raise
            except ConcurrencyConflict:
                continue  # changed meanwhile: seen again at the next look
            log.warning(
                "database %s: write node %s is down; %s (etag %s) takes over in term %s",
                record.name,
                group.write_node,
                chosen,
                applied.get(chosen, 0),
                new.term,
            )

    # -- new groups ------------------------------------------------------------------------
    def new_group(
        self,
        nodes: list[str] | None,
        replication_factor: int | None,
        write_concern: str | None,
    ) -> Group:
        """The group of a new database, checked against the nodes the cluster has now."""
        known = self.member.registry.nodes()
        return plan_group(
            this_node=self.member.tag,
            known={n.tag for n in known},
            up={n.tag for n in known if n.state == "up"},
            nodes=nodes,
            replication_factor=replication_factor,
            write_concern=write_concern,
        )

    def place_tasks(self) -> None:
        """Give every backup task its responsible node (see `choose_responsible`)."""
        up = frozenset(n.tag for n in self.member.registry.nodes() if n.state == "up")
        assignments = Assignments(self.instance.system)
        tasks = TaskStore(self.instance.system, self.instance.secrets)
        statuses = StatusStore(self.instance.system)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for record in self.instance.system.list_databases():
            group = Group.from_settings(record.settings)
            if group is None:
                continue
            for task in tasks.list(record.name):
                current = assignments.get(record.name, task.id)
                status = statuses.get(record.name, task.id)
                running = status is not None and lease.is_live(status.running)
                decision = choose_responsible(
                    task,
                    group.members,
                    up,
                    current.node if current else None,
                    running=running,
                )
                if decision is None:
                    continue
                node, reason = decision
                assignments.set(record.name, task.id, Assignment(node, reason, now))
                log.warning(
                    "backup task %s of %s runs on %s now (%s)", task.id, record.name, node, reason
                )

    # -- changing a group -----------------------------------------------------------------
    def add_node(self, database: str, tag: str) -> Group:
        """Make a live node a member: it starts empty and catches up from the write node."""
        record, group = self._group_of(database)
        nodes = {n.tag: n.state for n in self.member.registry.nodes()}
        if tag not in nodes:
            raise InvalidInput(
                f"unknown node {tag!r}: the cluster has {', '.join(sorted(nodes))}", field="node"
            )
        if nodes[tag] != "up":
            raise InvalidInput(f"node {tag} is down: add a live node", field="node")
        if tag in group.members:
            raise AlreadyExists(f"node {tag} is already a member of {record.name!r}")
        if len(group.members) >= MAX_MEMBERS:
            raise InvalidInput(f"a group has at most {MAX_MEMBERS} nodes", field="node")
        new = replace(group, members=(*group.members, tag))
        self._save(record, new)
        return new

    def remove_node(self, database: str, tag: str) -> Group:
        """Take a member out; its copy is dropped. The write node's place goes to another member."""
        record, group = self._group_of(database)
        if tag not in group.members:
            raise NotFound(f"node {tag} is not a member of {record.name!r}")
        if len(group.members) == 1:
            raise InvalidInput(
                f"{tag} is the last member of {record.name!r}: delete the database instead",
                field="node",
            )
        members = tuple(t for t in group.members if t != tag)
        new = replace(group, members=members)
        if tag == group.write_node:
            applied = self._published_etags(record.name)
            up = {n.tag for n in self.member.registry.nodes() if n.state == "up"}
            chosen = max(sorted(members), key=lambda t: (t in up, applied.get(t, 0)))
            new = replace(new, write_node=group.write_node).with_write_node(
                chosen, applied.get(chosen, 0) + 1
            )
        self._save(record, new)
        return new

    def _group_of(self, database: str) -> tuple[DatabaseRecord, Group]:
        record = self.instance.system.get_database(database)
        if record is None:
            raise NotFound(f"database {database!r} does not exist")
        group = Group.from_settings(record.settings)
        if group is None:
            raise InvalidInput(f"database {database!r} has no group", field="database")
        return record, group

    def _save(self, record: DatabaseRecord, group: Group) -> None:
        self.instance.system.replace_database(
            record,
            DatabaseRecord(record.name, record.created_at, record.file, group.to_settings()),
        )
        self.notify()

    def _published_etags(self, database: str) -> dict[str, int]:
        return {tag: int(value.get("etag", 0)) for tag, value in self._published_by(database)}

    def _published_by(self, database: str) -> list[tuple[str, dict[str, Any]]]:
        return [
            (entry.key.rpartition("/")[2], entry.value)
            for entry in self.instance.system.list(APPLIED_NAMESPACE, f"{database.lower()}/")
        ]

    # -- views -------------------------------------------------------------------------
    def written_here(self) -> list[str]:
        """The group databases whose write node is this node."""
        names = []
        for record in self.instance.system.list_databases():
            group = Group.from_settings(record.settings)
            if group is not None and group.write_node == self.member.tag and len(group.members) > 1:
                names.append(record.name)
        return names

    def topology(self, database: str) -> dict[str, Any]:
        """`GET /databases/{db}/topology`: members, write node, term, each member's applied etag."""
        record = self.instance.system.get_database(database)
        if record is None:
            raise NotFound(f"database {database!r} does not exist")
        group = Group.from_settings(record.settings) or Group((self.member.tag,), self.member.tag)
        up = {n.tag for n in self.member.registry.nodes() if n.state == "up"}
        published_by = dict(self._published_by(record.name))
        published = {tag: int(value.get("etag", 0)) for tag, value in published_by.items()}
        head = published.get(group.write_node, 0)
        if group.write_node == self.member.tag:
            head = self.instance.database(record.name).engine.last_etag
        reports = self.applied.of(record.name)
        now = time.monotonic()
        members: list[dict[str, Any]] = []
        for tag in group.members:
            report = reports.get(tag)
            if tag == group.write_node:
                etag, lag_seconds = head, 0.0
            elif report is not None:
                etag = report.etag
                lag_seconds = 0.0 if etag >= head else round(now - report.caught_up_at, 3)
            else:
                etag, lag_seconds = published.get(tag, 0), None
            follower = self.followers.get(record.name.lower())
            if follower is not None and tag == self.member.tag:
                error = follower.last_error
            else:
                error = published_by.get(tag, {}).get("error")
            members.append(
                {
                    "tag": tag,
                    "state": "up" if tag in up else "down",
                    "role": "write node" if tag == group.write_node else "follower",
                    "applied_etag": etag,
                    "lag_etags": max(head - etag, 0),
                    "lag_seconds": lag_seconds,
                    "error": error,
                }
            )
        rollback = self.rollbacks.get(record.name.lower())
        if rollback is not None:
            for entry in members:
                if entry["tag"] == self.member.tag:
                    entry["rollback"] = rollback
        return {
            "database": record.name,
            "members": members,
            "write_node": group.write_node,
            "term": group.term,
            "write_concern": group.write_concern,
        }
