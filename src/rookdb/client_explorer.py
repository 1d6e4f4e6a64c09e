"""`Client.open_backup`: the backup explorer through a server, named and typed as locally.

Every question is a POST to `/backups/explore/...` carrying the source, the
point, the key and the source's settings in its body (never in a URL). The
server reads the backup; SOURCE is a path on the server's machine (absolute)
or a destination URL. A reader key may ask; putting documents back
(`restore_into`) needs an operator or admin key.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

import orjson

from rookdb.client import typed_answer

# Imported for its error class: a 409 `needs-retrieval` answer (Glacier) is raised as
# ArchiveNeedsRetrieval, which the client finds among the loaded RookError subclasses.
from rookdb.destinations.base import ArchiveNeedsRetrieval  # noqa: F401
from rookdb.errors import InvalidInput, RookError

if TYPE_CHECKING:
    from rookdb.client import Client
    from rookdb.explorer.diff import DiffRow, DiffStatistics
    from rookdb.explorer.explorer import AttachmentContent, FoundDocument, ListedDocument
    from rookdb.explorer.restore_into import SelectiveRestore
    from rookdb.explorer.retrieval import ChainRetrieval
    from rookdb.explorer.versions import DocumentVersion

PAGE_SIZE = 500


@dataclass(frozen=True)
class RemoteDiff:
    """A diff answered by the server: its rows (at most `limit`), whether that is all of them,
    and the counts of the whole diff."""

    rows: list[DiffRow]
    complete: bool
    statistics: DiffStatistics


class RemoteBackup:
    """One point of a backup, explored by a server: the questions of `BackupExplorer`."""

    def __init__(
        self,
        client: Client,
        source: str,
        until: str | None = None,
        *,
        encryption_key: str | None = None,
        source_options: dict[str, str] | None = None,
    ) -> None:
        if not source:
            raise InvalidInput("give the backup's source", field="source")
        self._client = client
        self.source = source
        self.until = until
        self._secrets = {
            "encryption_key": encryption_key,
            "source_options": source_options or None,
        }
        self.point: str | None = None  # the point's description, once the server has said it
        self.slow_files: list[str] = []
        self.snapshot_files: list[str] = []  # a chain's snapshot read (the slower path)

    def __enter__(self) -> RemoteBackup:
        return self

    def __exit__(self, *exc: object) -> None:
        pass  # nothing held open between questions

    def _body(self, **fields: Any) -> dict[str, Any]:
        return {"source": self.source, "until": self.until, **self._secrets, **fields}

    def _ask(self, route: str, **fields: Any) -> dict[str, Any]:
        answer = self._client.request(
            "POST", f"/backups/explore/{route}", json=self._body(**fields), wait=True
        )
        data: dict[str, Any] = orjson.loads(answer.content)
        if "point" in data:
            self.point = data["point"]
            self.slow_files = list(data.get("slow_files") or [])
            self.snapshot_files = list(data.get("snapshot_files") or [])
        return data

    def get(self, doc_id: str) -> FoundDocument:
        """`doc_id` as of the point (or its delete); NotFound when the chain never held it."""
        from rookdb.explorer.explorer import FoundDocument

        return typed_answer(FoundDocument.from_json, self._ask("get", id=doc_id))

    def history(self, doc_id: str) -> list[DocumentVersion]:
        """Every version of `doc_id` up to the point, newest first."""
        from rookdb.explorer.versions import DocumentVersion

        return [
            typed_answer(DocumentVersion.from_json, v)
            for v in self._ask("history", id=doc_id)["versions"]
        ]

    def documents(
        self,
        collection: str | None = None,
        prefix: str | None = None,
        *,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[ListedDocument]:
        """The documents present at the point, in id order, fetched a page at a time."""
        from rookdb.explorer.explorer import ListedDocument

        start = 0
        while True:
            page = self._ask(
                "documents",
                collection=collection,
                prefix=prefix,
                start=start,
                page_size=page_size,
            )
            for item in page["documents"]:
                yield typed_answer(ListedDocument.from_json, item)
            if not page["more"]:
                return
            start += len(page["documents"])

    def attachment(self, doc_id: str, name: str) -> AttachmentContent:
        """An attachment of `doc_id` as of the point; its bytes stream (checked by the server)."""
        from rookdb.client import CHUNK_SIZE
        from rookdb.explorer.explorer import AttachmentAtPoint, AttachmentContent

        response = self._client.open_stream(
            "/backups/explore/attachment", json=self._body(id=doc_id, name=name)
        )
        try:
            headers = response.headers
            info = AttachmentAtPoint(
                name,
                int(headers["content-length"]),
                headers["x-rookdb-attachment-hash"],
                int(headers["x-rookdb-attachment-etag"]),
                unquote(headers["x-rookdb-backup-file"]),
            )
            content_type = headers.get("content-type", "application/octet-stream")
        except (KeyError, ValueError) as exc:
            response.close()
            raise RookError(f"the server's attachment answer lacks a header: {exc}") from exc

        def chunks() -> Iterator[bytes]:
            try:
                yield from response.iter_bytes(CHUNK_SIZE)
            finally:
                response.close()

        return AttachmentContent(info, content_type, chunks())

    def diff(
        self, to: str | None = None, collection: str | None = None, *, limit: int = 1000
    ) -> RemoteDiff:
        """Ids added, changed and deleted from this point to the point `to` (None: newest)."""
        from rookdb.explorer.diff import DiffRow, DiffStatistics

        data = self._ask("diff", to=to, collection=collection, limit=limit)
        return RemoteDiff(
            [typed_answer(DiffRow.from_json, row) for row in data["rows"]],
            bool(data["complete"]),
            typed_answer(DiffStatistics.from_json, data["statistics"]),
        )

    def retrieval(self, *, start: bool = False) -> ChainRetrieval:
        """Glacier: where the retrieval of this point's run folder stands, file by file; with
        `start`, request it first (jobs already requested are reused)."""
        from rookdb.explorer.retrieval import ChainRetrieval, FileRetrieval

        data = self._ask("retrieval", start=start)

        def parse(item: dict[str, Any]) -> ChainRetrieval:
            files = tuple(
                FileRetrieval(str(f["file"]), int(f["size"]), str(f["state"]))
                for f in item["files"]
            )
            return ChainRetrieval(str(item["source"]), str(item["run_folder"]), files)

        return typed_answer(parse, data)

    def restore_into(
        self,
        database: str,
        *,
        ids: Sequence[str] = (),
        collection: str | None = None,
        prefix: str | None = None,
        on_conflict: str = "skip",
        dry_run: bool = False,
    ) -> SelectiveRestore:
        """Put documents of this point back into live `database` as new writes (operators);
        with `dry_run`, only say what would change."""
        from rookdb.explorer.restore_into import SelectiveRestore
        from rookdb.instance import check_database_name

        check_database_name(database)
        body = self._body(
            ids=list(ids),
            collection=collection,
            prefix=prefix,
            on_conflict=on_conflict,
            dry_run=dry_run,
        )
        path = f"/databases/{quote(database, safe='')}/restore-selected"
        answer = self._client.request("POST", path, json=body, wait=True)
        return typed_answer(SelectiveRestore.from_json, orjson.loads(answer.content))
