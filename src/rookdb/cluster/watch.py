"""Watching a key prefix in etcd: told of every change, resumed from the last revision seen.

etcd3gw's watcher neither resumes nor reports compaction, so this one is ours:
a thread holds a streaming `POST /v3/watch` on one endpoint at a time; when the
stream breaks (that member stopped, the network cut) it reconnects to the next
endpoint from the revision after the last one it saw, so no change is missed.
When etcd has compacted that revision away, the changes in between are gone:
the watcher then asks for a full reload (`on_change(reload=True)`) and goes on
from the current revision.

`on_keys` hears which keys changed (before `on_change`, so what it drops is
read afresh by whoever `on_change` wakes); `on_sync` hears when the stream is
up (True) and when it broke (False): between the two, changes may be missed
until the stream resumes and replays them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import orjson

from rookdb.system.etcd import b64, prefix_end, unb64

log = logging.getLogger(__name__)
RECONNECT_SECONDS = 1.0

OnChange = Callable[[bool], None]
"""Called with `reload=False` after changes, `reload=True` when some may have been missed."""
OnKeys = Callable[[list[str]], None]
OnSync = Callable[[bool], None]


class PrefixWatch:
    """A thread calling `on_change` for every change under `prefix`."""

    def __init__(
        self,
        urls: Sequence[str],
        prefix: str,
        on_change: OnChange,
        *,
        after_revision: int | None = None,
        on_keys: OnKeys | None = None,
        on_sync: OnSync | None = None,
    ) -> None:
        self._urls = list(urls)
        self._prefix = prefix
        self._on_change = on_change
        self._on_keys = on_keys or (lambda keys: None)
        self._on_sync = on_sync or (lambda in_sync: None)
        # The last revision seen: changes after it are reported (None: from now on).
        self.revision: int | None = after_revision
        self.reloads = 0  # how many times a compaction forced a full reload
        self._stop = threading.Event()
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(target=self._run, name="etcd-watch", daemon=True)

    def start(self) -> PrefixWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        response = self._response
        if response is not None:
            response.close()
        # A read blocked in the stream may not notice the close at once; the thread is a
        # daemon and calls nothing once stopped, so it is not waited for long.
        self._thread.join(1)

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            url = self._urls[attempt % len(self._urls)]
            attempt += 1
            try:
                self._follow(url)
            except (httpx.HTTPError, orjson.JSONDecodeError, KeyError, ValueError) as exc:
                if not self._stop.is_set():
                    log.info("etcd watch on %s broke (%s); resuming", url, type(exc).__name__)
            finally:
                self._on_sync(False)
            self._stop.wait(RECONNECT_SECONDS)

    def _follow(self, url: str) -> None:
        request: dict[str, Any] = {"key": b64(self._prefix), "range_end": prefix_end(self._prefix)}
        if self.revision is not None:
            request["start_revision"] = str(self.revision + 1)
        timeout = httpx.Timeout(5.0, read=None)
        with httpx.stream(
            "POST", f"{url}/v3/watch", json={"create_request": request}, timeout=timeout
        ) as response:
            self._response = response
            response.raise_for_status()
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.strip() and self._handle(orjson.loads(line).get("result", {})):
                    return  # compacted: start again from the current revision

    def _handle(self, result: dict[str, Any]) -> bool:
        """One message of the stream; True when the watch must start over."""
        if int(result.get("compact_revision", 0) or 0):
            log.warning("etcd compacted past revision %s: reloading everything", self.revision)
            self.revision = None
            self.reloads += 1
            self._on_sync(False)
            self._on_change(True)
            return True
        if result.get("canceled"):
            return True
        if result.get("created"):
            self._on_sync(True)
        header_revision = int(result.get("header", {}).get("revision", 0) or 0)
        events = result.get("events", [])
        if events and not self._stop.is_set():
            self.revision = max(int(e["kv"].get("mod_revision", 0) or 0) for e in events)
            self._on_keys([unb64(e["kv"]["key"]).decode() for e in events])
            self._on_change(False)
        elif self.revision is None and header_revision:
            # Watching from now on: whatever changed before is read afresh.
            self.revision = header_revision
            self._on_change(True)
        return False
