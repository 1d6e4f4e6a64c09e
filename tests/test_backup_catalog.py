"""The catalog of format version 2: complete, sorted, consistent with the records, checked.

The catalog is what the explorer answers from, so it must say exactly what the
records say: the entries read back from the catalog equal those a full scan
of the records gives; the writer sorts them in bounded memory (spilling sorted
runs); a catalog block edited out of order, or one whose entry disagrees with
its record, is damage naming the file, never an answer.
"""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rookdb
from backup_surgery import put_together, take_apart
from rookdb.backup import write_full_backup
from rookdb.backup.format import FORMAT_VERSION, SeekingReader
from rookdb.backup.format.entries import SortedSpool, _merged
from rookdb.errors import BackupCorrupted
from rookdb.explorer import open_backup


@pytest.fixture
def full(tmp_path: Path) -> Path:
    with rookdb.open(tmp_path / "data") as instance:
        db = instance.create_database("shop")
        db.bulk_insert((f"Users/{i}", {"n": i, "text": "x" * (i % 300)}) for i in range(4000))
        db.delete("Users/3")
        db.put_attachment("Users/1", "photo", b"\x89PNG" * 5000, "image/png")
        db.delete_attachment("Users/1", "photo")
        db.put_attachment("users/2", "doc", b"%PDF" * 10, "application/pdf")
        return write_full_backup(db, tmp_path / "backups").path


def test_the_catalog_equals_a_scan_of_the_records(full: Path) -> None:
    with SeekingReader(full) as reader:
        assert reader.header.format_version == FORMAT_VERSION == 2
        assert reader.trailer.catalog is not None
        assert len(reader.trailer.catalog.block_offsets) > 1  # several 64 KiB blocks
        catalog = list(reader.catalog_entries())
        scanned = sorted(reader.scan_catalog(), key=lambda e: (e.key, e.etag))
    assert catalog == scanned
    assert len(catalog) == reader.trailer.catalog.entries
    # Documents, attachments, and the deletes of both (a full carries tombstones too).
    assert {e.kind for e in catalog} == {"d", "t", "a", "x"}
    assert [e.key for e in catalog] == sorted(e.key for e in catalog)


def test_the_spool_sorts_in_runs_on_disk() -> None:
    rng = random.Random(7)
    keys = [f"k/{rng.randrange(10**9)}" for _ in range(120_000)]
    spool = SortedSpool()
    for etag, key in enumerate(keys):
        spool.add(key, etag, orjson.dumps([key, etag]))
    out = [orjson.loads(meta) for meta in spool.sorted()]
    spool.close()
    assert [tuple(item) for item in out] == sorted((k, e) for e, k in enumerate(keys))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.lists(st.binary(max_size=3), max_size=30), max_size=5),
    st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=5),
)
def test_merging_runs_read_in_chunks_gives_one_sorted_stream(
    runs: list[list[bytes]], chunk_sizes: list[int]
) -> None:
    # Each run sorted, read back in chunks of its own size (some empty, as a spill
    # file's chunk without a line end reads): the merge must give them all, in order.
    def chunks(run: list[bytes], size: int) -> list[list[bytes]]:
        pieces = [run[i : i + size] for i in range(0, len(run), size)]
        return [part for piece in pieces for part in ([], piece)]

    streams = [
        iter(chunks(sorted(run), chunk_sizes[i % len(chunk_sizes)])) for i, run in enumerate(runs)
    ]
    merged = [entry for batch in _merged(streams) for entry in batch]
    assert merged == sorted(entry for run in runs for entry in run)


def test_a_catalog_block_out_of_order_is_damage(full: Path) -> None:
    parts = take_apart(full)
    block = parts.catalog_blocks()[0]
    entries = orjson.loads(parts.raw(block))  # a catalog block is one JSON array
    # Two entries of different ids (an id's own entries may come in any etag order).
    later = next(i for i in range(2, len(entries)) if entries[i][1] != entries[1][1])
    entries[1], entries[later] = entries[later], entries[1]
    parts.set_raw(block, orjson.dumps(entries))
    put_together(parts, full)
    with (
        pytest.raises(BackupCorrupted, match=f"{full.name} is corrupted: .*out of order"),
        open_backup(full.parent) as explorer,
    ):
        explorer.get("Users/1")


def test_a_catalog_block_that_is_not_a_list_of_entries_is_damage(full: Path) -> None:
    parts = take_apart(full)
    block = parts.catalog_blocks()[0]
    entries = orjson.loads(parts.raw(block))
    entries[3] = {"not": "an entry"}
    parts.set_raw(block, orjson.dumps(entries))
    put_together(parts, full)
    with (
        pytest.raises(BackupCorrupted, match=f"{full.name} is corrupted: .*not a list of entries"),
        open_backup(full.parent) as explorer,
    ):
        explorer.get("Users/1")


def test_a_catalog_entry_that_disagrees_with_its_record_is_damage(full: Path) -> None:
    parts = take_apart(full)
    block = parts.catalog_blocks()[0]
    entries = orjson.loads(parts.raw(block))
    entry = entries[0]
    entry[2] += 1  # another etag than the record's
    parts.set_raw(block, orjson.dumps(entries))
    put_together(parts, full)
    doc_id = entry[1]
    with (
        pytest.raises(BackupCorrupted, match=f"{full.name} is corrupted: .*does not match"),
        open_backup(full.parent) as explorer,
    ):
        explorer.get(doc_id)
