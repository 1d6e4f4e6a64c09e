"""Requests between nodes: signed with the cluster key, so a node can tell them from a stranger's.

A node forwarding a request adds its tag, the time and an HMAC of (tag, method,
path and query, time) made with the cluster key. The receiving node checks the
signature and that the time is recent (a captured request cannot be replayed
later). Only nodes given the same key file can make a valid one.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Mapping

from rookdb.cluster.key import sign_request
from rookdb.errors import Unauthorized

NODE_HEADER = "x-rookdb-node"
TIME_HEADER = "x-rookdb-node-time"
SIGNATURE_HEADER = "x-rookdb-node-signature"
# How far a signed request's time may be from ours (clock skew plus transit).
MAX_SKEW_SECONDS = 60


class NodeRequests:
    """Sign this node's requests to other nodes; check the ones it receives."""

    def __init__(self, key: bytes, node: str) -> None:
        self._key = key
        self.node = node

    def headers(self, method: str, target: str) -> dict[str, str]:
        """The headers that make a request to `target` (path and query) a signed one."""
        at = int(time.time())
        return {
            NODE_HEADER: self.node,
            TIME_HEADER: str(at),
            SIGNATURE_HEADER: sign_request(self._key, self.node, method, target, at),
        }

    def sender(self, headers: Mapping[str, str], method: str, target: str) -> str | None:
        """The node that signed this request; None when unsigned; Unauthorized when forged."""
        node = headers.get(NODE_HEADER)
        if node is None:
            return None
        try:
            at = int(headers.get(TIME_HEADER, ""))
        except ValueError:
            at = 0
        expected = sign_request(self._key, node, method, target, at)
        if not hmac.compare_digest(expected, headers.get(SIGNATURE_HEADER, "")):
            raise Unauthorized(
                f"a request claiming to come from node {node!r} is not signed with this "
                "cluster's key"
            )
        if abs(time.time() - at) > MAX_SKEW_SECONDS:
            raise Unauthorized(
                f"a request from node {node!r} is {int(abs(time.time() - at))} s old: refused "
                "(are the nodes' clocks set?)"
            )
        return node
