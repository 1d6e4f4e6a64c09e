"""Fixtures for the security tests: a real uvicorn server with API keys required."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from rookdb import Instance
from rookdb.security.keys import ApiKeys
from rookdb.server import ServerThread


@dataclass
class Keys:
    """One key per role, plus an operator limited to the database `shop`."""

    admin: str
    operator: str
    reader: str
    shop_reader: str
    other_reader: str


@pytest.fixture
def keys(instance: Instance) -> Keys:
    store = ApiKeys(instance.system)
    return Keys(
        admin=store.create("admin", name="admin")[1],
        operator=store.create("operator")[1],
        reader=store.create("reader")[1],
        shop_reader=store.create("reader", ["shop"])[1],
        other_reader=store.create("admin", ["other"])[1],
    )


@pytest.fixture
def secure_server(instance: Instance, keys: Keys) -> Iterator[ServerThread]:
    """`instance` served on loopback with authentication on; `shop` holds users/1."""
    instance.create_database("shop").put("users/1", {"name": "Ann"})
    instance.create_database("other")
    server = ServerThread(instance, auth=True).start()
    yield server
    server.stop()


def client(server: ServerThread, key: str | None = None) -> httpx.Client:
    """An httpx client for the server, sending `key` as a bearer token."""
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=30, follow_redirects=False)
