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
from pathlib import Path

from rookdb.errors import InvalidInput
from rookdb.security.secrets import parse_key


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
