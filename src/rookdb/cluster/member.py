"""This node as a member of a cluster: the checks before it joins, and what it runs once in.

`ClusterMember.join()` is what `rookdb serve --cluster ...` does first, in an
order that writes nothing until every check passed: the options are valid,
the key file reads, etcd answers with a leader, the key is the cluster's, and
no live node has this tag. Then the node serves with:
- `store`: the cluster's system store as this node sees it (etcd, with a last
  known copy on its disk and a durable queue for task status while etcd has no
  quorum);
- `secrets`: sealing with the cluster key, the same on every node;
- `requests`: signing and checking node-to-node requests;
- a thread that checks etcd every second (delivering queued status when it is
  back, and claiming the observer role when no live node holds it), and a
  watch that tells the scheduler when tasks or databases change elsewhere,
  and keeps `reads` (the cluster state this node read, kept in memory until
  the watch says it changed) fresh.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rookdb.cluster.key import ClusterSecrets, cluster_key_id, read_cluster_key
from rookdb.cluster.node_requests import NodeRequests
from rookdb.cluster.nodes import NodeRegistry
from rookdb.cluster.topology import etcd_health, topology
from rookdb.cluster.watch import PrefixWatch
from rookdb.errors import ClusterUnavailable, FencedOut, InvalidInput, RookError
from rookdb.system.etcd import EtcdClient, EtcdSystemStore
from rookdb.system.last_known import LastKnownStore
from rookdb.system.sqlite import SqliteSystemStore
from rookdb.system.watched_reads import WatchedReads

log = logging.getLogger(__name__)

_TAG = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# A node's requests to etcd: loopback or LAN answers in milliseconds; a cluster
# without quorum must be noticed well within the 5 s a client waits.
ETCD_TIMEOUT_SECONDS = 2.0
CHECK_EVERY_SECONDS = 1.0
COPY_FILE = "cluster-copy.sqlite"


@dataclass(frozen=True)
class ClusterOptions:
    """How a node joins: `rookdb serve --cluster ... --node-tag ... --advertise-url ...`."""

    endpoints: tuple[str, ...]
    node_tag: str
    advertise_url: str
    key_file: Path
    name: str = "default"

    @classmethod
    def parse(
        cls,
        cluster: str,
        *,
        node_tag: str,
        advertise_url: str | None,
        key_file: Path | None,
        name: str = "default",
    ) -> ClusterOptions:
        """Validated options; InvalidInput names the option that is wrong."""
        endpoints = tuple(e.strip() for e in cluster.split(",") if e.strip())
        if not endpoints:
            raise InvalidInput("--cluster needs at least one etcd URL", field="cluster")
        if not _TAG.match(node_tag):
            raise InvalidInput(
                f"--node-tag {node_tag!r} is not a node tag: use 1-8 capital letters or "
                "digits, starting with a letter (A, B, C ...)",
                field="node_tag",
            )
        if not _NAME.match(name):
            raise InvalidInput(
                f"--cluster-name {name!r}: use lowercase letters, digits and '-'",
                field="cluster_name",
            )
        if advertise_url is None:
            raise InvalidInput(
                "a cluster node needs --advertise-url: the URL other nodes reach it at "
                "(such as http://10.0.0.5:8080)",
                field="advertise_url",
            )
        if key_file is None:
            raise InvalidInput(
                "a cluster node needs --cluster-key-file (make one with "
                "`rookdb cluster key > FILE` and give every node a copy)",
                field="cluster_key_file",
            )
        return cls(endpoints, node_tag, check_advertise_url(advertise_url), key_file, name)


def check_advertise_url(text: str) -> str:
    """An http(s) URL with a host (an address or a name) and a port, without a path."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        parts, port = None, None
    host = parts.hostname if parts is not None else None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not host
        or not _host_ok(host)
        or port is None
        or parts.path not in ("", "/")
        or parts.query
        or parts.username
    ):
        raise InvalidInput(
            f"--advertise-url {text!r} is not a node URL: give the scheme, host and port "
            "other nodes reach this node at, such as http://10.0.0.5:8080",
            field="advertise_url",
        )
    return text.rstrip("/")


def _host_ok(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return bool(re.match(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$", host))
    return not address.is_unspecified  # 0.0.0.0 is where to listen, not where to connect


class ClusterMember:
    """This node in a cluster; `join()` makes one, `stop()` leaves."""

    def __init__(
        self,
        options: ClusterOptions,
        client: EtcdClient,
        registry: NodeRegistry,
        store: LastKnownStore,
        secrets: ClusterSecrets,
        requests: NodeRequests,
        layout: EtcdSystemStore,
    ) -> None:
        self.options = options
        self._layout = layout  # which namespace an etcd key belongs to
        self.client = client
        self.registry = registry
        self.store = store
        self.secrets = secrets
        self.requests = requests
        self._last_nodes: list[dict[str, Any]] = []
        self._watch: PrefixWatch | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def tag(self) -> str:
        return self.options.node_tag

    @classmethod
    def join(
        cls, options: ClusterOptions, data_dir: Path, *, queued_namespaces: Sequence[str]
    ) -> ClusterMember:
        """Check everything, then register this node; RookError says what is wrong."""
        key = read_cluster_key(options.key_file)
        client = EtcdClient(list(options.endpoints), timeout=ETCD_TIMEOUT_SECONDS)
        reads = WatchedReads()
        try:
            health = etcd_health(client)
            if not health["healthy"]:
                raise ClusterUnavailable(
                    f"cannot join the cluster: etcd at {', '.join(options.endpoints)} "
                    f"is not usable ({health['error']}); start etcd, or check --cluster"
                )
            registry = NodeRegistry(
                client,
                cluster=options.name,
                tag=options.node_tag,
                url=options.advertise_url,
                key_id=cluster_key_id(key),
                reads=reads,
            )
            registry.join()
        except RookError:
            client.close()
            raise
        data_dir.mkdir(parents=True, exist_ok=True)
        etcd_store = EtcdSystemStore(client, cluster=options.name)
        store = LastKnownStore(
            etcd_store,
            SqliteSystemStore(data_dir / COPY_FILE),
            queued_namespaces=queued_namespaces,
            reads=reads,
        )
        return cls(
            options,
            client,
            registry,
            store,
            ClusterSecrets(data_dir, key),
            NodeRequests(key, options.node_tag),
            etcd_store,
        )

    # -- running --------------------------------------------------------------------------
    def start(self, on_change: Callable[[frozenset[str] | None], None]) -> None:
        """Check etcd every second, and watch the cluster state for changes made elsewhere.

        `on_change` hears the namespaces that changed (None: anything may have).
        """
        self._remember_nodes()

        def keys_changed(keys: list[str]) -> None:
            namespaces = frozenset(n for k in keys if (n := self._layout.namespace_of(k)))
            self.store.reads.changed(namespaces)  # dropped before anyone is woken
            on_change(namespaces)

        self._watch = PrefixWatch(
            self.client.urls,
            f"/rookdb/{self.options.name}/",
            lambda reload: on_change(None) if reload else None,
            on_keys=keys_changed,
            on_sync=self.store.reads.set_in_sync,
        ).start()
        self._thread = threading.Thread(target=self._keep_checking, name="cluster", daemon=True)
        self._thread.start()

    def _keep_checking(self) -> None:
        while not self._stop.wait(CHECK_EVERY_SECONDS):
            try:
                if self.store.check():
                    self.registry.claim_observer()
                    self._remember_nodes()
            except ClusterUnavailable:
                continue
            except Exception:
                log.exception("cluster check failed")

    def _remember_nodes(self) -> None:
        # Kept for the topology to show while etcd has no quorum.
        with contextlib.suppress(ClusterUnavailable):
            self._last_nodes = [n.to_json() for n in self.registry.nodes()]

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Leave: this node shows as down at once; the local copy and queue stay on disk.

        The store stays open: the instance over it closes it.
        """
        if self._stop.is_set():
            return
        self._stop.set()
        if self._watch is not None:
            self._watch.stop()
        if self._thread is not None:
            self._thread.join(10)
        self.registry.leave()

    # -- what it sees ---------------------------------------------------------------------
    def topology(self) -> dict[str, Any]:
        """The cluster view; without etcd, the nodes as last seen, marked stale."""
        view = topology(self.registry, self.client)
        if view["etcd"]["healthy"]:
            self._last_nodes = view["nodes"]
            view["stale"] = False
        else:
            view["nodes"] = self._last_nodes
            view["stale"] = True
        view["this_node"] = self.tag
        view["pending_status_writes"] = self.store.pending()
        return view

    @contextlib.contextmanager
    def as_observer(self) -> Iterator[None]:
        """Changes made inside are made only while this node holds the observer role.

        Two nodes may both believe they are the observer for a moment (one paused
        past its lease, then resumed before it noticed): etcd refuses the changes of
        the one that lost the role (`FencedOut`), in the same transaction.
        """
        fence = self.registry.observer_fence()
        if fence is None:
            raise FencedOut(f"node {self.tag} holds no lease now: it is not the observer")
        with self._layout.fenced(fence):
            yield

    def node_url(self, tag: str) -> str | None:
        """The advertised URL of a node that is up, or None."""
        for node in self.registry.nodes():
            if node.tag == tag and node.state == "up":
                return node.url
        return None
