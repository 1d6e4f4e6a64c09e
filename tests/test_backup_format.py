"""The backup file format under damage: every malformed part is BackupCorrupted naming the file.

Each test damages one part of a real backup (a header field, the trailer, a
block, one record, an index entry) and re-signs whatever checksum would
otherwise catch it first (see backup_surgery), so the reader's own parsing
meets the bad data. Nothing else may escape: no AssertionError, ValueError,
KeyError, struct.error, UnicodeDecodeError or codec error.
"""

from __future__ import annotations

import hashlib
import shutil
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import zstandard

import rookdb
from backup_surgery import (
    RAW_KEY,
    RECORD,
    BackupParts,
    Block,
    put_together,
    read_everything,
    rewrite_trailer,
    take_apart,
)
from rookdb.backup import (
    BackupReader,
    latest_chain,
    read_file_info,
    read_run_folder,
    verify_file,
    verify_run_folder,
    write_full_backup,
    write_incremental_backup,
)
from rookdb.errors import BackupCorrupted
from rookdb.restore import restore_database

V1_FILES = Path(__file__).parent / "data" / "backup-format-v1"
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Templates:
    """Backups of one small database, written once per module and copied into each test."""

    full: dict[str, Path]  # by compression; "encrypted" is zstd sealed with RAW_KEY
    incremental: Path  # follows full["zstd"] in its run folder
    snapshot: Path


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    root = tmp_path_factory.mktemp("templates")
    with rookdb.open(root / "data") as inst:
        db = inst.create_database("shop")
        for i in range(30):
            db.put(f"users/{i}", {"name": f"user {i}", "age": i})
        db.delete("users/3")
        db.put_attachment("users/1", "photo.bin", bytes(range(256)) * 20, "image/png")
        db.next_identity("invoices")
        db.create_index("UsersByAge", "Users", ["age"])
        full = {
            c: write_full_backup(db, root / c, compression=c, now=T0).path
            for c in ("zstd", "gzip", "none")
        }
        full["encrypted"] = write_full_backup(db, root / "enc", encryption_key=RAW_KEY).path
        db.put("users/new", {"name": "new"})
        db.delete("users/4")
        inc = write_incremental_backup(db, full["zstd"].parent, db.last_etag - 2)
        assert inc is not None
        snap = write_full_backup(db, root / "snap", backup_type="snapshot").path
        yield Templates(full, inc.path, snap)


def copy_of(path: Path, tmp_path: Path) -> Path:
    """A copy of `path` in a run folder of the same name under `tmp_path`."""
    folder = tmp_path / "backups" / path.parent.name
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(path, folder / path.name))


def assert_nothing_restored(instance: rookdb.Instance) -> None:
    assert not instance.has_database("copy")
    staging = instance.data_dir / "staging"
    assert not staging.exists() or not any(staging.iterdir())


# -- files of format version 1 written before this change -----------------------------------
def test_files_written_before_the_header_digest_still_verify_and_restore(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    # Written by rookdb 265460b, whose trailer did not yet sign the header on its own.
    folders = shutil.copytree(V1_FILES, tmp_path / "v1")
    plain = next((folders / "plain").iterdir())
    for file in plain.iterdir():
        assert "header_sha256" not in take_apart(file).trailer
    assert verify_run_folder(plain).ok
    restore_database(instance, plain, "copy")
    copy = instance.database("copy")
    assert copy.count() == 30
    assert copy.get("users/3") is None
    assert copy.get("users/4").body == {"name": "changed", "age": 99}  # type: ignore[union-attr]
    assert copy.get("users/new") is not None
    assert copy.last_etag == 38
    encrypted = next((folders / "encrypted").iterdir())
    assert verify_run_folder(encrypted, encryption_key=RAW_KEY).ok
    restore_database(instance, encrypted, "snap", encryption_key=RAW_KEY)
    assert instance.database("snap").count() == 30
    assert instance.database("snap").next_identity("invoices") == 3


def test_an_index_entry_split_across_two_blocks_by_an_earlier_writer_is_read(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    # Earlier writers cut the index into blocks every 1 MB, even inside an entry.
    folder = shutil.copytree(V1_FILES / "split-index", tmp_path / "split")
    file = next(folder.rglob("*.rookdb-full-backup"))
    first_index = take_apart(file).index_blocks()[0]
    assert first_index.raw_len == 1 << 20
    with BackupReader(file) as reader:
        ids = [doc_id for _offset, chunk in reader.index_entries() for doc_id in chunk]
    assert len(ids) == 3000
    assert ids[0] == "users/00000-" + "x" * 400
    restore_database(instance, file.parent, "copy")
    assert instance.database("copy").count() == 3000


def test_index_blocks_end_between_entries(instance: rookdb.Instance, tmp_path: Path) -> None:
    db = instance.create_database("shop")
    db.bulk_insert((f"users/{i:05d}-" + "x" * 400, {"n": i}) for i in range(3000))
    path = write_full_backup(db, tmp_path / "b").path
    parts = take_apart(path)
    assert sum(block.raw_len for block in parts.index_blocks()) > 1 << 20
    ids = []
    for block in parts.index_blocks():
        for kind, meta, _data in parts.records(block):  # each block holds whole entries
            assert kind == b"K"
            ids += orjson.loads(meta)[1]
    assert len(ids) == 3000


# -- the header is signed --------------------------------------------------------------------
def test_the_trailer_signs_the_header(templates: Templates) -> None:
    for path in (*templates.full.values(), templates.incremental, templates.snapshot):
        data = path.read_bytes()
        header_end = 12 + int.from_bytes(data[8:12], "little")
        trailer = take_apart(path).trailer
        assert trailer["header_sha256"] == hashlib.sha256(data[:header_end]).hexdigest()


@pytest.mark.parametrize(
    "edit",
    [
        {"last_etag": 1_000_000},  # a longer header: every block and the index move
        {"since_etag": 0},
        {"last_etag": 0, "since_etag": 0},
        {"node": "Z"},
        {"created_at": "2020-01-01T00:00:00.000Z"},
    ],
    ids=["last_etag", "since_etag", "range", "node", "created_at"],
)
def test_an_edited_header_in_a_reframed_file_is_caught_when_it_is_opened(
    instance: rookdb.Instance, templates: Templates, tmp_path: Path, edit: dict[str, object]
) -> None:
    # Lengths, offsets, block CRCs, the content SHA-256 and the trailer CRC are all
    # re-signed; only the trailer's digest of the header itself is left as written.
    shutil.copy(templates.full["zstd"], copy_of(templates.full["zstd"], tmp_path))
    victim = copy_of(templates.incremental, tmp_path)
    parts = take_apart(victim)
    parts.edit_header(**edit)
    put_together(parts, victim, header_digest="keep")
    for read in (read_file_info, verify_file, read_everything):
        with pytest.raises(BackupCorrupted, match=f"{victim.name} is corrupted: the header"):
            read(victim)
    listing = read_run_folder(victim.parent)
    assert victim.name in listing.unreadable
    # The next incremental continues from what the intact files say, not the edited header.
    chain = latest_chain(tmp_path / "backups")
    assert (
        chain is not None
        and chain.last_etag == take_apart(templates.full["zstd"]).header["last_etag"]
    )
    with pytest.raises(BackupCorrupted, match=victim.name):
        restore_database(instance, victim.parent, "copy")
    assert_nothing_restored(instance)


def test_a_header_edited_in_place_is_caught_by_a_listing(
    templates: Templates, tmp_path: Path
) -> None:
    # Only the full SHA-256 pass of a verify or restore caught this before; a listing,
    # which decides where the next incremental continues, believed the edited range.
    victim = copy_of(templates.incremental, tmp_path)
    data = victim.read_bytes()
    last = take_apart(victim).header["last_etag"]
    forged = str(last + 1).encode()
    assert len(forged) == len(str(last))
    old = b'"last_etag":' + str(last).encode()
    victim.write_bytes(data.replace(old, b'"last_etag":' + forged, 1))
    with pytest.raises(BackupCorrupted, match=f"{victim.name} is corrupted: the header"):
        read_file_info(victim)


@pytest.mark.parametrize(
    ("edit", "what"),
    [
        ({"last_etag": 5}, "etag .* is outside the header's range"),
        ({"since_etag": 1_000}, "etag .* is outside the header's range"),
    ],
    ids=["last_etag lowered", "since_etag raised"],
)
def test_records_outside_the_header_range_are_refused(
    instance: rookdb.Instance,
    templates: Templates,
    tmp_path: Path,
    edit: dict[str, object],
    what: str,
) -> None:
    # Every checksum re-signed, the header's digest too: the records themselves
    # contradict the range the header claims.
    victim = copy_of(templates.full["zstd"], tmp_path)
    parts = take_apart(victim)
    parts.edit_header(**edit)
    put_together(parts, victim)
    with pytest.raises(BackupCorrupted, match=f"{victim.name} is corrupted: .*{what}"):
        read_everything(victim)
    with pytest.raises(BackupCorrupted, match=victim.name):
        restore_database(instance, victim.parent, "copy")
    assert_nothing_restored(instance)


# -- header fields ---------------------------------------------------------------------------
HEADER_DAMAGE: list[tuple[str, Callable[[BackupParts], None], str]] = [
    ("not an object", lambda p: setattr(p, "header_text", b"[1, 2]"), "not a JSON object"),
    ("since_etag text", lambda p: p.edit_header(since_etag="0"), "'since_etag'"),
    ("last_etag negative", lambda p: p.edit_header(last_etag=-1), "'last_etag'"),
    ("last_etag fraction", lambda p: p.edit_header(last_etag=3.5), "'last_etag'"),
    ("kind unknown", lambda p: p.edit_header(kind="weekly"), "'kind'"),
    ("type unknown", lambda p: p.edit_header(type="tarball"), "'type'"),
    ("database a number", lambda p: p.edit_header(database=7), "'database'"),
    ("node missing", lambda p: setattr(p, "header_text", _without(p, "node")), "'node'"),
    ("compression unknown", lambda p: p.edit_header(compression="lz4"), "'compression'"),
    ("encrypted text", lambda p: p.edit_header(encrypted="no"), "'encrypted'"),
    ("version text", lambda p: p.edit_header(format_version="1"), "'format_version'"),
    ("plain with a cipher", lambda p: p.edit_header(encryption={"key": "raw"}), "'encryption'"),
    ("claim a list", lambda p: p.edit_header(claim=[1]), "'claim'"),
    (
        "claim revision text",
        lambda p: p.edit_header(
            claim={"task_id": "t", "node": "A", "holder": "h", "revision": "1"}
        ),
        "'claim'.*'revision'",
    ),
]


def _without(parts: BackupParts, field: str) -> bytes:
    header = parts.header
    del header[field]
    return orjson.dumps(header)


@pytest.mark.parametrize(
    ("damage", "what"), [(d, w) for _n, d, w in HEADER_DAMAGE], ids=[n for n, *_ in HEADER_DAMAGE]
)
def test_a_malformed_header_field_is_named(
    templates: Templates, tmp_path: Path, damage: Callable[[BackupParts], None], what: str
) -> None:
    victim = copy_of(templates.full["zstd"], tmp_path)
    parts = take_apart(victim)
    damage(parts)
    put_together(parts, victim)
    with pytest.raises(BackupCorrupted, match=f"{victim.name} is corrupted: .*header.*{what}"):
        read_file_info(victim)


ENCRYPTION_DAMAGE: list[tuple[str, object]] = [
    ("salt not hex", {"salt": "zz"}),
    ("salt not text", {"salt": 12}),
    ("key kind unknown", {"key": "rot13"}),
    ("parameters a list", [1, 2]),
    ("parameters missing", None),
]


@pytest.mark.parametrize(
    "encryption", [e for _n, e in ENCRYPTION_DAMAGE], ids=[n for n, _e in ENCRYPTION_DAMAGE]
)
def test_malformed_encryption_parameters_are_corruption_not_a_wrong_key(
    templates: Templates, tmp_path: Path, encryption: object
) -> None:
    victim = copy_of(templates.full["encrypted"], tmp_path)
    parts = take_apart(victim)
    if isinstance(encryption, dict):
        encryption = {**parts.header["encryption"], **encryption}
    parts.edit_header(encryption=encryption)
    put_together(parts, victim)
    with pytest.raises(BackupCorrupted, match=f"{victim.name} is corrupted: .*'encryption'"):
        read_everything(victim, RAW_KEY)


# -- the trailer -----------------------------------------------------------------------------
TRAILER_DAMAGE: list[tuple[str, Callable[[dict[str, object]], dict[str, object]], str]] = [
    ("blocks text", lambda t: {"blocks": "x"}, "'blocks'"),
    ("counts a list", lambda t: {"counts": [1]}, "'counts'"),
    ("count negative", lambda t: {"counts": {"documents": -1}}, "'counts'"),
    ("sha256 a number", lambda t: {"sha256": 12}, "'sha256'"),
    ("header digest short", lambda t: {"header_sha256": "ab"}, "'header_sha256'"),
    ("index_offset past the end", lambda t: {"index_offset": 10**9}, "index_offset"),
    ("index_offset inside the header", lambda t: {"index_offset": 3}, "index_offset"),
]


@pytest.mark.parametrize(
    ("damage", "what"), [(d, w) for _n, d, w in TRAILER_DAMAGE], ids=[n for n, *_ in TRAILER_DAMAGE]
)
def test_a_malformed_trailer_field_is_named(
    templates: Templates,
    tmp_path: Path,
    damage: Callable[[dict[str, object]], dict[str, object]],
    what: str,
) -> None:
    victim = copy_of(templates.full["zstd"], tmp_path)
    rewrite_trailer(victim, **damage(take_apart(victim).trailer))
    with pytest.raises(BackupCorrupted, match=f"{victim.name} is corrupted: .*trailer.*{what}"):
        read_file_info(victim)


def test_a_trailer_that_miscounts_the_blocks_is_refused(
    templates: Templates, tmp_path: Path
) -> None:
    victim = copy_of(templates.full["zstd"], tmp_path)
    rewrite_trailer(victim, blocks=take_apart(victim).trailer["blocks"] + 1)
    with pytest.raises(BackupCorrupted, match=f"{victim.name} is corrupted: .*blocks"):
        read_everything(victim)


def test_an_index_offset_that_is_not_where_the_index_starts_is_refused(
    templates: Templates, tmp_path: Path
) -> None:
    victim = copy_of(templates.full["none"], tmp_path)
    parts = take_apart(victim)
    first = parts.blocks[0]
    rewrite_trailer(victim, index_offset=first.offset)  # a data block, not the index
    with pytest.raises(BackupCorrupted, match=f"{victim.name} is corrupted: .*index"):
        read_everything(victim)


def test_a_data_block_after_the_index_is_refused(templates: Templates, tmp_path: Path) -> None:
    victim = copy_of(templates.full["none"], tmp_path)
    parts = take_apart(victim)
    data, index = parts.data_blocks(), parts.index_blocks()
    assert data and index
    parts.blocks = data[:-1] + index + data[-1:] + parts.catalog_blocks()
    put_together(parts, victim)
    with pytest.raises(BackupCorrupted, match=f"{victim.name} is corrupted: .*index"):
        read_everything(victim)


# -- blocks ----------------------------------------------------------------------------------
def _zstd_with_tail(p: BackupParts, b: Block) -> None:
    b.stored += b"tail"


def _gzip_cut(p: BackupParts, b: Block) -> None:
    b.stored = b.stored[:-8]  # the member's CRC-32 and size are gone, the data is whole


def _gzip_with_tail(p: BackupParts, b: Block) -> None:
    b.stored += b"\x1f\x8b tail"


def _gzip_bad_crc(p: BackupParts, b: Block) -> None:
    b.stored = b.stored[:-8] + bytes([b.stored[-8] ^ 1]) + b.stored[-7:]


def _garbage(p: BackupParts, b: Block) -> None:
    b.stored = bytes(range(200))


def _kind(p: BackupParts, b: Block) -> None:
    b.kind = b"Z"


def _raw_len_short(p: BackupParts, b: Block) -> None:
    b.raw_len -= 1


def _stored_len_past_the_trailer(p: BackupParts, b: Block) -> None:
    b.stored_len_claim = len(b.stored) + 10_000_000


def _stored_len_absurd(p: BackupParts, b: Block) -> None:
    b.stored_len_claim = 0xFFFFFFFF


def _raw_len_absurd(p: BackupParts, b: Block) -> None:
    b.raw_len = 0xFFFFFFFF


BLOCK_DAMAGE: list[tuple[str, str, Callable[[BackupParts, Block], None], str]] = [
    ("zstd garbage", "zstd", _garbage, "does not decompress"),
    ("zstd frame with bytes after it", "zstd", _zstd_with_tail, "does not decompress"),
    ("gzip garbage", "gzip", _garbage, "does not decompress"),
    ("gzip member cut before its end", "gzip", _gzip_cut, "does not decompress"),
    ("gzip member with bytes after it", "gzip", _gzip_with_tail, "does not decompress"),
    ("gzip member with a wrong CRC", "gzip", _gzip_bad_crc, "does not decompress"),
    ("unknown kind", "none", _kind, "unknown block kind"),
    ("raw length short", "none", _raw_len_short, "wrong size"),
    ("raw length absurd", "zstd", _raw_len_absurd, "claims 4294967295 bytes"),
    ("stored length past the trailer", "none", _stored_len_past_the_trailer, "past the trailer"),
    ("stored length absurd", "none", _stored_len_absurd, "claims 4294967295 stored bytes"),
]


@pytest.mark.parametrize(
    ("compression", "damage", "what"),
    [(c, d, w) for _n, c, d, w in BLOCK_DAMAGE],
    ids=[n for n, *_ in BLOCK_DAMAGE],
)
def test_a_malformed_block_is_named(
    instance: rookdb.Instance,
    templates: Templates,
    tmp_path: Path,
    compression: str,
    damage: Callable[[BackupParts, Block], None],
    what: str,
) -> None:
    victim = copy_of(templates.full[compression], tmp_path)
    parts = take_apart(victim)
    damage(parts, parts.blocks[0])
    put_together(parts, victim)
    pattern = f"{victim.name} is corrupted: block at offset {parts.blocks[0].offset}.*{what}"
    with pytest.raises(BackupCorrupted, match=pattern):
        read_everything(victim)
    with pytest.raises(BackupCorrupted, match=victim.name):
        restore_database(instance, victim.parent, "copy")
    assert_nothing_restored(instance)


def test_a_zstd_frame_claiming_more_than_its_block_is_refused_before_memory_is_used(
    templates: Templates, tmp_path: Path
) -> None:
    # A frame that records its own content size is decoded into a buffer of that
    # size, whatever size the reader asks for: 300 MB from a block of a few KB.
    victim = copy_of(templates.full["zstd"], tmp_path)
    parts = take_apart(victim)
    first = parts.blocks[0]
    size = 300 << 20
    out = zstandard.ZstdCompressor().compressobj(size=size)
    zeros = bytes(1 << 20)
    first.stored = b"".join(out.compress(zeros) for _ in range(size >> 20)) + out.flush()
    put_together(parts, victim)
    tracemalloc.start()
    try:
        with pytest.raises(BackupCorrupted, match=f"{victim.name} .*frame claims {size} bytes"):
            read_everything(victim)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20


def test_a_sealed_block_that_fails_authentication_is_named(
    templates: Templates, tmp_path: Path
) -> None:
    victim = copy_of(templates.full["encrypted"], tmp_path)
    parts = take_apart(victim)
    first = parts.blocks[0]
    first.stored = first.stored[:-1] + bytes([first.stored[-1] ^ 1])
    put_together(parts, victim)
    with pytest.raises(BackupCorrupted, match=f"{victim.name} .*fails authentication"):
        read_everything(victim, RAW_KEY)


# -- records ---------------------------------------------------------------------------------
def _meta(*fields: object) -> bytes:
    return orjson.dumps(list(fields))


WHEN = "2026-01-01T00:00:00.000Z"
DOC = ("users/x", "Users", WHEN, "A:1")  # id, collection, last modified, change vector
RECORD_DAMAGE: list[tuple[str, bytes, bytes, bytes, str]] = [
    # name, kind, meta, data, what the error names
    ("document without meta", b"D", b"", b"{}", "document record"),
    ("meta not JSON", b"D", b"[1,", b"{}", "not JSON"),
    ("document meta too short", b"D", _meta(1, "users/x"), b"{}", "document record"),
    ("document meta an object", b"D", b'{"etag": 1}', b"{}", "document record"),
    ("document etag text", b"D", _meta("1", *DOC, None), b"{}", "'etag'"),
    ("document id a number", b"D", _meta(1, 5, *DOC[1:], None), b"{}", "'id'"),
    ("attachment names text", b"D", _meta(1, *DOC, "photo"), b"{}", "'attachments'"),
    ("document body not UTF-8", b"D", _meta(1, *DOC, None), b'{"a": "\xff"}', "UTF-8"),
    ("tombstone meta too short", b"T", _meta(1), b"", "tombstone record"),
    ("tombstone of a planet", b"T", _meta(1, "planet", "u/x", None, None, WHEN), b"", "'of'"),
    ("attachment size text", b"A", _meta(1, "u/1", "a", "text/plain", "big", "h"), b"", "'size'"),
    ("attachment size negative", b"A", _meta(1, "u/1", "a", "text/plain", -5, "h"), b"", "'size'"),
    ("attachment content missing", b"A", _meta(1, "u/1", "a", "text/plain", 5, "h"), b"", "size"),
    ("chunk without an attachment", b"C", b"", b"xx", "record kind b'C'"),
    ("identity meta an object", b"Y", b'{"etag": 1}', b"", "identity record"),
    ("identity value text", b"Y", _meta(1, "invoices", "7"), b"", "'value'"),
    ("index fields text", b"X", _meta(1, "ByName", "Users", "name"), b"", "'fields'"),
    ("index field a number", b"X", _meta(1, "ByName", "Users", ["name", 3]), b"", "'fields'"),
    ("unknown kind", b"Q", b"[]", b"", "unknown record kind b'Q'"),
]


@pytest.mark.parametrize("compression", ["none", "zstd"])
@pytest.mark.parametrize(
    ("kind", "meta", "data", "what"),
    [(k, m, d, w) for _n, k, m, d, w in RECORD_DAMAGE],
    ids=[n for n, *_ in RECORD_DAMAGE],
)
def test_a_malformed_record_is_named(
    templates: Templates,
    tmp_path: Path,
    compression: str,
    kind: bytes,
    meta: bytes,
    data: bytes,
    what: str,
) -> None:
    victim = copy_of(templates.full[compression], tmp_path)
    parts = take_apart(victim)
    first = parts.data_blocks()[0]
    parts.set_records(first, [(kind, meta, data), *parts.records(first)])
    put_together(parts, victim)
    pattern = f"{victim.name} is corrupted: block at offset {first.offset}: .*{what}"
    with pytest.raises(BackupCorrupted, match=pattern):
        read_everything(victim)
    with pytest.raises(BackupCorrupted, match=pattern):
        verify_file(victim)


@pytest.mark.parametrize(
    "tail",
    [RECORD.pack(b"D", 1, 0)[:5], RECORD.pack(b"D", 10**6, 0), RECORD.pack(b"D", 0, 10**6)],
    ids=["frame cut short", "meta longer than the block", "data longer than the block"],
)
def test_a_record_cut_short_is_named(
    instance: rookdb.Instance, templates: Templates, tmp_path: Path, tail: bytes
) -> None:
    victim = copy_of(templates.full["none"], tmp_path)
    parts = take_apart(victim)
    first = parts.data_blocks()[0]
    parts.set_raw(first, parts.raw(first) + tail)
    put_together(parts, victim)
    with pytest.raises(BackupCorrupted, match=f"{victim.name} is corrupted: .*cut short"):
        read_everything(victim)
    with pytest.raises(BackupCorrupted, match=victim.name):
        restore_database(instance, victim.parent, "copy")
    assert_nothing_restored(instance)


def test_a_document_record_in_a_snapshot_is_refused(templates: Templates, tmp_path: Path) -> None:
    victim = copy_of(templates.snapshot, tmp_path)
    parts = take_apart(victim)
    first = parts.data_blocks()[0]
    parts.set_records(first, [(b"D", _meta(1, *DOC, None), b"{}"), *parts.records(first)])
    put_together(parts, victim)
    with pytest.raises(BackupCorrupted, match=f"{victim.name} is corrupted: .*b'D'"):
        read_everything(victim)


# -- the index -------------------------------------------------------------------------------
INDEX_DAMAGE: list[tuple[str, Callable[[list[tuple[bytes, bytes, bytes]]], bytes], str]] = [
    ("entry cut short", lambda r: b"".join(RECORD.pack(*_sizes(x)) + x[1] for x in r)[:-3], "cut"),
    ("entry not JSON", lambda r: RECORD.pack(b"K", 3, 0) + b"[1,", "not JSON"),
    ("entry not a pair", lambda r: RECORD.pack(b"K", 3, 0) + b"[1]", "index entry"),
    ("ids not text", lambda r: _entry(b"K", [_offset(r), [1, 2]]), "index entry"),
    ("another kind", lambda r: _entry(b"D", [_offset(r), ["users/1"]]), "record kind b'D'"),
    ("offset of no block", lambda r: _entry(b"K", [_offset(r) + 1, ["users/1"]]), "no data block"),
]


def _sizes(record: tuple[bytes, bytes, bytes]) -> tuple[bytes, int, int]:
    return record[0], len(record[1]), len(record[2])


def _entry(kind: bytes, entry: object) -> bytes:
    meta = orjson.dumps(entry)
    return RECORD.pack(kind, len(meta), 0) + meta


def _offset(records: list[tuple[bytes, bytes, bytes]]) -> int:
    return int(orjson.loads(records[0][1])[0])


@pytest.mark.parametrize(
    ("damage", "what"), [(d, w) for _n, d, w in INDEX_DAMAGE], ids=[n for n, *_ in INDEX_DAMAGE]
)
def test_a_malformed_index_entry_is_named(
    templates: Templates,
    tmp_path: Path,
    damage: Callable[[list[tuple[bytes, bytes, bytes]]], bytes],
    what: str,
) -> None:
    victim = copy_of(templates.full["zstd"], tmp_path)
    parts = take_apart(victim)
    index = parts.index_blocks()[0]
    parts.set_raw(index, damage(parts.records(index)))
    put_together(parts, victim)
    with (
        BackupReader(victim) as reader,
        pytest.raises(BackupCorrupted, match=f"{victim.name} is corrupted: .*{what}"),
    ):
        list(reader.index_entries())


# -- what an intact file gives back ----------------------------------------------------------
@pytest.mark.parametrize("compression", ["zstd", "gzip", "none", "encrypted"])
def test_an_intact_file_reads_back_whole(templates: Templates, compression: str) -> None:
    key = RAW_KEY if compression == "encrypted" else None
    read_everything(templates.full[compression], key)
    verify_file(templates.full[compression], encryption_key=key)
    with BackupReader(templates.full[compression], encryption_key=key) as reader:
        kinds = [record.kind for record in reader.records()]
        offsets = {offset for offset, _ids in reader.index_entries()}
        assert offsets <= {offset for _k, offset, _raw in reader.blocks()}
    assert kinds.count("document") == 29
    assert {"tombstone", "attachment", "identity", "index"} <= set(kinds)
