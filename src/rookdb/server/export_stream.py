"""An export written straight into an HTTP response body: no file, memory flat.

`rookdb.backup.export.write_export` writes into a file object. Here that file
object hands each write to the response through a small bounded queue, and the
writer runs in a thread of its own: it waits while the client is slower than the export and
stops (its read transaction ends) when the client goes away.

Errors before the first byte (an unknown compression, a bad key) are raised
by `ExportStream.open`, so they still become a JSON error response; a failure
later can only cut the body short, which a reader sees as a file without its
trailer (the client checks every download before keeping it).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import IO, Any, cast

from rookdb.backup.export import write_export
from rookdb.storage import Database

# Writes waiting for the client, at most: the writer's blocks are ~1 MB each.
QUEUE_DEPTH = 8
_END = object()


class _Cancelled(Exception):
    """The client went away: the writer stops."""


class _QueueFile:
    """The write end: a file object whose writes go to the queue (and can be cancelled)."""

    def __init__(self, chunks: queue.Queue[Any], cancelled: threading.Event) -> None:
        self._chunks = chunks
        self._cancelled = cancelled
        self._written = 0

    def write(self, data: bytes) -> int:
        chunk = bytes(data)
        while True:
            if self._cancelled.is_set():
                raise _Cancelled()
            try:
                self._chunks.put(chunk, timeout=0.5)
                break
            except queue.Full:
                continue
        self._written += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        pass


class ExportStream:
    """The bytes of an export, produced by a writer thread; iterate, then close."""

    def __init__(self) -> None:
        self._chunks: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_DEPTH)
        self._cancelled = threading.Event()
        self._first: Any = None

    @classmethod
    def open(
        cls,
        db: Database,
        since_etag: int,
        *,
        compression: str,
        encryption_key: str | None,
    ) -> ExportStream:
        """Start the export; raises what fails before its first byte (a RookError)."""
        stream = cls()
        out = cast(IO[bytes], _QueueFile(stream._chunks, stream._cancelled))

        def produce() -> None:
            try:
                write_export(
                    db, out, since_etag, compression=compression, encryption_key=encryption_key
                )
            except _Cancelled:
                return
            except BaseException as exc:  # handed to the reader, which raises it
                stream._put(exc)
                return
            stream._put(_END)

        threading.Thread(target=produce, name=f"export-{db.name}", daemon=True).start()
        first = stream._chunks.get()
        if isinstance(first, BaseException):
            raise first
        stream._first = first
        return stream

    def _put(self, item: Any) -> None:
        while not self._cancelled.is_set():
            try:
                self._chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def __iter__(self) -> Iterator[bytes]:
        item = self._first
        self._first = None
        while item is not _END:
            if isinstance(item, BaseException):
                # Too late for an error response: ending the body early is how it shows.
                raise item
            if item is not None:
                yield item
            item = self._next()

    def _next(self) -> Any:
        while not self._cancelled.is_set():
            try:
                return self._chunks.get(timeout=0.5)
            except queue.Empty:
                continue
        return _END

    def close(self) -> None:
        """Stop the writer if it is still going (the client went away)."""
        self._cancelled.set()
        while True:  # unblock a writer waiting on a full queue
            try:
                self._chunks.get_nowait()
            except queue.Empty:
                break
