"""Secrets at rest: the server master key and AES-256-GCM sealing of secret values.

The master key is 32 random bytes, read from `$ROOKDB_MASTER_KEY` (base64)
or from `<data dir>/master.key` (created with mode 0600 on first use). A
sealed value records the id of the key that sealed it, so a wrong key is
reported by name instead of failing as "corrupt", and so a rotation that was
cut short can finish: `master.key.new` and `master.key.previous` are read
for decryption too while a rotation is under way.

The key file is read on every use (a few bytes): a server that keeps running
while `rookdb keys rotate-master` runs next to it picks up the new key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rookdb.durability import fsync_path
from rookdb.errors import InvalidInput, MasterKeyError

MASTER_KEY_FILE = "master.key"
ENV_MASTER_KEY = "ROOKDB_MASTER_KEY"
ENV_NEW_MASTER_KEY = "ROOKDB_NEW_MASTER_KEY"
SEALED = "$rookdb-sealed"  # the marker key of a sealed value in stored JSON
_NONCE = 12


def key_id(key: bytes) -> str:
    """A short, non-secret name for a key (the first 8 hex digits of its SHA-256)."""
    return hashlib.sha256(b"rookdb master key id\0" + key).hexdigest()[:8]


def parse_key(text: str, where: str) -> bytes:
    """A master key written as base64 of 32 bytes."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise InvalidInput(
            f"{where} must be 32 random bytes in base64 (44 characters, e.g. "
            "`openssl rand -base64 32`)",
            field=where,
        )
    return key


def is_sealed(value: object) -> bool:
    """Whether a stored JSON value is a sealed secret."""
    return isinstance(value, dict) and SEALED in value


class MasterKeys:
    """The master key of one data dir (or of the environment) and what it seals."""

    def __init__(self, data_dir: Path, environ: Mapping[str, str] | None = None) -> None:
        self.data_dir = Path(data_dir)
        self._environ = os.environ if environ is None else environ

    @property
    def path(self) -> Path:
        return self.data_dir / MASTER_KEY_FILE

    @property
    def from_environment(self) -> bool:
        return bool(self._environ.get(ENV_MASTER_KEY))

    # -- the keys ---------------------------------------------------------------------
    def current(self) -> bytes:
        """The key new secrets are sealed with; the key file is created on first use."""
        text = self._environ.get(ENV_MASTER_KEY)
        if text:
            return parse_key(text, ENV_MASTER_KEY)
        key = self._read(self.path)
        if key is None:
            key = self._create(self.path)
        return key

    def keyring(self) -> dict[str, bytes]:
        """Every key that may open a stored secret, by key id."""
        ring: dict[str, bytes] = {}
        for name in (MASTER_KEY_FILE + ".new", MASTER_KEY_FILE + ".previous"):
            extra = self._read(self.data_dir / name)
            if extra is not None:
                ring[key_id(extra)] = extra
        current = self.current()
        ring[key_id(current)] = current
        return ring

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose (Studio sessions, CSRF tokens) from the master key."""
        # cryptography is imported where it is used: a CLI command that never opens a
        # secret does not pay for loading it.
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
        return hkdf.derive(self.current())

    # -- sealing ----------------------------------------------------------------------
    def seal(self, plain: str, context: str, *, key: bytes | None = None) -> dict[str, str]:
        """Encrypt a secret; `context` (where it is stored) is authenticated with it."""
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        key = key or self.current()
        nonce = secrets.token_bytes(_NONCE)
        data = AESGCM(key).encrypt(nonce, plain.encode(), context.encode())
        return {SEALED: "v1", "key": key_id(key), "data": base64.b64encode(nonce + data).decode()}

    def open(self, sealed: Mapping[str, Any], context: str) -> str:
        """Decrypt a sealed secret; MasterKeyError says which key is missing or wrong."""
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        wanted = str(sealed.get("key"))
        key = self.keyring().get(wanted)
        if key is None:
            raise MasterKeyError(
                f"a stored secret was sealed with master key {wanted}, which this server does "
                f"not have (it has {key_id(self.current())}): restore {self.path} or set "
                f"{ENV_MASTER_KEY} to that key"
            )
        try:
            raw = base64.b64decode(str(sealed.get("data")), validate=True)
            return AESGCM(key).decrypt(raw[:_NONCE], raw[_NONCE:], context.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise MasterKeyError(
                f"a stored secret ({context}) does not decrypt with master key {wanted}: "
                "the system store was altered"
            ) from exc

    # -- rotation ---------------------------------------------------------------------
    def rotate(self, reseal: Callable[[bytes], int]) -> tuple[str, str, int]:
        """Seal everything again with a new key; returns (old id, new id, secrets resealed).

        `reseal(key)` opens every stored secret and seals it with `key`. In file
        mode the new key replaces master.key; with $ROOKDB_MASTER_KEY the new key
        comes from $ROOKDB_NEW_MASTER_KEY and the caller must switch the variable.
        """
        old = self.current()
        if self.from_environment:
            text = self._environ.get(ENV_NEW_MASTER_KEY)
            if not text:
                raise InvalidInput(
                    f"the master key comes from ${ENV_MASTER_KEY}: put the new key in "
                    f"${ENV_NEW_MASTER_KEY} (e.g. `openssl rand -base64 32`), run this again, "
                    f"then restart the server with ${ENV_MASTER_KEY} set to the new key"
                )
            new = parse_key(text, ENV_NEW_MASTER_KEY)
            return key_id(old), key_id(new), reseal(new)
        pending = self.data_dir / (MASTER_KEY_FILE + ".new")
        previous = self.data_dir / (MASTER_KEY_FILE + ".previous")
        new = self._read(pending) or self._create(pending)
        count = reseal(new)
        self._write_atomically(previous, old)
        os.replace(pending, self.path)
        fsync_path(self.data_dir)
        # A writer that sealed with the old key meanwhile is caught by this second pass.
        count += reseal(new)
        previous.unlink()
        return key_id(old), key_id(new), count

    # -- files ------------------------------------------------------------------------
    def _read(self, path: Path) -> bytes | None:
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            return None
        if mode & 0o077:
            raise MasterKeyError(
                f"master key file {path} can be read by other users (mode {mode & 0o777:o}): "
                f"run `chmod 600 {path}`"
            )
        return parse_key(path.read_text(), str(path))

    def _create(self, path: Path) -> bytes:
        key = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            existing = self._read(path)
            assert existing is not None
            return existing
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(key).decode() + "\n")
            out.flush()
            os.fsync(out.fileno())
        fsync_path(path.parent)
        return key

    def _write_atomically(self, path: Path, key: bytes) -> None:
        temp = path.with_name(path.name + ".tmp")
        temp.unlink(missing_ok=True)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(base64.b64encode(key).decode() + "\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
