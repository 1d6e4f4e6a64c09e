"""Exploring a backup on a destination (S3, Azure, GCS, FTP) by range reads, never downloads.

The chain is chosen from the destination's listing as a restore chooses it
(the run folder named by the URL, or the current chain of a folder of run
folders as of the point asked); each of its files is opened over a
`RangeFile`, whose first read takes the file's end (header copy, trailer,
catalog directory). The same planner then cuts the chain at the point, so a
gap or an unreadable file is refused as a restore would refuse it.

A look-up waits on round trips, not bytes: the ends of a chain's files are
fetched side by side, and so is each file's catalog block for the id asked,
through one small pool (as wide as the destination allows, `parallel_reads`)
over one client. The answer is then found in memory, file by file in chain
order, with the same checks as a local look-up.

Glacier archives cannot be read in place: the explorer says so and names
the way to have them retrieved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import IO, Any, TypeVar, cast

from rookdb.backup.catalog import ListedFile, ListedRunFolder, choose_listed, group_listing
from rookdb.backup.chain import (
    BackupFileInfo,
    RunFolderInfo,
    chain_problems,
    file_info,
    order_chain,
)
from rookdb.backup.format import SeekingReader
from rookdb.destinations.base import ArchiveNeedsRetrieval, Destination
from rookdb.errors import BackupError, EncryptionKeyError, RestoreError
from rookdb.explorer.explorer import AttachmentContent, BackupExplorer, FoundDocument
from rookdb.explorer.point import point_in
from rookdb.explorer.ranges import IndexCache, RangeFile
from rookdb.explorer.versions import DocumentVersion
from rookdb.storage.model import check_document_id
from rookdb.url_masking import masked_url

T = TypeVar("T")
R = TypeVar("R")


class RemoteChain:
    """The files of one run folder on a destination, opened by ranges, and their counts."""

    def __init__(
        self, destination: Destination, encryption_key: str | None, *, owned: bool = True
    ) -> None:
        self.destination = destination
        self._owned = owned
        self._key = encryption_key
        self._cache = IndexCache.default()
        self.files: dict[str, RangeFile] = {}
        self._readers: dict[str, SeekingReader] = {}
        self._pool: ThreadPoolExecutor | None = None

    def side_by_side(self, work: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """`work(item)` for each item, as many at once as the destination serves; the results
        in order, or the first failure in that order raised."""
        width = min(self.destination.parallel_reads, len(items))
        if width <= 1:
            return [work(item) for item in items]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                self.destination.parallel_reads, thread_name_prefix="range-read"
            )
        return list(self._pool.map(work, items))

    def open(self, listed: ListedFile) -> SeekingReader:
        """`listed` opened over range reads (its end read at once)."""
        modified = listed.modified.isoformat() if listed.modified else ""
        identity = f"{self.destination.name}|{listed.path}|{listed.size}|{modified}"

        def read_range(offset: int, length: int) -> bytes:
            return bytes(self.destination.read_range(listed.path, offset, length))

        ranged = RangeFile(read_range, listed.size, listed.name, identity, self._cache)
        self.files[listed.name] = ranged
        reader = SeekingReader.over(
            cast(IO[bytes], ranged), listed.size, listed.name, encryption_key=self._key
        )
        catalog = reader.trailer.catalog
        if catalog is not None:
            ranged.know_catalog(catalog.block_offsets, reader.trailer_start)
        self._readers[listed.name] = reader
        return reader

    def reader(self, info: BackupFileInfo) -> SeekingReader:
        return self._readers[info.file_name]

    def requests(self) -> dict[str, int]:
        """Range requests made so far, per file."""
        return {name: f.requests for name, f in self.files.items()}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
        for reader in self._readers.values():
            reader.close()
        if self._owned:
            self.destination.close()


class RemoteExplorer(BackupExplorer):
    """An explorer whose files are read from a destination by ranges."""

    def __init__(self, point: Any, chain: RemoteChain) -> None:
        super().__init__(point, chain.reader)
        self.chain = chain

    def range_requests(self) -> dict[str, int]:
        """Range requests made per file (files not consulted are left out)."""
        return {name: count for name, count in self.chain.requests().items() if count}

    def get(self, doc_id: str) -> FoundDocument:
        check_document_id(doc_id)  # as the look-up does first: a bad id costs no request
        self._read_catalogs(doc_id)
        return super().get(doc_id)

    def history(self, doc_id: str) -> list[DocumentVersion]:
        check_document_id(doc_id)
        self._read_catalogs(doc_id)
        return super().history(doc_id)

    def attachment(self, doc_id: str, name: str) -> AttachmentContent:
        self._read_catalogs(doc_id)
        return super().attachment(doc_id, name)

    def _read_catalogs(self, doc_id: str) -> None:
        """Every file's catalog block for `doc_id` fetched side by side: each file keeps the
        last block it read, so the look-up in chain order that follows makes no request
        for them."""
        files = [self.file(info) for info in self.files]
        self.chain.side_by_side(
            lambda file: file.entries_for(doc_id), [f for f in files if not f.slow]
        )

    def close(self) -> None:
        super().close()
        self.chain.close()


def open_remote(
    url: str,
    until: str | None,
    *,
    encryption_key: str | None = None,
    credentials: dict[str, Any] | None = None,
) -> RemoteExplorer:
    """An explorer of the run folder (or current chain) at destination URL `url`."""
    from rookdb.destinations import from_url

    destination, leaf = from_url(url, credentials)
    return open_on_destination(
        destination, leaf, until, encryption_key=encryption_key, shown=masked_url(url)
    )


def open_on_destination(
    destination: Destination,
    leaf: str,
    until: str | None,
    *,
    encryption_key: str | None = None,
    shown: str | None = None,
    close_destination: bool = True,
) -> RemoteExplorer:
    """An explorer of run folder `leaf` (or the current chain below it, "" for the root) on
    `destination` (closed with the explorer unless `close_destination` is False)."""
    chain = RemoteChain(destination, encryption_key, owned=close_destination)
    try:
        listed = choose_run_folder(destination, leaf, until, shown or f"{destination.name}/{leaf}")
        if destination.local_listing:
            raise ArchiveNeedsRetrieval(
                f"{destination.name}: the backup files of {listed.name} are Glacier archives, "
                "which cannot be read in place: each needs a retrieval first (minutes to "
                "hours on AWS). Restore the chain (`rookdb restore`, which requests the "
                "retrievals and waits for them) and explore the restored copy"
            )
        folder = _run_folder(chain, listed)
        return RemoteExplorer(point_in(folder, until), chain)
    except BaseException:
        chain.close()
        raise


def choose_run_folder(
    destination: Destination, leaf: str, until: str | None, shown: str
) -> ListedRunFolder:
    """The run folder at `leaf` (or, under a prefix, the one holding `until`); RestoreError
    naming `shown` when there is none."""
    prefix = f"{leaf}/" if leaf else ""
    listing = destination.list(prefix)
    if not listing and destination.local_listing:
        # A machine that never uploaded here has no inventory of its own yet (Glacier).
        destination.rebuild_listing()
        listing = destination.list(prefix)
    folders = group_listing(listing, leaf)
    own = [folder for folder in folders if folder.path == leaf]
    chosen = own[0] if own else choose_listed(folders, until)
    if chosen is None or not chosen.files:
        raise RestoreError(f"no backup files found at {shown}")
    return chosen


def _run_folder(chain: RemoteChain, listed: ListedRunFolder) -> RunFolderInfo:
    """The run folder's files as `read_run_folder` gives a local one, from their ends
    (fetched side by side)."""

    def ends(remote: ListedFile) -> BackupFileInfo | str:
        try:
            return file_info(chain.open(remote), Path(PurePosixPath(remote.path)))
        except EncryptionKeyError:
            raise  # not damage: the whole chain needs the key
        except BackupError as exc:
            return exc.message

    infos: list[BackupFileInfo] = []
    unreadable: dict[str, str] = {}
    for remote, found in zip(listed.files, chain.side_by_side(ends, listed.files), strict=True):
        if isinstance(found, str):
            unreadable[remote.name] = found
        else:
            infos.append(found)
    ordered = order_chain(infos)
    problems = [f"{name}: {message}" for name, message in unreadable.items()]
    problems += chain_problems(ordered)
    return RunFolderInfo(
        Path(listed.path), listed.name, tuple(ordered), unreadable, tuple(problems)
    )
