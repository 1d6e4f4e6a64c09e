"""An etcd lease kept alive by a thread: the life of a node (or an observer) in etcd.

etcd3gw grants leases but does not keep them alive; this refreshes one at
about a third of its TTL, so two refreshes may fail before it runs out. When
etcd says the lease is gone (expired while this process was paused or cut off)
`on_lost` is called once: whoever holds keys under it must stop acting on them.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable

from rookdb.errors import ClusterUnavailable
from rookdb.system.etcd import EtcdClient

log = logging.getLogger(__name__)


class KeptLease:
    """A lease of `ttl` seconds, granted at once and refreshed until `stop()`."""

    def __init__(
        self,
        client: EtcdClient,
        ttl: int,
        *,
        on_lost: Callable[[], None] | None = None,
        on_refresh: Callable[[], None] | None = None,
    ) -> None:
        self._client = client
        self.ttl = ttl
        self._on_lost = on_lost
        self._on_refresh = on_refresh
        answer = client.post("lease/grant", {"TTL": str(ttl)})
        self.id = str(answer["ID"])
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, name="etcd-lease", daemon=True)
        self._thread.start()

    def _keep(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                answer = self._client.post("lease/keepalive", {"ID": self.id})
            except ClusterUnavailable as exc:
                log.warning("cannot refresh etcd lease %s: %s", self.id, exc.message)
                continue
            if int(answer.get("result", {}).get("TTL", 0)) <= 0:
                self.lost.set()
                if self._on_lost is not None:
                    self._on_lost()
                return
            if self._on_refresh is not None:
                try:
                    self._on_refresh()
                except ClusterUnavailable:
                    continue

    def stop(self, *, revoke: bool = True) -> None:
        """Stop refreshing; with `revoke`, end the lease now (its keys go at once)."""
        self._stop.set()
        self._thread.join(5)
        if revoke and not self.lost.is_set():
            with contextlib.suppress(ClusterUnavailable):  # else it runs out by itself
                self._client.post("lease/revoke", {"ID": self.id})
