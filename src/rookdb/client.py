"""`rookdb.Client`: the remote Python client, with the same method names as the embedded API.

`Client` mirrors `Instance` and `RemoteDatabase` mirrors `Database`, returning
the same typed values (`Document`, `PutResult`, `AttachmentInfo` ...). Error
responses are turned back into the RookError subclass the server raised, so
code that catches `NotFound` or `ConcurrencyConflict` works embedded or remote.
"""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar
from urllib.parse import quote, unquote, urlsplit

import httpx
import orjson

from rookdb.errors import (
    BackupCorrupted,
    BackupError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    RookError,
    ServerUnreachable,
    Unauthorized,
)
from rookdb.instance import check_database_name
from rookdb.storage import (
    AttachmentInfo,
    BatchOperation,
    BatchResult,
    Condition,
    DatabaseStats,
    Document,
    IndexDefinition,
    PutResult,
    QueryResult,
)
from rookdb.storage.model import collection_for

if TYPE_CHECKING:
    from rookdb.backup import BackupRun
    from rookdb.backup.chain import BackupFileInfo
    from rookdb.client_alerts import RemoteAlerts
    from rookdb.client_explorer import RemoteBackup
    from rookdb.restore.folder_import import FolderImportResult
    from rookdb.restore.importer import RestoreResult
    from rookdb.restore.jobs import RestoreJobStatus

CHUNK_SIZE = 1 << 20
# An encryption key for export and import travels percent-encoded in this header.
KEY_HEADER = "X-Rookdb-Encryption-Key"
Progress = Callable[[int, int], None]
_JSON = {"content-type": "application/json"}
# Keys of `@metadata` that the database owns; the rest is the user's.
_SYSTEM_METADATA = ("@id", "@etag", "@last-modified", "@change-vector")


_BY_STATUS: dict[int, type[RookError]] = {
    400: InvalidInput,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
}


def _error_classes() -> dict[str, type[RookError]]:
    found: dict[str, type[RookError]] = {}
    pending: list[type[RookError]] = [RookError]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.code, cls)
        pending.extend(cls.__subclasses__())
    return found


def error_from_response(response: httpx.Response) -> RookError:
    """The RookError an error response stands for (by its `error` code)."""
    try:
        data = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("message"), str):
        text = response.text.strip()[:200] or response.reason_phrase
        cls = _BY_STATUS.get(response.status_code, RookError)
        return cls(f"server answered {response.status_code}: {text}")
    return error_from_json(data)


def error_from_json(data: dict[str, Any]) -> RookError:
    """The RookError a JSON error body (`{"error": code, "message", "field"?}`) stands for."""
    cls = _error_classes().get(str(data.get("error")), RookError)
    field = data.get("field")
    return cls(str(data.get("message")), field=field if isinstance(field, str) else None)


T = TypeVar("T")


def typed_answer(parse: Callable[[Any], T], item: Any) -> T:
    """`parse(item)` for a part of a server's answer; a RookError when it has another shape."""
    try:
        return parse(item)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise RookError(f"the server's answer is not what rookdb expects: {exc!r}") from exc


def document_from_json(data: dict[str, Any]) -> Document:
    """A `Document` from its API form (the body with `@metadata`)."""
    body = dict(data)
    meta = dict(body.pop("@metadata", None) or {})
    doc_id = str(meta.get("@id"))
    collection = str(meta.get("@collection"))
    user_meta = {k: v for k, v in meta.items() if k not in _SYSTEM_METADATA}
    # `@collection` is always shown; keep it in the body only when it differs from
    # what the id implies, so putting the body back keeps the same collection.
    if user_meta.get("@collection") == collection_for(doc_id, {}):
        del user_meta["@collection"]
    if user_meta:
        body["@metadata"] = user_meta
    return Document(
        doc_id,
        collection,
        int(meta.get("@etag", 0)),
        str(meta.get("@last-modified")),
        str(meta.get("@change-vector")),
        body,
    )


def _attachment_from_json(data: dict[str, Any]) -> AttachmentInfo:
    return AttachmentInfo(
        data["document_id"],
        data["name"],
        data["content_type"],
        int(data["size"]),
        data["hash"],
        int(data["etag"]),
    )


def _index_from_json(data: dict[str, Any]) -> IndexDefinition:
    return IndexDefinition(data["name"], data["collection"], tuple(data["fields"]), data["etag"])


def _url_path(doc_id: str) -> str:
    # Percent-encode everything but '/', and dot segments too: an HTTP client
    # would otherwise resolve "a/../b" to "b" before sending it.
    segments = [quote(s, safe="") for s in doc_id.split("/")]
    return "/".join(s.replace(".", "%2E") if s in (".", "..") else s for s in segments)


def _upload_chunks(content: BinaryIO | bytes | Iterable[bytes]) -> bytes | Iterator[bytes]:
    if isinstance(content, bytes | bytearray | memoryview):
        return bytes(content)
    read = getattr(content, "read", None)
    if read is not None:

        def from_file() -> Iterator[bytes]:
            while chunk := read(CHUNK_SIZE):
                yield chunk

        return from_file()
    return (bytes(chunk) for chunk in content if chunk)


def check_server_url(url: str) -> str:
    """The URL of a rookdb server: http(s) with a host; InvalidInput naming `url` otherwise."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError as exc:
        raise InvalidInput(f"{url!r} is not a valid URL: {exc}", field="url") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"{url!r} is not a rookdb server URL: use http://HOST:PORT or https://HOST:PORT",
            field="url",
        )
    return url


# How long a write waits for a database group to get its new write node.
NO_WRITE_NODE_RETRY_SECONDS = 20.0


class Client:
    """A connection to a rookdb server; same method names as `rookdb.Instance`."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        timeout: float = 30.0,
    ) -> None:
        """Talk to the server at `url`, with an API key if it requires one.

        `ca_file` is a PEM file of the certificate authority that signed an
        https server's certificate (a private CA or a self-signed certificate).
        """
        self.url = check_server_url(url).rstrip("/")
        if api_key and not (api_key.isascii() and api_key.isprintable()):
            # An HTTP header carries printable ASCII only; httpx would fail deep inside.
            raise InvalidInput(
                "the API key has characters no API key has (it is printable ASCII)",
                field="api_key",
            )
        headers = {"authorization": f"Bearer {api_key}"} if api_key else None
        self._timeout = timeout
        verify: ssl.SSLContext | bool = True
        if ca_file is not None:
            try:
                verify = ssl.create_default_context(cafile=os.fspath(ca_file))
            except (OSError, ssl.SSLError) as exc:
                raise InvalidInput(
                    f"cannot use CA file {os.fspath(ca_file)}: {exc}", field="ca_file"
                ) from exc
        try:
            self._http = httpx.Client(
                base_url=self.url, timeout=timeout, headers=headers, verify=verify
            )
        except httpx.InvalidURL as exc:
            message = f"{self.url} is not a usable server URL: {exc}"
            raise InvalidInput(message, field="url") from exc

    # -- transport -----------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        content: bytes | Iterator[bytes] | None = None,
        wait: bool = False,
    ) -> httpx.Response:
        """Send one request; error responses raise their RookError.

        `wait`: the server works before it answers (an import, a backup): no read timeout.
        """
        if json is not None:
            try:
                content = orjson.dumps(json)
            except orjson.JSONEncodeError as exc:  # e.g. an integer past 64 bits
                raise InvalidInput(f"cannot send this request body: {exc}", field="body") from exc
            headers = {**_JSON, **(headers or {})}
        try:
            request = self._http.build_request(
                method,
                path,
                params=params,
                headers=headers,
                content=content,
                timeout=httpx.Timeout(self._timeout, read=None) if wait else self._timeout,
            )
        except httpx.InvalidURL as exc:
            raise InvalidInput(f"cannot send {method} {path!r}: {exc}", field="path") from exc
        return self.send(request)

    def send(self, request: httpx.Request, *, stream: bool = False) -> httpx.Response:
        """Send a built request; connection failures raise ServerUnreachable.

        A database group with no write node for a moment (its write node died and
        another is taking over) answers 503 `no-write-node`: a request whose body
        can be sent again is retried for up to NO_WRITE_NODE_RETRY_SECONDS.
        """
        deadline = time.monotonic() + NO_WRITE_NODE_RETRY_SECONDS
        while True:
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                reason = str(exc) or type(exc).__name__
                raise ServerUnreachable(f"cannot reach rookdb at {self.url}: {reason}") from exc
            if not (
                response.status_code == 503
                and response.headers.get("x-rookdb-error") == "no-write-node"
                and isinstance(request.stream, httpx.ByteStream)
                and time.monotonic() < deadline
            ):
                break
            response.close()
            time.sleep(0.5)
        # The API never redirects: a 3xx means the path is not an API route (an empty id).
        if response.status_code >= 300:
            try:
                response.read()
            finally:
                response.close()
            raise error_from_response(response)
        return response

    def open_stream(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        *,
        json: Any = None,
    ) -> httpx.Response:
        """GET (or, with a `json` body, POST) with a streamed answer; the caller closes it."""
        method = "GET" if json is None else "POST"
        content = None if json is None else orjson.dumps(json)
        if content is not None:
            headers = {**_JSON, **(headers or {})}
        try:
            request = self._http.build_request(
                method, path, params=params, headers=headers, content=content
            )
        except httpx.InvalidURL as exc:
            raise InvalidInput(f"cannot send {method} {path!r}: {exc}", field="path") from exc
        return self.send(request, stream=True)

    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET a JSON resource."""
        return orjson.loads(self.request("GET", path, params=params).content)

    # -- databases -----------------------------------------------------------------
    def create_database(self, name: str) -> RemoteDatabase:
        """Create an empty database; AlreadyExists when the name is taken."""
        check_database_name(name)
        self.request("POST", "/databases", json={"name": name})
        return RemoteDatabase(self, name)

    def create_group_database(
        self,
        name: str,
        *,
        nodes: list[str] | None = None,
        replication_factor: int | None = None,
        write_concern: str | None = None,
    ) -> RemoteDatabase:
        """Create an empty database on a group of a cluster's nodes (see `POST /databases`)."""
        check_database_name(name)
        body: dict[str, Any] = {"name": name}
        for key, value in (
            ("nodes", nodes),
            ("replication_factor", replication_factor),
            ("write_concern", write_concern),
        ):
            if value is not None:
                body[key] = value
        self.request("POST", "/databases", json=body)
        return RemoteDatabase(self, name)

    def add_group_node(self, name: str, node: str) -> dict[str, Any]:
        """Add a live node to a database's group (a cluster); the group as it is now."""
        answer = self.request("POST", f"/databases/{name}/group/nodes", json={"node": node})
        return dict(answer.json())

    def remove_group_node(self, name: str, node: str) -> dict[str, Any]:
        """Take a node out of a database's group; the group as it is now."""
        return dict(self.request("DELETE", f"/databases/{name}/group/nodes/{node}").json())

    def database(self, name: str) -> RemoteDatabase:
        """An existing database; NotFound when it does not exist."""
        check_database_name(name)
        self.request("GET", f"/databases/{name}")
        return RemoteDatabase(self, name)

    def has_database(self, name: str) -> bool:
        check_database_name(name)
        try:
            self.request("GET", f"/databases/{name}")
        except NotFound:
            return False
        return True

    def list_databases(self) -> list[dict[str, Any]]:
        """Every database with its statistics, as JSON objects."""
        databases: list[dict[str, Any]] = self.get_json("/databases")["databases"]
        return databases

    def database_names(self) -> list[str]:
        return [str(d["name"]) for d in self.list_databases()]

    def delete_database(self, name: str) -> None:
        check_database_name(name)
        self.request("DELETE", f"/databases/{name}")

    def health(self) -> dict[str, Any]:
        """The server's `/health` answer."""
        health: dict[str, Any] = self.get_json("/health")
        return health

    # -- API keys (admin keys only) ------------------------------------------------
    def create_api_key(
        self, role: str, databases: Sequence[str] | None = None, name: str = ""
    ) -> dict[str, Any]:
        """A new API key: its record plus `key`, the secret, shown this once."""
        body = {"role": role, "databases": list(databases) if databases else None, "name": name}
        created: dict[str, Any] = orjson.loads(
            self.request("POST", "/admin/keys", json=body).content
        )
        return created

    def list_api_keys(self) -> list[dict[str, Any]]:
        """Every API key's record (never a secret)."""
        keys: list[dict[str, Any]] = self.get_json("/admin/keys")["keys"]
        return keys

    def revoke_api_key(self, key_id: str) -> dict[str, Any]:
        """Revoke a key by its id; it stops working at once."""
        if not key_id:
            raise InvalidInput("give the id of the key to revoke", field="key_id")
        revoked: dict[str, Any] = orjson.loads(
            self.request("DELETE", f"/admin/keys/{quote(key_id, safe='')}").content
        )
        return revoked

    # -- restores (admin keys) -----------------------------------------------------
    def start_restore(
        self,
        source: str,
        database: str,
        *,
        until: str | None = None,
        encryption_key: str | None = None,
        source_options: dict[str, str] | None = None,
    ) -> RestoreJobStatus:
        """Start restoring `source` (a run folder on the server's machine, absolute, or a
        destination URL) into the new `database`; the job, to follow with `restore_status`."""
        from rookdb.restore.jobs import RestoreJobStatus

        body = {
            "source": source,
            "database": database,
            "until": until,
            "encryption_key": encryption_key,
            "source_options": source_options or None,
        }
        data = orjson.loads(self.request("POST", "/restores", json=body).content)
        return RestoreJobStatus.from_json(data)

    def restore_status(self, job_id: str) -> RestoreJobStatus:
        """A restore job's state, progress, and result or error."""
        from rookdb.restore.jobs import RestoreJobStatus

        if not job_id:
            raise InvalidInput("give the id of the restore job", field="job_id")
        return RestoreJobStatus.from_json(self.get_json(f"/restores/{quote(job_id, safe='')}"))

    def restore_jobs(self) -> list[RestoreJobStatus]:
        """The restores the server remembers, newest first."""
        from rookdb.restore.jobs import RestoreJobStatus

        return [RestoreJobStatus.from_json(j) for j in self.get_json("/restores")["restores"]]

    def restore_database(
        self,
        source: str,
        new_name: str,
        *,
        until: str | None = None,
        encryption_key: str | None = None,
        source_options: dict[str, str] | None = None,
        progress: Progress | None = None,
        notify: Callable[[str], None] | None = None,
        poll_seconds: float = 0.5,
    ) -> RestoreJobStatus:
        """Restore on the server and follow the job to its end; the finished job (its
        `result` is the RestoreResult JSON). A failed restore raises its RookError.

        `progress(done, total)` gets bytes; `notify` each line the job announces.
        """
        status = self.start_restore(
            source,
            new_name,
            until=until,
            encryption_key=encryption_key,
            source_options=source_options,
        )
        announced = 0
        while True:
            if notify is not None:
                for line in status.notes[announced:]:
                    notify(line)
                announced = len(status.notes)
            if progress is not None and status.total_bytes:
                progress(status.done_bytes, status.total_bytes)
            if status.finished:
                break
            time.sleep(poll_seconds)
            status = self.restore_status(status.id)
        if status.error is not None:
            raise error_from_json(status.error)
        return status

    # -- the backup explorer and alerts ---------------------------------------------
    def open_backup(
        self,
        source: str,
        until: str | None = None,
        *,
        encryption_key: str | None = None,
        source_options: dict[str, str] | None = None,
    ) -> RemoteBackup:
        """The point `until` (a file name or an ISO time; None: the newest) of the backup at
        `source` (an absolute path on the server's machine, or a destination URL), explored
        by the server: `get`, `history`, `documents`, `attachment`, `diff`, `restore_into`."""
        from rookdb.client_explorer import RemoteBackup

        return RemoteBackup(
            self, source, until, encryption_key=encryption_key, source_options=source_options
        )

    @property
    def alerts(self) -> RemoteAlerts:
        """The server's alerts: incidents, deliveries, channels, settings."""
        from rookdb.client_alerts import RemoteAlerts

        return RemoteAlerts(self)

    # -- export, import, one-off backups ---------------------------------------------
    def export_database(
        self,
        name: str,
        file: str | os.PathLike[str],
        since_etag: int = 0,
        *,
        compression: str = "zstd",
        encryption_key: str | None = None,
        progress: Progress | None = None,
    ) -> BackupFileInfo:
        """Download an export of database `name` (its changes after `since_etag`) into `file`,
        checked before it is kept; the file's header and trailer, read back."""
        from rookdb.backup.chain import read_file_info

        check_database_name(name)
        target = Path(file)
        params = {"since_etag": since_etag, "compression": compression}
        response = self.open_stream(
            f"/databases/{name}/export", params, _key_header(encryption_key)
        )
        try:
            _download(response, target, encryption_key, progress, self.url)
        finally:
            response.close()
        return read_file_info(target)

    def import_file(
        self,
        file: str | os.PathLike[str],
        db_name: str,
        *,
        incremental: bool = False,
        encryption_key: str | None = None,
        progress: Progress | None = None,
    ) -> RestoreResult:
        """Send an export (or backup) file to the server, streamed, and import it into
        `db_name` (created when missing); deletes too with `incremental`."""
        check_database_name(db_name)
        path = Path(file)
        source, size = _open_local(path)
        try:
            response = self.request(
                "POST",
                f"/databases/{db_name}/import",
                params={"incremental": incremental, "file_name": path.name},
                headers={
                    "content-type": "application/octet-stream",
                    **_key_header(encryption_key),
                },
                content=_file_chunks(source, size, progress),
                wait=True,
            )
        finally:
            source.close()
        from rookdb.restore.importer import RestoreResult

        data = orjson.loads(response.content)
        return RestoreResult(
            database=data["database"],
            source=data["source"],
            files=tuple(data["files"]),
            last_etag=data["last_etag"],
            documents=data["documents"],
            duration_ms=data["duration_ms"],
            counts=data["counts"],
        )

    def import_folder(
        self,
        folder: str | os.PathLike[str],
        db_name: str,
        *,
        incremental: bool = False,
        encryption_key: str | None = None,
        progress: Progress | None = None,
    ) -> FolderImportResult:
        """Import every backup or export file of a local folder, in chain order, into
        `db_name` on the server; the chain is checked here before anything is sent."""
        from rookdb.restore.folder_import import import_chain, plan_folder_import

        check_database_name(db_name)
        plan = plan_folder_import(Path(folder))
        exists = self.has_database(db_name)

        def send(info: BackupFileInfo, file_progress: Progress) -> RestoreResult:
            return self.import_file(
                info.path,
                db_name,
                incremental=incremental,
                encryption_key=encryption_key,
                progress=file_progress,
            )

        return import_chain(
            plan, send, database_exists=exists, encryption_key=encryption_key, progress=progress
        )

    def run_backup(
        self,
        db_name: str,
        to: str | os.PathLike[str],
        *,
        backup_type: str = "backup",
        incremental: bool = False,
        compression: str = "zstd",
        encryption_key: str | None = None,
    ) -> BackupRun:
        """Back up `db_name` now on the server, into the folder `to` on the server's machine."""
        from rookdb.backup import BackupRun

        check_database_name(db_name)
        body = {
            "to": os.fspath(to),
            "type": backup_type,
            "incremental": incremental,
            "compression": compression,
            "encryption_key": encryption_key,
        }
        response = self.request("POST", f"/databases/{db_name}/backups", json=body, wait=True)
        return BackupRun.from_json(orjson.loads(response.content))

    # -- lifecycle -----------------------------------------------------------------
    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RemoteDatabase:
    """One database on a server; same methods and return types as `rookdb.Database`."""

    def __init__(self, client: Client, name: str) -> None:
        self.client = client
        self.name = name
        self._base = f"/databases/{name}"

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return orjson.loads(self.client.request(method, self._base + path, **kwargs).content)

    # -- documents -----------------------------------------------------------------
    def put(
        self, doc_id: str, body: dict[str, Any], *, expected_etag: int | None = None
    ) -> PutResult:
        """Create or replace a document. ``expected_etag=0`` means it must not exist yet."""
        params = {"expected_etag": expected_etag} if expected_etag is not None else None
        data = self._json("PUT", f"/docs/{_url_path(doc_id)}", json=body, params=params)
        return PutResult(data["id"], data["etag"], data["change_vector"])

    def get(self, doc_id: str) -> Document | None:
        try:
            data = self._json("GET", f"/docs/{_url_path(doc_id)}")
        except NotFound as exc:
            if exc.field == "id":  # the document; a missing database still raises
                return None
            raise
        return document_from_json(data)

    def get_many(self, ids: Sequence[str]) -> list[Document | None]:
        data = self._json("POST", "/docs/get", json={"ids": list(ids)})
        return [document_from_json(d) if d is not None else None for d in data["results"]]

    def delete(self, doc_id: str, *, expected_etag: int | None = None) -> bool:
        """Delete a document (and its attachments), leaving a tombstone. False if missing."""
        params = {"expected_etag": expected_etag} if expected_etag else None
        data = self._json("DELETE", f"/docs/{_url_path(doc_id)}", params=params)
        return bool(data["deleted"])

    def batch(self, operations: Sequence[BatchOperation]) -> list[BatchResult]:
        """Apply puts and deletes atomically: all of them or none."""
        ops = [
            {"type": op.type, "id": op.id, "body": op.body, "expected_etag": op.expected_etag}
            for op in operations
        ]
        data = self._json("POST", "/batch", json={"operations": ops})
        return [BatchResult(r["type"], r["id"], r["etag"], r["deleted"]) for r in data["results"]]

    def bulk_insert(
        self, docs: Iterable[tuple[str, dict[str, Any]]], *, lines_per_chunk: int = 1_000
    ) -> int:
        """Insert or replace many documents in one streamed request (JSON lines); how many.
        The server checks every line before writing any, so bad input writes nothing."""

        def body() -> Iterator[bytes]:
            chunk: list[bytes] = []
            for doc_id, doc in docs:
                try:
                    chunk.append(orjson.dumps({"id": doc_id, "body": doc}))
                except orjson.JSONEncodeError as exc:
                    # The request stops unfinished: the server writes nothing of it.
                    raise InvalidInput(f"document {doc_id!r}: {exc}", field="body") from exc
                if len(chunk) >= lines_per_chunk:
                    yield b"\n".join(chunk) + b"\n"
                    chunk = []
            if chunk:
                yield b"\n".join(chunk) + b"\n"

        answer = self._json(
            "POST",
            "/bulk-insert",
            content=body(),
            headers={"content-type": "application/x-ndjson"},
            wait=True,
        )
        return int(answer["inserted"])

    def list_documents(
        self, collection: str | None = None, *, start: int = 0, page_size: int = 100
    ) -> list[Document]:
        params: dict[str, Any] = {"start": start, "page_size": page_size}
        if collection is not None:
            params["collection"] = collection
        data = self._json("GET", "/docs", params=params)
        return [document_from_json(d) for d in data["documents"]]

    def collections(self) -> dict[str, int]:
        collections: dict[str, int] = self._json("GET", "/collections")["collections"]
        return collections

    def count(self) -> int:
        return self.stats().documents

    # -- attachments ---------------------------------------------------------------
    def put_attachment(
        self,
        doc_id: str,
        name: str,
        content: BinaryIO | bytes | Iterable[bytes],
        content_type: str = "application/octet-stream",
    ) -> AttachmentInfo:
        """Store an attachment on an existing document, streaming its content."""
        if not (content_type.isascii() and content_type.isprintable()):
            # It travels as an HTTP header, which carries printable ASCII only.
            raise InvalidInput(
                f"content type {content_type!r} must be printable ASCII, e.g. image/png",
                field="content_type",
            )
        data = self._json(
            "PUT",
            "/attachments",
            params={"id": doc_id, "name": name},
            headers={"content-type": content_type},
            content=_upload_chunks(content),
        )
        return _attachment_from_json(data)

    def get_attachment(self, doc_id: str, name: str) -> tuple[AttachmentInfo, Iterator[bytes]]:
        """The attachment's info and a stream of its bytes."""
        response = self.client.open_stream(
            self._base + "/attachments", params={"id": doc_id, "name": name}
        )
        info = _attachment_from_headers(response.headers)

        def stream() -> Iterator[bytes]:
            try:
                yield from response.iter_bytes(CHUNK_SIZE)
            finally:
                response.close()

        return info, stream()

    def read_attachment(self, doc_id: str, name: str) -> bytes:
        """The whole attachment in memory (for small attachments and tests)."""
        _info, stream = self.get_attachment(doc_id, name)
        return b"".join(stream)

    def attachment_info(self, doc_id: str, name: str) -> AttachmentInfo | None:
        # From the listing rather than HEAD: a HEAD error has no body to tell a
        # missing attachment (None) from a missing database (NotFound).
        return next((a for a in self.list_attachments(doc_id) if a.name == name), None)

    def list_attachments(self, doc_id: str) -> list[AttachmentInfo]:
        data = self._json("GET", "/attachments/list", params={"id": doc_id})
        return [_attachment_from_json(a) for a in data["attachments"]]

    def delete_attachment(self, doc_id: str, name: str) -> bool:
        data = self._json("DELETE", "/attachments", params={"id": doc_id, "name": name})
        return bool(data["deleted"])

    # -- identities ----------------------------------------------------------------
    def identities(self) -> dict[str, int]:
        identities: dict[str, int] = self._json("GET", "/identities")["identities"]
        return identities

    # -- indexes -------------------------------------------------------------------
    def create_index(self, name: str, collection: str, fields: list[str]) -> IndexDefinition:
        """Define an index and build it over the existing documents."""
        data = self._json(
            "PUT", f"/indexes/{_url_path(name)}", json={"collection": collection, "fields": fields}
        )
        return _index_from_json(data)

    def delete_index(self, name: str) -> bool:
        return bool(self._json("DELETE", f"/indexes/{_url_path(name)}")["deleted"])

    def get_index(self, name: str) -> IndexDefinition | None:
        try:
            data = self._json("GET", f"/indexes/{_url_path(name)}")
        except NotFound as exc:
            if exc.field == "name":
                return None
            raise
        return _index_from_json(data)

    def list_indexes(self) -> list[IndexDefinition]:
        return [_index_from_json(i) for i in self._json("GET", "/indexes")["indexes"]]

    def query(
        self,
        collection: str,
        where: Sequence[Condition | tuple[str, str, Any]] = (),
        *,
        start: int = 0,
        page_size: int = 100,
        index: str | None = None,
        order_by: str | None = None,
    ) -> QueryResult:
        """Documents of a collection matching every condition (on indexed fields), paged."""
        conditions = [c if isinstance(c, Condition) else Condition(*c) for c in where]
        body = {
            "collection": collection,
            "where": [{"field": c.field, "op": c.op, "value": c.value} for c in conditions],
            "start": start,
            "page_size": page_size,
            "index": index,
            "order_by": order_by,
        }
        data = self._json("POST", "/queries", json=body)
        return QueryResult(
            [document_from_json(d) for d in data["documents"]],
            data["total"],
            data.get("index"),
            data.get("skipped", 0),
        )

    # -- change feed and stats -----------------------------------------------------
    def changes(self, since_etag: int = 0) -> Iterator[dict[str, Any]]:
        """Every change after `since_etag`, in etag order, as JSON objects with a `kind`."""
        response = self.client.open_stream(self._base + "/changes", {"since_etag": since_etag})
        try:
            for line in response.iter_lines():
                if line:
                    yield orjson.loads(line)
        finally:
            response.close()

    def stats(self) -> DatabaseStats:
        data = self.client.get_json(self._base)
        return DatabaseStats(
            data["name"],
            data["documents"],
            data["collections"],
            data["attachments"],
            data["indexes"],
            data["last_etag"],
            data["size_bytes"],
        )

    @property
    def last_etag(self) -> int:
        return self.stats().last_etag


def _key_header(encryption_key: str | None) -> dict[str, str]:
    # Percent-encoded: a passphrase may hold characters an HTTP header cannot carry.
    return {KEY_HEADER: quote(encryption_key, safe="")} if encryption_key else {}


def _open_local(path: Path) -> tuple[BinaryIO, int]:
    """A local file to send, and its size; the error names the file."""
    try:
        source = open(path, "rb")  # noqa: SIM115 - closed by the caller
    except FileNotFoundError:
        raise NotFound(f"file {path} does not exist", field="file") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InvalidInput(f"cannot read {path}: {reason}", field="file") from None
    return source, os.fstat(source.fileno()).st_size


def _file_chunks(source: BinaryIO, size: int, progress: Progress | None) -> Iterator[bytes]:
    done = 0
    while chunk := source.read(CHUNK_SIZE):
        done += len(chunk)
        if progress is not None:
            progress(done, size)
        yield chunk


def _download(
    response: httpx.Response,
    target: Path,
    encryption_key: str | None,
    progress: Progress | None,
    url: str,
) -> None:
    """Write a streamed backup file to `target`, kept only once complete and checked."""
    from rookdb.backup.format import BackupReader
    from rookdb.backup.naming import IN_PROGRESS, atomic_file

    done = 0
    try:
        with atomic_file(target) as out:
            try:
                for chunk in response.iter_bytes(CHUNK_SIZE):
                    out.write(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, 0)
            except httpx.HTTPError as exc:
                raise BackupCorrupted(
                    f"the export from {url} stopped after {done} bytes ({exc}); nothing was kept"
                ) from exc
            out.flush()
            # A body cut short by a failure on the server has no trailer: refused here.
            partial = Path(f"{target}{IN_PROGRESS}")
            with BackupReader(partial, encryption_key=encryption_key) as reader:
                reader.verify_checksum()
    except ValueError as exc:  # a NUL in the path
        raise InvalidInput(f"cannot write {target}: {exc}", field="file") from None
    except BackupError as exc:
        if isinstance(exc, BackupCorrupted) and exc.message.startswith("the export from"):
            raise
        raise BackupCorrupted(
            f"the export from {url} is incomplete or damaged ({exc.message}); nothing was kept"
        ) from exc


def _attachment_from_headers(headers: httpx.Headers) -> AttachmentInfo:
    return AttachmentInfo(
        unquote(headers["x-rookdb-document-id"]),
        unquote(headers["x-rookdb-attachment-name"]),
        headers["content-type"],
        int(headers["content-length"]),
        headers["x-rookdb-attachment-hash"],
        int(headers["etag"].strip('"')),
    )
