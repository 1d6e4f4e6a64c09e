"""A backup file read as runs of documents (the restore's fast path) gives every record.

The reader decodes the documents of a block in one loop and hands any other
record to the general path, which may run on into the next blocks (an
attachment's content): what comes out must be exactly what the source's
change feed held, in its order, whatever falls where.
"""

from __future__ import annotations

import os
from pathlib import Path

import rookdb
from rookdb.backup import BackupReader, latest_chain, write_full_backup
from rookdb.backup.format import AttachmentRecord
from rookdb.storage import AttachmentChange, DocumentChange


def test_runs_of_documents_around_an_attachment_spanning_blocks_give_the_source(
    tmp_path: Path,
) -> None:
    big = os.urandom(2_500_000)  # content over three blocks
    with rookdb.open(tmp_path / "data") as inst:
        db = inst.create_database("runs")
        db.bulk_insert((f"users/{i}", {"v": i, "text": "ü" * (i % 50)}) for i in range(1500))
        db.put_attachment("users/3", "big.bin", big, "application/octet-stream")
        db.bulk_insert((f"users/{i}", {"v": -i}) for i in range(1500, 1600))
        db.delete("users/4")
        db.bulk_insert((f"users/{i}", {"v": i}) for i in range(1600, 1610))
        with db.changes(0) as feed:
            expected = [
                (c.etag, c.id, c.collection, c.last_modified, c.change_vector, c.body_json)
                if isinstance(c, DocumentChange)
                else (c.etag, c.kind)
                for c in feed
                if not isinstance(c, AttachmentChange)
            ]
        write_full_backup(db, tmp_path / "backups")
    chain = latest_chain(tmp_path / "backups")
    assert chain is not None
    got: list[tuple[object, ...]] = []
    content = b""
    with BackupReader(chain.files[0].path) as reader:
        for item in reader.batches():
            if isinstance(item, list):
                assert item, "a run is never empty"
                got.extend(row[:6] for row in item)
                assert all(row[6] is None for row in item)
            elif isinstance(item, AttachmentRecord):
                content = b"".join(item.chunks)
            else:
                got.append((item.etag, item.kind))
    assert got == expected
    assert content == big
