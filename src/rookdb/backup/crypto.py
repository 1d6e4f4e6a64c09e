"""Per-block AES-256-GCM encryption of backup files with a user-supplied key.

The user key is a string of one of two forms:

* 32 raw bytes written as base64 (44 characters, standard or URL-safe
  alphabet): used as key material directly, stretched to a per-file key with
  HKDF-SHA256 over the file's random salt;
* anything else: a passphrase, stretched with scrypt (n=2**15, r=8, p=1) over
  the file's random salt.

Every block is sealed with the per-file key; the nonce is the block's
sequence number (unique per key because every file has its own salt) and the
associated data binds the block to its kind and position, so blocks cannot be
reordered or swapped between files. The header stores a short key check so a
wrong key is reported before any block is read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from rookdb.errors import EncryptionKeyError, InvalidInput

SALT_SIZE = 16
_CHECK_LABEL = b"rookdb backup key check"


def key_kind(user_key: str) -> str:
    """'raw' when the key is 32 bytes in base64, else 'passphrase'."""
    return "raw" if _raw_bytes(user_key) is not None else "passphrase"


def _raw_bytes(user_key: str) -> bytes | None:
    text = user_key.strip()
    if len(text) not in (43, 44):
        return None
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            continue
        if len(raw) == 32:
            return raw
    return None


def derive_file_key(user_key: str, salt: bytes, kind: str) -> bytes:
    """The 32-byte AES key of one file, from the user key and that file's salt."""
    if not user_key:
        raise InvalidInput("the encryption key must not be empty", field="encryption_key")
    if kind == "raw":
        raw = _raw_bytes(user_key)
        if raw is None:
            raise EncryptionKeyError("this file was encrypted with a raw 32-byte base64 key")
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"rookdb backup v1")
        return hkdf.derive(raw)
    if kind == "passphrase":
        return Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(user_key.encode())
    raise EncryptionKeyError(f"unknown key derivation {kind!r}")


def key_check(file_key: bytes) -> str:
    """A short public value that tells a right key from a wrong one."""
    return hmac.new(file_key, _CHECK_LABEL, hashlib.sha256).hexdigest()[:32]


def new_salt() -> bytes:
    return os.urandom(SALT_SIZE)


class BlockCipher:
    """Seals and opens the blocks of one file."""

    def __init__(self, file_key: bytes) -> None:
        self._aead = AESGCM(file_key)

    def seal(self, seq: int, kind: bytes, data: bytes) -> bytes:
        return self._aead.encrypt(_nonce(seq), data, kind + seq.to_bytes(8, "big"))

    def open(self, seq: int, kind: bytes, data: bytes) -> bytes:
        """Decrypt a block; None-safe callers translate InvalidTag into corruption."""
        return self._aead.decrypt(_nonce(seq), data, kind + seq.to_bytes(8, "big"))


def _nonce(seq: int) -> bytes:
    return seq.to_bytes(12, "big")


__all__ = [
    "BlockCipher",
    "InvalidTag",
    "derive_file_key",
    "key_check",
    "key_kind",
    "new_salt",
]
