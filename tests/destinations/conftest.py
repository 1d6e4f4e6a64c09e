"""Real servers for the destination tests, started once per session on 127.0.0.1.

A missing emulator is a test failure, never a skip: ``scripts/test-deps.sh``
installs the npm ones into ``.test-servers/``.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, suppress
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from rookdb.destinations import Destination, from_config

from .servers import (
    AZURITE_KEY,
    NODE_BIN,
    VENV_BIN,
    Backend,
    FtpServer,
    Restartable,
    ServerProcess,
    create_vault,
    dead_port,
    fast,
    make_certificate,
    require,
    restartable,
    unique,
)

# --- local --------------------------------------------------------------------


@pytest.fixture
def local_backend(tmp_path: Path) -> Backend:
    def make() -> Destination:
        return from_config({"kind": "local", "path": str(tmp_path / unique("root"))})

    def missing() -> tuple[Destination, str]:
        blocker = tmp_path / unique("file")
        blocker.write_text("a file where the folder should be")
        return from_config({"kind": "local", "path": str(blocker / "backups")}), str(blocker)

    return Backend("local", make, None, missing, None, None)


# --- S3 on moto (authentication enforced) ---------------------------------------


def moto_argv(port: int) -> list[str]:
    return [str(require(VENV_BIN / "moto_server")), "-H", "127.0.0.1", "-p", str(port)]


def s3_client(endpoint: str, key: str, secret: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}),
    )


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[dict[str, str]]:
    """A moto server with IAM authentication on: wrong keys are refused as on AWS."""
    server = ServerProcess(moto_argv)
    server.start()
    iam = boto3.client(
        "iam",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="setup",
        aws_secret_access_key="setup",
    )
    iam.create_user(UserName="rookdb")
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }
    iam.put_user_policy(UserName="rookdb", PolicyName="all", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName="rookdb")["AccessKey"]
    access = {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}
    s3_client(server.url, access["access_key_id"], access["secret_access_key"]).create_bucket(
        Bucket="rookdb-tests"
    )
    request = urllib.request.Request(
        server.url + "/moto-api/reset-auth",
        data=b"0",
        method="POST",
        headers={"Content-Type": "text/plain"},
    )
    urllib.request.urlopen(request, timeout=10).read()
    yield {"endpoint_url": server.url, "bucket": "rookdb-tests", **access}
    server.stop()


def s3_backend(
    label: str,
    server: dict[str, str],
    restart_argv: Callable[[int], list[str]],
    restart_keys: tuple[str, str],
) -> Backend:
    def config(**changes: Any) -> dict[str, Any]:
        return fast(
            {
                "kind": "s3",
                "bucket": server["bucket"],
                "prefix": f"backups/{unique()}",
                "region": "us-east-1",
                "endpoint_url": server["endpoint_url"],
                "access_key_id": server["access_key_id"],
                "secret_access_key": server["secret_access_key"],
                **changes,
            }
        )

    def make() -> Destination:
        return from_config(config())

    def wrong() -> Destination:
        return from_config(config(access_key_id="AKIAWRONGWRONGWRONG1", secret_access_key="nope"))

    def missing() -> tuple[Destination, str]:
        bucket = unique("nobucket")
        return from_config(config(bucket=bucket)), bucket

    def unreachable() -> Destination:
        return from_config(config(endpoint_url=f"http://127.0.0.1:{dead_port()}"))

    def restart() -> AbstractContextManager[Restartable]:
        proc = ServerProcess(restart_argv)
        key, secret = restart_keys
        destination = from_config(
            config(endpoint_url=proc.url, access_key_id=key, secret_access_key=secret)
        )

        def prepare() -> None:
            # In-memory servers forget the bucket when stopped.
            client = s3_client(proc.url, key, secret)
            names = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
            if server["bucket"] not in names:
                client.create_bucket(Bucket=server["bucket"])

        return restartable(proc, prepare, destination)

    return Backend(label, make, wrong, missing, unreachable, restart)


@pytest.fixture
def moto_s3_backend(moto_s3: dict[str, str]) -> Backend:
    return s3_backend("s3-moto", moto_s3, moto_argv, ("any", "any"))


# --- S3 on s3rver (a second implementation) ---------------------------------------


def s3rver_argv(directory: Path) -> Callable[[int], list[str]]:
    binary = require(NODE_BIN / "s3rver")
    return lambda port: [
        str(binary),
        "-a",
        "127.0.0.1",
        "-p",
        str(port),
        "-d",
        str(directory),
        "--silent",
    ]


@pytest.fixture(scope="session")
def s3rver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    server = ServerProcess(s3rver_argv(tmp_path_factory.mktemp("s3rver")))
    server.start()
    s3_client(server.url, "S3RVER", "S3RVER").create_bucket(Bucket="rookdb-tests")
    yield {
        "endpoint_url": server.url,
        "bucket": "rookdb-tests",
        "access_key_id": "S3RVER",
        "secret_access_key": "S3RVER",
    }
    server.stop()


@pytest.fixture
def s3rver_backend(s3rver: dict[str, str], tmp_path: Path) -> Backend:
    return s3_backend("s3-s3rver", s3rver, s3rver_argv(tmp_path / "s3rver"), ("S3RVER", "S3RVER"))


# --- Azure Blob on Azurite --------------------------------------------------------


def azurite_argv(port: int) -> list[str]:
    return [
        str(require(NODE_BIN / "azurite-blob")),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--inMemoryPersistence",
        "--skipApiVersionCheck",
        "--disableTelemetry",
    ]


def azurite_connection_string(port: int, key: str = AZURITE_KEY) -> str:
    return (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        f"AccountKey={key};BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"
    )


def create_container(port: int, name: str) -> None:
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import BlobServiceClient

    service = BlobServiceClient.from_connection_string(azurite_connection_string(port))
    with service, suppress(ResourceExistsError):
        service.create_container(name)


@pytest.fixture(scope="session")
def azurite() -> Iterator[ServerProcess]:
    server = ServerProcess(azurite_argv)
    server.start()
    create_container(server.port, "rookdb-tests")
    yield server
    server.stop()


def azure_config(port: int, **changes: Any) -> dict[str, Any]:
    # Half the tests use account name + key + endpoint, half the connection string.
    return fast(
        {
            "kind": "azure",
            "container": "rookdb-tests",
            "prefix": f"backups/{unique()}",
            "account_name": "devstoreaccount1",
            "account_key": AZURITE_KEY,
            "endpoint_url": f"http://127.0.0.1:{port}/devstoreaccount1",
            **changes,
        }
    )


@pytest.fixture
def azurite_backend(azurite: ServerProcess) -> Backend:
    port = azurite.port

    def make() -> Destination:
        return from_config(azure_config(port))

    def wrong() -> Destination:
        bad_key = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nIQ=="
        return from_config(azure_config(port, account_key=bad_key))

    def missing() -> tuple[Destination, str]:
        name = unique("nocontainer")
        conn = azurite_connection_string(port)
        config = azure_config(port, container=name, connection_string=conn)
        for field in ("account_name", "account_key", "endpoint_url"):
            config.pop(field)
        return from_config(config), name

    def unreachable() -> Destination:
        return from_config(azure_config(dead_port()))

    def restart() -> AbstractContextManager[Restartable]:
        proc = ServerProcess(azurite_argv)
        destination = from_config(azure_config(proc.port))
        return restartable(proc, lambda: create_container(proc.port, "rookdb-tests"), destination)

    return Backend("azure-azurite", make, wrong, missing, unreachable, restart)


# --- Google Cloud Storage on gcp-storage-emulator ----------------------------------


def gcs_argv(port: int) -> list[str]:
    binary = require(VENV_BIN / "gcp-storage-emulator")
    return [str(binary), "start", "--host=127.0.0.1", f"--port={port}", "--in-memory"]


def create_bucket(endpoint: str, name: str) -> None:
    from google.api_core.exceptions import Conflict
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    client = storage.Client(
        project="test",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": endpoint},
    )
    with suppress(Conflict):
        client.create_bucket(name)
    client.close()


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[ServerProcess]:
    server = ServerProcess(gcs_argv)
    server.start()
    create_bucket(server.url, "rookdb-tests")
    yield server
    server.stop()


def gcs_config(endpoint: str, **changes: Any) -> dict[str, Any]:
    return fast(
        {
            "kind": "gcs",
            "bucket": "rookdb-tests",
            "prefix": f"backups/{unique()}",
            "endpoint_url": endpoint,
            **changes,
        }
    )


@pytest.fixture
def gcs_backend(gcs_emulator: ServerProcess) -> Backend:
    def make() -> Destination:
        return from_config(gcs_config(gcs_emulator.url))

    def missing() -> tuple[Destination, str]:
        name = unique("nobucket")
        return from_config(gcs_config(gcs_emulator.url, bucket=name)), name

    def unreachable() -> Destination:
        return from_config(gcs_config(f"http://127.0.0.1:{dead_port()}"))

    def restart() -> AbstractContextManager[Restartable]:
        proc = ServerProcess(gcs_argv)
        destination = from_config(gcs_config(proc.url))
        return restartable(proc, lambda: create_bucket(proc.url, "rookdb-tests"), destination)

    # The emulator accepts any (or no) credentials: wrong keys cannot be tested here.
    return Backend("gcs-emulator", make, None, missing, unreachable, restart)


# --- FTP and FTPS on pyftpdlib ------------------------------------------------------


@pytest.fixture(scope="session")
def ftps_certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def ftp_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ftp-home")


@pytest.fixture(scope="session")
def ftp_server(ftp_home: Path) -> Iterator[FtpServer]:
    server = FtpServer(ftp_home)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ftps_server(ftp_home: Path, ftps_certificate: Path) -> Iterator[FtpServer]:
    server = FtpServer(ftp_home, ftps_certificate)
    server.start()
    yield server
    server.stop()


def ftp_backend(label: str, server: FtpServer, tmp_path: Path, tls: Path | None) -> Backend:
    def config(**changes: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "kind": "ftp",
            "host": "127.0.0.1",
            "port": server.port,
            "user": "rook",
            "password": "rook-secret",
            "folder": f"/backups/{unique()}",
            "tls": tls is not None,
        }
        if tls is not None:
            base["tls_ca_file"] = str(tls)
        return fast({**base, **changes})

    def make() -> Destination:
        return from_config(config())

    def wrong() -> Destination:
        return from_config(config(password="not-the-password"))

    def missing() -> tuple[Destination, str]:
        # A folder the (read-only) user may not create: FTP's "missing bucket".
        folder = unique("nofolder")
        return from_config(config(user="reader", password="reader-secret", folder=folder)), folder

    def unreachable() -> Destination:
        return from_config(config(port=dead_port()))

    def restart() -> AbstractContextManager[Restartable]:
        home = tmp_path / "restart-home"
        home.mkdir()
        proc = FtpServer(home, tls)
        destination = from_config(config(port=proc.port))
        return restartable(proc, lambda: None, destination)

    return Backend(label, make, wrong, missing, unreachable, restart)


@pytest.fixture
def ftp_backend_plain(ftp_server: FtpServer, tmp_path: Path) -> Backend:
    return ftp_backend("ftp", ftp_server, tmp_path, None)


@pytest.fixture
def ftps_backend(ftps_server: FtpServer, tmp_path: Path, ftps_certificate: Path) -> Backend:
    return ftp_backend("ftps", ftps_server, tmp_path, ftps_certificate)


# --- Glacier on moto (no authentication: moto cannot verify Glacier signatures) -----


@pytest.fixture(scope="session")
def moto_glacier() -> Iterator[ServerProcess]:
    server = ServerProcess(moto_argv)
    server.start()
    create_vault(server.url, "rookdb-tests")
    yield server
    server.stop()


def glacier_config(endpoint: str, inventory: Path, **changes: Any) -> dict[str, Any]:
    return fast(
        {
            "kind": "glacier",
            "vault": "rookdb-tests",
            "prefix": f"backups/{unique()}",
            "region": "us-east-1",
            "endpoint_url": endpoint,
            "access_key_id": "any",
            "secret_access_key": "any",
            "inventory_path": str(inventory),
            # moto finishes Expedited jobs in 2 s (Standard 5 s).
            "retrieval_tier": "Expedited",
            "retrieval_poll_seconds": 0.1,
            **changes,
        }
    )


@pytest.fixture
def glacier_backend(moto_glacier: ServerProcess, tmp_path: Path) -> Backend:
    def inventory() -> Path:
        return tmp_path / f"{unique('inventory')}.json"

    def make() -> Destination:
        return from_config(glacier_config(moto_glacier.url, inventory()))

    def missing() -> tuple[Destination, str]:
        name = unique("novault")
        return from_config(glacier_config(moto_glacier.url, inventory(), vault=name)), name

    def unreachable() -> Destination:
        return from_config(glacier_config(f"http://127.0.0.1:{dead_port()}", inventory()))

    def restart() -> AbstractContextManager[Restartable]:
        proc = ServerProcess(moto_argv)
        destination = from_config(glacier_config(proc.url, inventory()))
        return restartable(proc, lambda: create_vault(proc.url, "rookdb-tests"), destination)

    return Backend(
        "glacier-moto",
        make,
        None,
        missing,
        unreachable,
        restart,
        chunked_progress=False,
        remote_listing=False,
    )
