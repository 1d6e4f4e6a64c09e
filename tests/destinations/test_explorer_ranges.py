"""The backup explorer on every destination's real server: range reads, never a download.

A chain whose full backup spans several data and catalog blocks is uploaded;
`get`, `history` and a diff read it back by ranges and must agree with the
same questions asked of the local copy. A look-up reads at most three ranges
per file it consults (the file's end, one catalog block, one data block),
and with the index cache warm only the data block. Glacier refuses, saying
the archives need a retrieval.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from explorer_chains import Chain, make_chain
from rookdb.destinations import Destination
from rookdb.destinations.base import ArchiveNeedsRetrieval
from rookdb.errors import RookError
from rookdb.explorer import BackupDiff, open_backup
from rookdb.explorer.remote import RemoteExplorer, open_on_destination

from .servers import Backend


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Chain:
    return make_chain(tmp_path_factory.mktemp("chain"), count=12_000, padding=200)


SHARED = {"close_destination": False}  # one destination, opened again and again


def upload(dest: Destination, chain: Chain) -> None:
    for name in chain.files:
        dest.put_file(chain.folder / name, f"{chain.folder.name}/{name}")


@pytest.mark.parametrize(
    "backend_fixture",
    ["moto_s3_backend", "azurite_backend", "gcs_backend", "ftp_backend_plain", "local_backend"],
)
def test_get_history_and_diff_by_ranges(
    backend_fixture: str,
    request: pytest.FixtureRequest,
    chain: Chain,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ROOKDB_EXPLORER_CACHE", str(tmp_path / "cache"))
    backend: Backend = request.getfixturevalue(backend_fixture)
    dest = backend.make()
    upload(dest, chain)
    with (
        open_on_destination(dest, chain.folder.name, chain.files[1], **SHARED) as remote,
        open_backup(chain.folder, chain.files[1]) as local,
    ):
        assert isinstance(remote, RemoteExplorer)
        # One look-up, each file: its end, one catalog block, at most one data block.
        assert remote.get("orders/11345") == local.get("orders/11345")
        assert max(remote.range_requests().values()) <= 3, remote.range_requests()
        for doc_id in ("orders/1041", "orders/11999", "orders/7", "orders/5"):
            assert remote.get(doc_id) == local.get(doc_id)
        assert remote.history("orders/1041") == local.history("orders/1041")
        attachment = remote.attachment("orders/7", "receipt.txt")
        assert b"".join(attachment.chunks) == b"paid 7 EUR\n" * 300
    # A second look-up: the ends and catalog blocks come from the index cache.
    with open_on_destination(dest, chain.folder.name, None, **SHARED) as again:
        assert isinstance(again, RemoteExplorer)
        upload_free = again.range_requests()  # nothing read yet: the ends were cached
        assert sum(upload_free.values()) == 0, upload_free
        assert again.get("orders/11345").document is not None
        assert sum(again.range_requests().values()) == 1, again.range_requests()
    with (
        open_on_destination(dest, chain.folder.name, chain.files[0], **SHARED) as before,
        open_on_destination(dest, chain.folder.name, chain.files[2], **SHARED) as after,
    ):
        changes = {row.id: row.change for row in BackupDiff(before, after).rows()}
    dest.close()
    assert changes == {
        "orders/1041": "deleted",
        "orders/5": "deleted",
        "orders/7": "changed",
        "orders/new": "added",
    }


def test_glacier_says_a_retrieval_is_needed(
    glacier_backend: Backend, chain: Chain, tmp_path: Path
) -> None:
    dest = glacier_backend.make()
    upload(dest, chain)
    with pytest.raises(ArchiveNeedsRetrieval, match="needs a retrieval first"):
        open_on_destination(dest, chain.folder.name, None)


@pytest.mark.parametrize("damaged", [0, 1, 2])
def test_a_damaged_file_is_refused_as_locally(
    local_backend: Backend, chain: Chain, tmp_path: Path, damaged: int
) -> None:
    # The ends of the chain's files are read side by side: a file cut short is still
    # named, and the chain refused with the error a local look-up gives, whichever it is.
    folder = tmp_path / chain.folder.name
    shutil.copytree(chain.folder, folder)
    victim = folder / chain.files[damaged]
    victim.write_bytes(victim.read_bytes()[:-7])
    dest = local_backend.make()
    upload(dest, Chain(folder, chain.files))
    with pytest.raises(RookError) as local:
        open_backup(folder).get("orders/7")
    with pytest.raises(RookError) as remote:
        open_on_destination(dest, folder.name, None).get("orders/7")
    assert type(remote.value) is type(local.value)
    assert remote.value.message == local.value.message
    assert chain.files[damaged] in remote.value.message
