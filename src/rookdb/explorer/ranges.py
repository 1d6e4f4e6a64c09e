"""A backup file on a destination, read as a seekable stream of range requests.

The explorer needs a file's two ends, one catalog block and one data block,
so a remote file is never downloaded: the first read fetches the file's last
64 KiB (trailer, catalog directory, and in version 2 a copy of the header,
served as the file's first bytes), then each miss fetches what was asked
plus a read-ahead that covers a typical block, so a block costs one request.
Ranges at or after the catalog are kept in the `IndexCache` on local disk:
backup files never change once finished, so a repeated look-up reads only
the data block it needs.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from rookdb.backup.format.ends import header_from_tail

TAIL = 128 * 1024  # the trailer with a million documents' catalog directory
READ_AHEAD = 512 * 1024
_KEPT = 3  # pieces kept in memory besides the tail: a catalog block and a data block or two

ReadRange = Callable[[int, int], bytes]


class IndexCache:
    """Ranges of finished backup files (their ends and catalogs) kept on local disk.

    One folder per file, named by a digest of where the file is and its size
    and time, so a file replaced under the same name is never answered from
    an older copy; the oldest folders go when the cache passes its size.
    """

    def __init__(self, root: Path, max_bytes: int = 256 << 20) -> None:
        self.root = root
        self.max_bytes = max_bytes

    @classmethod
    def default(cls) -> IndexCache | None:
        """The cache at $ROOKDB_EXPLORER_CACHE, else ~/.cache/rookdb/explorer; None when
        $ROOKDB_EXPLORER_CACHE is "off"."""
        place = os.environ.get("ROOKDB_EXPLORER_CACHE")
        if place == "off":
            return None
        if place:
            return cls(Path(place))
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return cls(Path(base) / "rookdb" / "explorer")

    def folder(self, identity: str) -> Path:
        return self.root / hashlib.sha256(identity.encode()).hexdigest()[:32]

    def find(self, identity: str, offset: int, length: int) -> bytes | None:
        """Cached bytes covering [offset, offset + length), None when none do."""
        folder = self.folder(identity)
        try:
            names = os.listdir(folder)
        except OSError:
            return None
        for name in names:
            start, _, size = name.partition("-")
            if not (start.isdigit() and size.isdigit()):
                continue
            begin, count = int(start), int(size)
            if begin <= offset and offset + length <= begin + count:
                try:
                    data = (folder / name).read_bytes()
                except OSError:
                    return None
                if len(data) == count:
                    return data[offset - begin : offset - begin + length]
        return None

    def keep(self, identity: str, offset: int, data: bytes) -> None:
        """Store a range; a cache that cannot be written is skipped, never an error."""
        folder = self.folder(identity)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            partial = folder / f".{offset}-{len(data)}.{os.getpid()}"
            partial.write_bytes(data)
            partial.replace(folder / f"{offset}-{len(data)}")
            self._trim()
        except OSError:
            return

    def _trim(self) -> None:
        folders = [p for p in self.root.iterdir() if p.is_dir()]
        sizes = {p: sum(f.stat().st_size for f in p.iterdir()) for p in folders}
        total = sum(sizes.values())
        for folder in sorted(folders, key=lambda p: p.stat().st_mtime):
            if total <= self.max_bytes:
                return
            for piece in folder.iterdir():
                piece.unlink(missing_ok=True)
            folder.rmdir()
            total -= sizes[folder]


class RangeFile:
    """A read-only, seekable view of a remote file, fetched by ranges (and counted)."""

    def __init__(
        self,
        read_range: ReadRange,
        size: int,
        name: str,
        identity: str,
        cache: IndexCache | None = None,
    ) -> None:
        self._read_range = read_range
        self.size = size
        self.name = name
        self._identity = identity
        self._cache = cache
        self._position = 0
        self._tail: tuple[int, bytes] | None = None
        self._head: bytes | None = None
        self._pieces: list[tuple[int, bytes]] = []
        self.requests = 0
        # Where the catalog's blocks start and end, once known: those ranges are
        # fetched block by block and cached.
        self.cacheable_from = size
        self._bounds: list[int] = []

    def know_catalog(self, block_offsets: tuple[int, ...], end: int) -> None:
        """Where the catalog blocks are (from the trailer): each is fetched whole, and cached."""
        if block_offsets:
            self.cacheable_from = block_offsets[0]
            self._bounds = sorted({*block_offsets, end})

    # -- the stream interface read_ends and the reader use ---------------------------
    def seek(self, position: int, whence: int = 0) -> int:
        if whence == 1:
            position += self._position
        elif whence == 2:
            position += self.size
        self._position = max(position, 0)
        return self._position

    def tell(self) -> int:
        return self._position

    def read(self, size: int = -1) -> bytes:
        start = self._position
        if size < 0:
            size = self.size - start
        size = max(min(size, self.size - start), 0)
        data = self._bytes(start, size) if size else b""
        self._position = start + len(data)
        return data

    def close(self) -> None:
        self._pieces = []
        self._tail = None

    # -- fetching --------------------------------------------------------------------
    def _bytes(self, start: int, size: int) -> bytes:
        if self._tail is None:
            self._load_tail()
        for begin, data in self._known():
            if begin <= start and start + size <= begin + len(data):
                return data[start - begin : start - begin + size]
        cacheable = start >= self.cacheable_from
        if cacheable and self._cache is not None:
            cached = self._cache.find(self._identity, start, size)
            if cached is not None:
                return cached
        length = min(max(size, READ_AHEAD), self.size - start)
        if cacheable:
            # A catalog block exactly (the next block starts where it ends): one request,
            # and the cache holds catalog blocks only.
            later = [b for b in self._bounds if b > start]
            length = max(size, (later[0] if later else self.size) - start)
        data = self._fetch(start, length)
        if cacheable and self._cache is not None:
            self._cache.keep(self._identity, start, data)
        self._pieces = [*self._pieces[-(_KEPT - 1) :], (start, data)]
        return data[:size]

    def _known(self) -> list[tuple[int, bytes]]:
        known = list(self._pieces)
        if self._tail is not None:
            known.append(self._tail)
        if self._head is not None:
            known.append((0, self._head))
        return known

    def _load_tail(self) -> None:
        start = max(self.size - TAIL, 0)
        data = self._cache.find(self._identity, start, self.size - start) if self._cache else None
        if data is None:
            data = self._fetch(start, self.size - start)
            if self._cache is not None:
                self._cache.keep(self._identity, start, data)
        self._tail = (start, data)
        # Version 2 trailers carry the header: the file's first bytes need no request.
        self._head = header_from_tail(data)

    def _fetch(self, start: int, length: int) -> bytes:
        self.requests += 1
        data = self._read_range(start, length)
        if len(data) != length:
            from rookdb.errors import BackupCorrupted

            raise BackupCorrupted(
                f"backup file {self.name} is shorter than its listing says "
                f"({len(data)} bytes read at offset {start}, {length} asked)"
            )
        return data
