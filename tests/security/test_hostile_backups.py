"""Hostile backup files: giant size claims, decompression bombs, names that try to leave the
restore folder. Each is a clear error and nothing is restored."""

from __future__ import annotations

import hashlib
import struct
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import zstandard

from rookdb import Instance
from rookdb.backup import write_full_backup
from rookdb.errors import BackupCorrupted, InvalidInput
from rookdb.restore import restore_database
from rookdb.restore.source import DestinationSource

_U32 = struct.Struct("<I")
_BLOCK = struct.Struct("<cIII")
_FOOTER = struct.Struct("<II8s")
BlockChange = Callable[[bytes, int], tuple[bytes, int]]


def rewrite_first_block(path: Path, change: BlockChange) -> None:
    """Replace the first block's bytes and claimed size, then fix every checksum so that only
    the reader's own plausibility checks can catch it (as an attacker would)."""
    data = path.read_bytes()
    header_len = _U32.unpack_from(data, 8)[0]
    start = 12 + header_len
    trailer_len, _crc, end_magic = _FOOTER.unpack_from(data, len(data) - _FOOTER.size)
    trailer_start = len(data) - _FOOTER.size - trailer_len
    kind, stored_len, raw_len, _ = _BLOCK.unpack_from(data, start)
    stored = data[start + _BLOCK.size : start + _BLOCK.size + stored_len]
    new_stored, new_raw_len = change(stored, raw_len)
    frame = _BLOCK.pack(kind, len(new_stored), new_raw_len, zlib.crc32(new_stored))
    body = (
        data[:start] + frame + new_stored + data[start + _BLOCK.size + stored_len : trailer_start]
    )
    trailer = orjson.loads(data[trailer_start : len(data) - _FOOTER.size])
    moved = len(new_stored) - stored_len
    trailer["index_offset"] += moved
    if trailer.get("catalog"):  # version 2: the catalog after the index moves too
        catalog = trailer["catalog"]
        catalog["offset"] += moved
        catalog["blocks"] = [[key, offset + moved, seq] for key, offset, seq in catalog["blocks"]]
    trailer["sha256"] = hashlib.sha256(body).hexdigest()
    raw_trailer = orjson.dumps(trailer)
    footer = _FOOTER.pack(len(raw_trailer), zlib.crc32(raw_trailer), end_magic)
    path.write_bytes(body + raw_trailer + footer)


def _zstd_zeros(size: int) -> bytes:
    # Streamed, so the frame does not record its size: a reader must trust the block's claim.
    out = zstandard.ZstdCompressor().compressobj()
    chunk = bytes(1 << 20)
    return b"".join(out.compress(chunk) for _ in range(size >> 20)) + out.flush()


def _gzip_zeros(size: int) -> bytes:
    out = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = bytes(1 << 20)
    return b"".join(out.compress(chunk) for _ in range(size >> 20)) + out.flush()


def _backup(instance: Instance, tmp_path: Path, compression: str) -> Path:
    db = instance.create_database("shop")
    for i in range(20):
        db.put(f"users/{i}", {"name": f"user {i}"})
    return write_full_backup(db, tmp_path / "backups", compression=compression).path


def _assert_nothing_restored(instance: Instance) -> None:
    assert not instance.has_database("copy")
    staging = instance.data_dir / "staging"
    assert not staging.exists() or not any(staging.iterdir())


def _peak_while(run: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        run()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_a_block_claiming_a_giant_size_is_refused_before_memory_is_used(
    instance: Instance, tmp_path: Path
) -> None:
    path = _backup(instance, tmp_path, "zstd")
    rewrite_first_block(path, lambda _s, _n: (_zstd_zeros(300 << 20), 300 << 20))

    def restore() -> None:
        with pytest.raises(BackupCorrupted, match="claims 314572800 bytes"):
            restore_database(instance, path.parent, "copy")

    assert _peak_while(restore) < 64 << 20
    _assert_nothing_restored(instance)


def test_a_gzip_bomb_stops_at_the_size_it_claims(instance: Instance, tmp_path: Path) -> None:
    path = _backup(instance, tmp_path, "gzip")
    rewrite_first_block(path, lambda _s, raw_len: (_gzip_zeros(200 << 20), raw_len))

    def restore() -> None:
        with pytest.raises(BackupCorrupted, match="wrong size"):
            restore_database(instance, path.parent, "copy")

    assert _peak_while(restore) < 64 << 20
    _assert_nothing_restored(instance)


def test_a_claimed_4gib_block_in_a_file_is_reported_by_name(
    instance: Instance, tmp_path: Path
) -> None:
    path = _backup(instance, tmp_path, "none")
    rewrite_first_block(path, lambda stored, _n: (stored, 0xFFFFFFFF))
    with pytest.raises(BackupCorrupted, match=f"{path.name}.*claims 4294967295 bytes"):
        restore_database(instance, path.parent, "copy")
    _assert_nothing_restored(instance)


def test_a_url_whose_folder_name_climbs_out_is_refused(
    instance: Instance,
    tmp_path: Path,
    s3_endpoint_client: Any,
    s3_endpoint_options: dict[str, str],
) -> None:
    path = _backup(instance, tmp_path, "zstd")
    bucket = s3_endpoint_client
    bucket.create_bucket(Bucket="evil")
    climb = "../../../../escaped"
    # A bucket whose keys hold the climb, as a hostile or careless store could.
    bucket.put_object(Bucket="evil", Key=f"x/{climb}/{path.name}", Body=path.read_bytes())
    url = "s3://evil/x/" + climb.replace("/", "%2F")
    with pytest.raises(InvalidInput, match="not a run folder name"):
        restore_database(instance, DestinationSource(url, s3_endpoint_options), "copy")
    assert not (tmp_path / "escaped").exists()
    assert not (instance.data_dir / "escaped").exists()
    _assert_nothing_restored(instance)
