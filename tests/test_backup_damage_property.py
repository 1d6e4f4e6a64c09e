"""Property: however a backup file is damaged, reading it succeeds or says the file is damaged.

Reading means everything restore and verify read: header, trailer, checksum,
every record and attachment chunk, the index, the counts. The only errors
allowed are BackupCorrupted and EncryptionKeyError; anything else (an
AssertionError, a ValueError, a codec's own error) fails the property.

Raw damage is almost always caught by a checksum, so the other properties
re-sign every checksum after damaging the inside of a block, its stored
(compressed) bytes or the header, so that the parsers themselves meet the bad
bytes.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rookdb
from backup_surgery import RAW_KEY, BackupParts, put_together, read_everything, take_apart
from rookdb.backup import verify_file, write_full_backup
from rookdb.errors import BackupCorrupted, EncryptionKeyError

PLAIN = ("zstd", "gzip", "none")
Templates = dict[str, bytes]

# Positions are drawn large and taken modulo the length of what is damaged.
flips = st.lists(st.tuples(st.integers(0, 1 << 30), st.integers(1, 255)), min_size=1, max_size=4)
damage = st.one_of(
    st.tuples(st.just("flip"), flips),
    st.tuples(st.just("cut"), st.integers(0, 1 << 30)),
    st.tuples(
        st.just("insert"), st.tuples(st.integers(0, 1 << 30), st.binary(min_size=1, max_size=16))
    ),
)


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    root = tmp_path_factory.mktemp("property")
    with rookdb.open(root / "data") as inst:
        db = inst.create_database("shop")
        for i in range(20):
            db.put(f"users/{i}", {"name": f"user {i}", "tags": ["a", "é"]})
        db.delete("users/3")
        db.put_attachment("users/1", "a.bin", bytes(range(256)) * 8, "application/octet-stream")
        db.next_identity("invoices")
        db.create_index("ByName", "Users", ["name"])
        files = {c: write_full_backup(db, root / c, compression=c).path for c in PLAIN}
        files["encrypted"] = write_full_backup(db, root / "e", encryption_key=RAW_KEY).path
        files["snapshot"] = write_full_backup(db, root / "s", backup_type="snapshot").path
        yield {name: path.read_bytes() for name, path in files.items()}


def damaged(data: bytes, how: tuple[str, object]) -> bytes:
    kind, arg = how
    if not data:
        return data
    if kind == "flip":
        out = bytearray(data)
        for position, mask in arg:  # type: ignore[attr-defined]
            out[position % len(out)] ^= mask
        return bytes(out)
    if kind == "cut":
        return data[: int(arg) % len(data)]  # type: ignore[call-overload]
    position, extra = arg  # type: ignore[misc]
    position %= len(data) + 1
    return data[:position] + extra + data[position:]


def assert_read_or_refused(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "2026-01-01-00-00-00.rookdb-full-backup"
        path.write_bytes(data)
        key = RAW_KEY if name == "encrypted" else None
        # Only these two may escape; anything else fails the property.
        with contextlib.suppress(BackupCorrupted, EncryptionKeyError):
            read_everything(path, key)
            verify_file(path, encryption_key=key)


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(["zstd", "gzip", "none", "encrypted", "snapshot"]), how=damage)
def test_raw_damage_anywhere_is_read_or_refused(
    templates: Templates, name: str, how: tuple[str, object]
) -> None:
    assert_read_or_refused(damaged(templates[name], how), name)


def _resigned(templates: Templates, name: str, change: Callable[[BackupParts], None]) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "file"
        path.write_bytes(templates[name])
        parts = take_apart(path)
        change(parts)
        put_together(parts, path)
        return path.read_bytes()


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from([*PLAIN, "snapshot"]), block=st.integers(0, 100), how=damage)
def test_damage_inside_a_block_is_read_or_refused(
    templates: Templates, name: str, block: int, how: tuple[str, object]
) -> None:
    # The records and index entries themselves are damaged; every checksum is right.
    def change(parts: BackupParts) -> None:
        target = parts.blocks[block % len(parts.blocks)]
        parts.set_raw(target, damaged(parts.raw(target), how))

    assert_read_or_refused(_resigned(templates, name, change), name)


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(["zstd", "gzip", "encrypted"]), block=st.integers(0, 100), how=damage)
def test_damage_to_a_blocks_stored_bytes_is_read_or_refused(
    templates: Templates, name: str, block: int, how: tuple[str, object]
) -> None:
    # What the decompressor (and the cipher) meet: a frame or member bent out of shape.
    def change(parts: BackupParts) -> None:
        target = parts.blocks[block % len(parts.blocks)]
        target.stored = damaged(target.stored, how)

    assert_read_or_refused(_resigned(templates, name, change), name)


@settings(max_examples=100, deadline=None)
@given(name=st.sampled_from(["zstd", "encrypted"]), how=damage)
def test_damage_to_the_header_is_read_or_refused(
    templates: Templates, name: str, how: tuple[str, object]
) -> None:
    # The header's own digest is re-signed too: its fields are what is checked.
    def change(parts: BackupParts) -> None:
        parts.header_text = damaged(parts.header_text, how)

    assert_read_or_refused(_resigned(templates, name, change), name)
