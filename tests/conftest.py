"""Shared fixtures: a fresh data dir and instance per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import rookdb
import rookdb.server
from rookdb import Instance


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    inst = rookdb.open(tmp_path / "data")
    yield inst
    inst.close()


@pytest.fixture
def db(instance: Instance) -> rookdb.Database:
    return instance.create_database("shop")


@pytest.fixture
def live_server(instance: Instance) -> Iterator[rookdb.server.ServerThread]:
    """A real uvicorn server on a free 127.0.0.1 port serving `instance`; `.url` is its base."""
    from rookdb.server import ServerThread

    server = ServerThread(instance).start()
    yield server
    server.stop()


@pytest.fixture
def http(live_server: rookdb.server.ServerThread) -> Iterator[httpx.Client]:
    """An httpx client for the live server (base URL set)."""
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


@pytest.fixture
def remote(live_server: rookdb.server.ServerThread) -> Iterator[rookdb.Client]:
    """A `rookdb.Client` connected to the live server."""
    from rookdb.client import Client

    with Client(live_server.url) as client:
        yield client


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server on a free 127.0.0.1 port (any keys are accepted).

    moto keeps its buckets in process-wide state, so the fixture resets it when
    done: no test sees another's buckets.
    """
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    yield endpoint
    httpx.post(f"{endpoint}/moto-api/reset", timeout=10)
    server.stop()


@pytest.fixture
def s3_endpoint_options(s3_endpoint: str) -> dict[str, str]:
    """What rookdb takes to reach the `s3_endpoint` server: source options, destination keys."""
    return {
        "endpoint_url": s3_endpoint,
        "access_key_id": "test",
        "secret_access_key": "test",
        "region": "us-east-1",
    }


@pytest.fixture
def s3_endpoint_client(s3_endpoint_options: dict[str, str]) -> Any:
    """A boto3 client of the `s3_endpoint` server, to make buckets and put files in them."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=s3_endpoint_options["endpoint_url"],
        aws_access_key_id=s3_endpoint_options["access_key_id"],
        aws_secret_access_key=s3_endpoint_options["secret_access_key"],
        region_name=s3_endpoint_options["region"],
    )


@pytest.fixture(scope="module")
def one_etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real one-member etcd for the module's tests."""
    from etcd_server import start_etcd

    cluster = start_etcd(tmp_path_factory.mktemp("etcd"), 1)
    yield cluster
    cluster.stop()


@pytest.fixture
def members_ab(one_etcd: Any, tmp_path: Path) -> Iterator[tuple[Any, Any]]:
    """Cluster members A and B joined in this process, in a cluster of their own."""
    from cluster_members import joined_members

    with joined_members(one_etcd, tmp_path, "AB") as (a, b):
        yield a, b
