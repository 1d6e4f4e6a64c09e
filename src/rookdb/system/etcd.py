"""The cluster system store: database records, task definitions, status and keys in etcd.

The same contract as the SQLite store (tests/system/contract.py runs against
both). etcd's own per-key `version` (1 at creation, +1 at every put, gone with
the key) is the entry version, so compare-and-set is an etcd transaction that
compares it, and `commit` is one transaction over every key it writes: all or
nothing, whichever node writes. Values are JSON.

The client is `etcd3gw` (plain HTTP to etcd's JSON gateway: no gRPC or protobuf
to clash with), wrapped thinly by `EtcdClient` with what it lacks: several
endpoints with failover, and a timeout on every request, so a cluster that
has lost its quorum answers `ClusterUnavailable` within seconds instead of
hanging. Nothing here holds a plain secret: task secrets are sealed before
they reach any system store.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import ipaddress
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import orjson

from rookdb.errors import (
    AlreadyExists,
    ClusterUnavailable,
    ConcurrencyConflict,
    FencedOut,
    InvalidInput,
    NotFound,
)
from rookdb.system.store import DatabaseRecord, Entry, SystemStore, Write
from rookdb.system.watched_reads import DATABASES, NODES

T = TypeVar("T")
# Per request: long enough for a busy etcd, short enough that no caller hangs.
REQUEST_TIMEOUT_SECONDS = 5.0


def b64(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.b64encode(raw).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def prefix_end(prefix: str) -> str:
    # The first key after every key starting with `prefix` (etcd's prefix range).
    raw = bytearray(prefix.encode())
    raw[-1] += 1
    return b64(bytes(raw))


class EtcdClient:
    """etcd3gw clients for several endpoints, used in turn: the next one when one fails."""

    def __init__(self, endpoints: Sequence[str], *, timeout: float = REQUEST_TIMEOUT_SECONDS):
        if not endpoints:
            raise InvalidInput("give at least one etcd endpoint", field="cluster")
        from etcd3gw.client import Etcd3Client  # imported only by a node in a cluster

        self._clients = []
        self.urls: list[str] = []  # each endpoint as a base URL, such as http://127.0.0.1:2379
        for endpoint in endpoints:
            try:
                parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
                port = parts.port
            except ValueError:
                parts, port = None, None
            if (
                parts is None
                or parts.scheme not in ("http", "https")
                or not _valid_host(parts.hostname or "")
            ):
                raise InvalidInput(
                    f"{endpoint!r} is not an etcd URL (such as http://127.0.0.1:2379)",
                    field="cluster",
                )
            host = parts.hostname or ""
            self.urls.append(
                f"{parts.scheme}://{f'[{host}]' if ':' in host else host}:{port or 2379}"
            )
            self._clients.append(
                Etcd3Client(
                    host=parts.hostname,
                    port=port or 2379,
                    protocol=parts.scheme,
                    timeout=timeout,
                    api_path="/v3/",
                )
            )
        self.endpoints = list(endpoints)
        self._current = 0
        self._lock = threading.Lock()

    def call(self, action: Callable[[Any], T]) -> T:
        """`action(client)` on the current endpoint, then on each other one while they fail."""
        from etcd3gw import exceptions

        with self._lock:
            start = self._current
        last: Exception | None = None
        for step in range(len(self._clients)):
            index = (start + step) % len(self._clients)
            try:
                result = action(self._clients[index])
            except (
                exceptions.ConnectionFailedError,
                exceptions.ConnectionTimeoutError,
                exceptions.InternalServerError,
            ) as exc:
                last = exc
                continue
            except exceptions.Etcd3Exception as exc:
                # etcd answered but refused (no leader, too many requests ...).
                last = exc
                continue
            with self._lock:
                self._current = index
            return result
        raise ClusterUnavailable(
            f"the cluster state (etcd at {', '.join(self.endpoints)}) does not answer: "
            f"{_reason(last)}; cluster-wide changes are refused until it does"
        ) from last

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One request to etcd's v3 JSON gateway (`kv/range`, `kv/txn` ...)."""
        return self.call(lambda client: client.post(client.get_url(path), json=body))

    def close(self) -> None:
        for client in self._clients:
            client.session.close()


_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def _valid_host(host: str) -> bool:
    """An IP address or a DNS name (checked here, so a bad one never reaches a resolver)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host.rstrip(".").split(".")
    return (
        0 < len(host) <= 253
        and all(_LABEL.match(label) for label in labels)
        and not labels[-1].isdigit()  # "99999" is neither an address nor a name
    )


def _reason(exc: Exception | None) -> str:
    if exc is None:
        return "no endpoint"
    kind = {
        "ConnectionFailedError": "connection refused or no route",
        "ConnectionTimeoutError": "no answer in time (no leader, or unreachable)",
    }.get(type(exc).__name__, type(exc).__name__)
    detail = str(getattr(exc, "detail_text", "") or "")
    # requests' texts are long and nested; etcd's own error text is short and useful.
    return kind if not detail or "HTTPConnectionPool" in detail else f"{kind}: {detail[:200]}"


class EtcdSystemStore(SystemStore):
    """System store entries under `/rookdb/{cluster}/` in etcd."""

    def __init__(self, client: EtcdClient, *, cluster: str = "default") -> None:
        self._client = client
        self._root = f"/rookdb/{cluster}/"
        self._fence = threading.local()  # this thread's Fence while inside `fenced()`

    @contextlib.contextmanager
    def fenced(self, fence: Fence) -> Iterator[None]:
        """Changes this thread makes inside hold only while `fence` holds.

        etcd checks the fence's compares in the same transaction as the change, so
        a node that lost its role (its lease ran out while it was paused) between
        deciding and writing cannot write: it gets `fence.lost` instead.
        """
        self._fence.active = fence
        try:
            yield
        finally:
            self._fence.active = None

    # -- keys ---------------------------------------------------------------------
    def namespace_of(self, etcd_key: str) -> str | None:
        """The namespace an etcd key under this store's root belongs to (None: not ours)."""
        if not etcd_key.startswith(self._root):
            return None
        kind, _, rest = etcd_key[len(self._root) :].partition("/")
        if kind == "entries":
            return rest.partition("/")[0] or None
        if kind == "databases":
            return DATABASES
        if kind == "nodes":
            return NODES
        return None

    def _entry_key(self, namespace: str, key: str) -> str:
        return f"{self._root}entries/{namespace}/{key}"

    def _database_key(self, name: str) -> str:
        return f"{self._root}databases/{name.lower()}"

    # -- databases ------------------------------------------------------------------
    def add_database(self, record: DatabaseRecord) -> None:
        key = self._database_key(record.name)
        body = orjson.dumps(record.to_json())
        answer = self._write(
            "kv/txn",
            {
                "compare": [version_is(key, 0)],
                "success": [{"request_put": {"key": b64(key), "value": b64(body)}}],
            },
        )
        if not answer.get("succeeded"):
            raise AlreadyExists(f"database {record.name!r} already exists")

    def get_database(self, name: str) -> DatabaseRecord | None:
        kvs = self._range(self._database_key(name))
        return _database(kvs[0]) if kvs else None

    def list_databases(self) -> builtins.list[DatabaseRecord]:
        return [_database(kv) for kv in self._range_prefix(f"{self._root}databases/")]

    def remove_database(self, name: str) -> bool:
        return self._delete(self._database_key(name))

    def replace_database(self, expected: DatabaseRecord, new: DatabaseRecord) -> None:
        key = self._database_key(expected.name)
        kvs = self._range(key)
        if not kvs:
            raise NotFound(f"database {expected.name!r} does not exist")
        changed = ConcurrencyConflict(
            f"database {expected.name!r} changed meanwhile (another writer came first)"
        )
        if _database(kvs[0]) != expected:
            raise changed
        body = {**expected.to_json(), "settings": new.settings}
        answer = self._write(
            "kv/txn",
            {
                "compare": [version_is(key, int(kvs[0]["version"]))],
                "success": [{"request_put": {"key": b64(key), "value": b64(orjson.dumps(body))}}],
            },
        )
        if not answer.get("succeeded"):
            raise changed

    # -- entries -------------------------------------------------------------------
    def put(
        self,
        namespace: str,
        key: str,
        value: dict[str, Any],
        *,
        expected_version: int | None = None,
    ) -> int:
        full = self._entry_key(namespace, key)
        answer = self._txn([Write(namespace, key, value, expected_version)], read_back=full)
        kvs = answer["responses"][-1]["response_range"].get("kvs", [])
        return int(kvs[0]["version"]) if kvs else 0

    def commit(self, writes: Sequence[Write]) -> None:
        if writes:
            self._txn(writes)

    def get(self, namespace: str, key: str) -> Entry | None:
        kvs = self._range(self._entry_key(namespace, key))
        return _entry(namespace, key, kvs[0]) if kvs else None

    def list(self, namespace: str, prefix: str = "") -> list[Entry]:
        base = self._entry_key(namespace, "")
        return [
            _entry(namespace, unb64(kv["key"]).decode()[len(base) :], kv)
            for kv in self._range_prefix(base + prefix)
        ]

    def delete(self, namespace: str, key: str) -> bool:
        return self._delete(self._entry_key(namespace, key))

    def close(self) -> None:
        self._client.close()

    # -- etcd requests --------------------------------------------------------------
    def _txn(self, writes: Sequence[Write], read_back: str | None = None) -> dict[str, Any]:
        compare, success = [], []
        for write in writes:
            key = self._entry_key(write.namespace, write.key)
            if write.expected_version is not None:
                compare.append(version_is(key, write.expected_version))
            if write.value is None:
                success.append({"request_delete_range": {"key": b64(key)}})
            else:
                value = b64(orjson.dumps(write.value))
                success.append({"request_put": {"key": b64(key), "value": value}})
        if read_back is not None:
            success.append({"request_range": {"key": b64(read_back)}})
        answer = self._write("kv/txn", {"compare": compare, "success": success})
        if not answer.get("succeeded"):
            names = ", ".join(f"{w.namespace}/{w.key}" for w in writes)
            raise ConcurrencyConflict(f"{names} changed meanwhile (another writer came first)")
        return answer

    def _range(self, key: str) -> builtins.list[dict[str, Any]]:
        answer = self._client.post("kv/range", {"key": b64(key)})
        return list(answer.get("kvs", []))

    def _range_prefix(self, prefix: str) -> builtins.list[dict[str, Any]]:
        answer = self._client.post(
            "kv/range",
            {"key": b64(prefix), "range_end": prefix_end(prefix), "sort_order": 1},
        )
        return list(answer.get("kvs", []))

    def _delete(self, key: str) -> bool:
        answer = self._write("kv/deleterange", {"key": b64(key)})
        return int(answer.get("deleted", 0)) > 0

    def _write(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send a change only while etcd has a quorum.

        A write that reaches a leader without a quorum is not refused: it waits in
        the leader's log and may still be applied when the quorum comes back, long
        after the caller was told it failed. So a linearizable read (which needs a
        quorum) goes first: without one, nothing is sent and the refusal is certain.
        """
        self._client.post("kv/range", {"key": b64(f"{self._root}quorum")})
        fence: Fence | None = getattr(self._fence, "active", None)
        sent_path, sent = (path, body) if fence is None else ("kv/txn", fence.around(path, body))
        try:
            answer = self._client.post(sent_path, sent)
        except ClusterUnavailable as exc:
            raise ClusterUnavailable(
                f"{exc.message} (the quorum was lost during this change: it may still be "
                "applied; read it back before retrying)"
            ) from exc
        if fence is None:
            return answer
        if not answer.get("succeeded"):
            # The fence or the change's own compares: ask about the fence alone.
            held = self._client.post("kv/txn", {"compare": list(fence.compares), "success": []})
            if not held.get("succeeded"):
                raise FencedOut(fence.lost)
            return answer
        return fence.unwrap(path, answer)


def version_is(key: str, version: int) -> dict[str, Any]:
    # etcd's JSON gateway leaves out fields equal to zero, so "version 0" (the key
    # does not exist) is sent as an explicit 0 and compared with EQUAL.
    return {"key": b64(key), "result": "EQUAL", "target": "VERSION", "version": str(version)}


def _entry(namespace: str, key: str, kv: dict[str, Any]) -> Entry:
    return Entry(namespace, key, orjson.loads(unb64(kv.get("value", ""))), int(kv["version"]))


def _database(kv: dict[str, Any]) -> DatabaseRecord:
    body = orjson.loads(unb64(kv.get("value", "")))
    return DatabaseRecord(body["name"], body["created_at"], body["file"], body.get("settings", {}))


@dataclass(frozen=True)
class Fence:
    """Compares a change must pass besides its own, and what to say when they fail."""

    compares: tuple[dict[str, Any], ...]
    lost: str

    def around(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """The request `path` with `body`, as one transaction that also checks the fence."""
        if path == "kv/txn":
            return {**body, "compare": [*self.compares, *body.get("compare", [])]}
        if path == "kv/deleterange":
            return {"compare": list(self.compares), "success": [{"request_delete_range": body}]}
        raise ValueError(f"{path} cannot be fenced")

    def unwrap(self, path: str, answer: dict[str, Any]) -> dict[str, Any]:
        """The answer `path` itself would have given."""
        if path == "kv/deleterange":
            responses = answer.get("responses") or [{}]
            return dict(responses[0].get("response_delete_range", {}))
        return answer


def lease_is(key: str, lease_id: str) -> dict[str, Any]:
    """An etcd compare: `key` exists under the lease `lease_id`."""
    return {"key": b64(key), "result": "EQUAL", "target": "LEASE", "lease": lease_id}
