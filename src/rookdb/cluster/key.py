"""The cluster key: one random key file given to every node of a cluster.

It seals the secrets stored in etcd (etcd never holds a plain secret) and
authenticates node-to-node requests. etcd keeps only its *id* (a keyed hash
that reveals nothing of the key), so a node started with another key file is
refused with a message that says so, before it writes anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from pathlib import Path

from rookdb.errors import InvalidInput
from rookdb.security.secrets import MasterKeys, key_id, parse_key


def new_cluster_key() -> str:
    """A new random cluster key, as the text of a key file (base64 of 32 bytes)."""
    return base64.b64encode(secrets.token_bytes(32)).decode()


def read_cluster_key(path: Path) -> bytes:
    """The key in a cluster key file; InvalidInput naming the file when it is not one."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise InvalidInput(
            f"cannot read the cluster key file {path}: {exc.strerror or exc} "
            "(make one with `rookdb cluster key > FILE` and give every node a copy)",
            field="cluster_key_file",
        ) from None
    return parse_key(text, "cluster_key_file")


def cluster_key_id(key: bytes) -> str:
    """A name for the key that etcd may hold: it tells keys apart and reveals nothing."""
    return hmac.new(key, b"rookdb cluster key id", hashlib.sha256).hexdigest()[:16]


class ClusterSecrets(MasterKeys):
    """Secrets of a cluster node, sealed with the cluster key (the same on every node).

    A task created through node A is stored in etcd with its credentials sealed,
    and node B opens them with its copy of the same key file; Studio sessions
    are derived from it too, so a login holds on every node.
    """

    def __init__(self, data_dir: Path, key: bytes) -> None:
        super().__init__(data_dir, environ={})
        self._key = key

    @property
    def from_environment(self) -> bool:
        return False

    def current(self) -> bytes:
        return self._key

    def keyring(self) -> dict[str, bytes]:
        return {key_id(self._key): self._key}

    def rotate(self, reseal: Callable[[bytes], int]) -> tuple[str, str, int]:
        raise InvalidInput(
            "a cluster node seals secrets with the cluster key file, not a master key; "
            "rotating the cluster key is not supported yet",
            field="master_key",
        )


def sign_request(key: bytes, node: str, method: str, target: str, at: int) -> str:
    """The signature a node puts on a request it sends to another node."""
    message = f"{node}\n{method.upper()}\n{target}\n{at}".encode()
    return hmac.new(_signing_key(key), message, hashlib.sha256).hexdigest()


def _signing_key(key: bytes) -> bytes:
    # Never the key itself: a signature reveals nothing usable for sealing.
    return hmac.new(key, b"rookdb node-to-node requests", hashlib.sha256).digest()
