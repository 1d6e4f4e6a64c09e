"""Nodes of a cluster: each registers under its own etcd lease; a node whose lease is gone is down.

Under `/rookdb/{cluster}/` etcd holds, per node tag, a *live* key bound to the
node's lease (gone within the lease TTL once the node dies or is cut off) and
a durable *known* record (its URL, when it joined, when it was last seen), so
the topology can say "down since" rather than forget a node. Joining checks the
cluster key's id first, and claims the live key in one transaction that fails
when a live node already has the tag.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from rookdb.cluster.lease import KeptLease
from rookdb.errors import AlreadyExists, ClusterUnavailable, InvalidInput
from rookdb.system.etcd import (
    EtcdClient,
    Fence,
    b64,
    lease_is,
    prefix_end,
    unb64,
    version_is,
)
from rookdb.system.watched_reads import NODES, WatchedReads

NODE_TTL_SECONDS = 10
log = logging.getLogger(__name__)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class NodeView:
    """One node as the topology shows it."""

    tag: str
    url: str
    state: str  # "up" | "down"
    joined_at: str | None
    last_seen: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "url": self.url,
            "state": self.state,
            "joined_at": self.joined_at,
            "last_seen": self.last_seen,
        }


class NodeRegistry:
    """This node's membership: join (key check, tag claim), stay alive, list every node."""

    def __init__(
        self,
        client: EtcdClient,
        *,
        cluster: str,
        tag: str,
        url: str,
        key_id: str,
        ttl: int = NODE_TTL_SECONDS,
        reads: WatchedReads | None = None,
    ) -> None:
        self._client = client
        self._reads = reads or WatchedReads()
        self._root = f"/rookdb/{cluster}/"
        self.tag, self.url, self.key_id, self.ttl = tag, url, key_id, ttl
        self._lease: KeptLease | None = None
        self._left = False
        self._lock = threading.Lock()

    # -- joining and leaving --------------------------------------------------------
    def join(self) -> None:
        """Check the cluster key, claim the tag under a new lease, start keeping it alive."""
        self._check_key()
        self._claim()

    def _claim(self) -> None:
        lease = KeptLease(self._client, self.ttl, on_refresh=self._seen, on_lost=self._lost)
        live, known = self._live_key(self.tag), self._known_key(self.tag)
        record = {"tag": self.tag, "url": self.url, "started_at": _now()}
        answer = self._client.post(
            "kv/txn",
            {
                "compare": [version_is(live, 0)],
                "success": [
                    _put(live, record, lease=lease.id),
                    _put(known, {**record, "joined_at": record["started_at"], "last_seen": _now()}),
                ],
            },
        )
        if not answer.get("succeeded"):
            lease.stop()
            holder = self._get(live) or {}
            raise AlreadyExists(
                f"node tag {self.tag!r} is in use by a live node at {holder.get('url', '?')}; "
                "choose another --node-tag, or stop that node first"
            )
        with self._lock:
            self._lease = lease
        self._reads.changed([NODES])

    def _lost(self) -> None:
        # The lease ran out while this process was paused or cut off: the cluster took
        # this node as down (its tasks and groups moved on). Register again, as a node
        # coming back does; never under a tag another live node took meanwhile.
        threading.Thread(target=self._register_again, name="etcd-rejoin", daemon=True).start()

    def _register_again(self) -> None:
        log.warning(
            "node %s: its etcd lease ran out (paused or cut off); registering again", self.tag
        )
        while True:
            with self._lock:
                if self._left:
                    return
            try:
                self._claim()
            except AlreadyExists as exc:
                log.error("node %s cannot register again: %s", self.tag, exc.message)
                return
            except ClusterUnavailable:
                time.sleep(1.0)
                continue
            log.warning("node %s is registered again", self.tag)
            return

    def leave(self) -> None:
        """Stop this node's lease: its live key goes at once, the topology shows it down."""
        with self._lock:
            self._left = True
            lease, self._lease = self._lease, None
        if lease is not None:
            with contextlib.suppress(ClusterUnavailable):  # "last seen" stays older then
                self._seen()
            lease.stop(revoke=True)
            self._reads.changed([NODES])

    def _check_key(self) -> None:
        key = f"{self._root}cluster/key-id"
        self._client.post(
            "kv/txn",
            {"compare": [version_is(key, 0)], "success": [_put(key, {"key_id": self.key_id})]},
        )
        stored = (self._get(key) or {}).get("key_id")
        if stored != self.key_id:
            raise InvalidInput(
                f"this node's cluster key (id {self.key_id}) is not the cluster's (id {stored}): "
                "every node must be given a copy of the same key file",
                field="cluster_key_file",
            )

    def _seen(self) -> None:
        known = self._get(self._known_key(self.tag))
        if known is not None:
            self._client.post(
                "kv/put",
                {
                    "key": b64(self._known_key(self.tag)),
                    "value": _value({**known, "last_seen": _now()}),
                },
            )

    # -- the observer ----------------------------------------------------------------
    def claim_observer(self) -> bool:
        """Become the observer when no live node is; True when this node is it.

        The observer key lives under the holder's lease, so it goes with its node
        and the next node to ask takes it. The observer places backup tasks and
        gives a group whose write node died a new one (`rookdb.cluster.replication`).
        """
        with self._lock:
            lease = self._lease
        if lease is None:
            return False
        key = f"{self._root}observer"
        self._client.post(
            "kv/txn",
            {
                "compare": [version_is(key, 0)],
                "success": [_put(key, {"tag": self.tag, "since": _now()}, lease=lease.id)],
            },
        )
        return self.observer() == self.tag

    def observer_fence(self) -> Fence | None:
        """What the observer's changes compare: the observer key is still under this
        node's lease (None when this node has no lease now)."""
        with self._lock:
            lease = self._lease
        if lease is None:
            return None
        return Fence(
            (lease_is(f"{self._root}observer", lease.id),),
            f"node {self.tag} is no longer the cluster's observer (its lease ran out while it "
            "was paused or cut off, and another node took the role): its change is not made",
        )

    def observer(self) -> str | None:
        """The tag of the observer node, if a live node holds the role."""
        holder = self._get(f"{self._root}observer")
        return str(holder["tag"]) if holder else None

    # -- the nodes -------------------------------------------------------------------
    def nodes(self) -> list[NodeView]:
        """Every node that ever joined, up when its lease is alive, by tag."""
        live = {v["tag"]: v for v in self._list(f"{self._root}nodes/live/")}
        known = {v["tag"]: v for v in self._list(f"{self._root}nodes/known/")}
        views = []
        for tag in sorted(known.keys() | live.keys()):
            entry = {**known.get(tag, {}), **live.get(tag, {})}
            views.append(
                NodeView(
                    tag=tag,
                    url=str(entry.get("url", "")),
                    state="up" if tag in live else "down",
                    joined_at=entry.get("joined_at"),
                    last_seen=_now() if tag in live else entry.get("last_seen"),
                )
            )
        return views

    # -- etcd --------------------------------------------------------------------------
    def _live_key(self, tag: str) -> str:
        return f"{self._root}nodes/live/{tag}"

    def _known_key(self, tag: str) -> str:
        return f"{self._root}nodes/known/{tag}"

    def _get(self, key: str) -> dict[str, Any] | None:
        kvs = self._client.post("kv/range", {"key": b64(key)}).get("kvs", [])
        return orjson.loads(unb64(kvs[0].get("value", ""))) if kvs else None

    def _list(self, prefix: str) -> list[dict[str, Any]]:
        # Asked on every forwarded request and every follower pull: kept while watched.
        return self._reads.read(NODES, prefix, lambda: self._list_from_etcd(prefix))

    def _list_from_etcd(self, prefix: str) -> list[dict[str, Any]]:
        answer = self._client.post(
            "kv/range", {"key": b64(prefix), "range_end": prefix_end(prefix)}
        )
        return [orjson.loads(unb64(kv.get("value", ""))) for kv in answer.get("kvs", [])]


def _value(body: dict[str, Any]) -> str:
    return b64(orjson.dumps(body))


def _put(key: str, body: dict[str, Any], *, lease: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {"key": b64(key), "value": _value(body)}
    if lease is not None:
        request["lease"] = lease
    return {"request_put": request}
