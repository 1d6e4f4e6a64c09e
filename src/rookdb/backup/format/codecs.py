"""Block codecs: every block compressed on its own, then sealed when the file is encrypted.

Why one codec run per block: a reader can open any block alone (the index
points at blocks, so a later "read one document" seeks instead of streaming
the file), damage stays inside one block and is named there, and memory is one
block whatever the database size. zstd is the default (fast, a good ratio);
gzip is there for tools that only speak gzip; "none" for data that is already
compressed.

Encryption is a hook around compression, as crypto.py defines it: AES-256-GCM
per block, the block's sequence number as nonce and its kind and position as
associated data, so blocks cannot be reordered or moved between files. The
header carries the salt and a key check, so a wrong key is told before any
block is read.

Decoding is strict: a block must give exactly the size its frame claims, from
one zstd frame or one complete gzip member with nothing after it, and no codec
may produce more than that claim, so a small hostile block cannot make a reader
set aside memory it never declared. Failures are ValueError saying what is
wrong; the reader names the file and the block.
"""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING

import zstandard

from rookdb.backup.format.layout import COMPRESSIONS
from rookdb.errors import EncryptionKeyError, InvalidInput

if TYPE_CHECKING:
    # Loaded only for encrypted files: reading a plain backup (a `backup get`) does
    # not pay for importing the cryptography package.
    from rookdb.backup import crypto

# Level 2, not zstd's default 3: compression is ~40 % of a full backup's CPU, and on
# the benchmark's documents level 2 took 22 % less of it (1.15 s against 1.48 s for
# 209 MB of bodies) for a file 1.2 % larger (98.7 MB against 97.6 MB). Level 1 takes
# another 20 % off but writes 11 % more. Any level reads back the same way.
ZSTD_LEVEL = 2
_ZSTD_SIZE_UNKNOWN = -1


def check_compression(name: str) -> str:
    """`name` when it is a compression rookdb writes, else InvalidInput naming the field."""
    if name not in COMPRESSIONS:
        raise InvalidInput(
            f"unknown compression {name!r}; use one of {', '.join(COMPRESSIONS)}",
            field="compression",
        )
    return name


class BlockCodec:
    """Turns a block's raw bytes into the bytes stored in the file, and back."""

    def __init__(self, compression: str, cipher: crypto.BlockCipher | None = None) -> None:
        self._compress = _compressor(compression)
        self._decompress = _decompressor(compression)
        self._cipher = cipher

    def seal(self, seq: int, kind: bytes, raw: bytes) -> bytes:
        """Compress (and encrypt) block number `seq`; safe to call from several threads."""
        stored = self._compress(raw)
        if self._cipher is not None:
            stored = self._cipher.seal(seq, kind, stored)
        return stored

    def open(self, seq: int, kind: bytes, stored: bytes, raw_len: int) -> bytes:
        """The raw bytes of block number `seq`; ValueError saying what is wrong."""
        if self._cipher is not None:
            from rookdb.backup.crypto import InvalidTag

            try:
                stored = self._cipher.open(seq, kind, stored)
            except InvalidTag:
                raise ValueError("fails authentication") from None
        raw = self._decompress(stored, raw_len)
        if len(raw) != raw_len:
            raise ValueError(f"has the wrong size: {len(raw)} bytes where it claims {raw_len}")
        return raw


def new_file_cipher(user_key: str) -> tuple[crypto.BlockCipher, dict[str, str]]:
    """A cipher for a new file, and the header's `encryption` entry a reader rebuilds it from."""
    from rookdb.backup import crypto

    kind = crypto.key_kind(user_key)
    salt = crypto.new_salt()
    file_key = crypto.derive_file_key(user_key, salt, kind)
    info = {
        "cipher": "AES-256-GCM",
        "kdf": "hkdf-sha256" if kind == "raw" else "scrypt",
        "key": kind,
        "salt": salt.hex(),
        "check": crypto.key_check(file_key),
    }
    return crypto.BlockCipher(file_key), info


def file_cipher(info: dict[str, str], user_key: str) -> crypto.BlockCipher:
    """Rebuild a file's cipher from its header; EncryptionKeyError when the key is not its key.

    `info` is the header's checked `encryption` entry (layout.BackupHeader.from_json).
    """
    from rookdb.backup import crypto

    file_key = crypto.derive_file_key(user_key, bytes.fromhex(info["salt"]), info["key"])
    if crypto.key_check(file_key) != info["check"]:
        raise EncryptionKeyError("the key check in the header does not match")
    return crypto.BlockCipher(file_key)


def _compressor(name: str) -> Callable[[bytes], bytes]:
    if name == "zstd":
        # One compressor per worker thread: zstandard contexts are not thread-safe.
        local = threading.local()

        def compress(data: bytes) -> bytes:
            cctx = getattr(local, "cctx", None)
            if cctx is None:
                cctx = local.cctx = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
            return bytes(cctx.compress(data))

        return compress
    if name == "gzip":
        return lambda data: gzip.compress(data, compresslevel=6, mtime=0)
    if name == "none":
        return bytes
    raise ValueError(f"unknown compression {name!r}")


def _decompressor(name: str) -> Callable[[bytes, int], bytes]:
    if name == "zstd":
        return _unzstd
    if name == "gzip":
        return _gunzip
    if name == "none":
        return lambda data, _size: data
    raise ValueError(f"unknown compression {name!r}")


def _unzstd(data: bytes, size: int) -> bytes:
    try:
        # A frame that records its own content size is decoded into a buffer of
        # that size whatever max_output_size says: refuse a claim the block does
        # not make before zstd allocates it.
        claimed = zstandard.frame_content_size(data)
        if claimed not in (_ZSTD_SIZE_UNKNOWN, size):
            raise ValueError(
                f"does not decompress: its zstd frame claims {claimed} bytes, the block {size}"
            )
        # A new context per block: zstd contexts are not thread-safe and this is cheap.
        dctx = zstandard.ZstdDecompressor()
        return dctx.decompress(data, max_output_size=size, allow_extra_data=False)
    except zstandard.ZstdError as exc:
        raise ValueError(f"does not decompress: {exc}") from exc


def _gunzip(data: bytes, size: int) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        # Bounded: a small block that inflates far beyond what it claims stops at size + 1.
        raw = inflater.decompress(data, size + 1)
    except zlib.error as exc:
        raise ValueError(f"does not decompress: {exc}") from exc
    if len(raw) != size:
        return raw  # the caller reports the wrong size
    # The member's own CRC-32 and length come after the data: a member cut
    # before them, or followed by anything, is not what the writer wrote.
    if not inflater.eof:
        raise ValueError("does not decompress: its gzip member is cut short")
    if inflater.unused_data:
        raise ValueError("does not decompress: bytes follow its gzip member")
    return raw
