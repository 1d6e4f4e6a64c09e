"""Upload throughput: rookdb's Destination vs the same SDK's plain upload, per emulator.

Starts every emulator on loopback (moto for S3 and Glacier, s3rver, Azurite,
gcp-storage-emulator, pyftpdlib), uploads the same file through
``Destination.put_file`` and through the SDK's own one-call upload, and prints
MB/s for both and their ratio (target: rookdb >= 0.8 x plain). Each number is
the best of ``--repeat`` interleaved runs, to damp the noise of a shared machine.

Run: `.venv/bin/python benchmarks/destinations.py [--mb 64] [--repeat 3]`
(needs `bash scripts/test-deps.sh` for the npm emulators).
"""

from __future__ import annotations

import argparse
import ftplib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from rookdb.destinations import Destination, from_config

REPO = Path(__file__).resolve().parents[1]
NODE_BIN = REPO / ".test-servers" / "node_modules" / ".bin"
VENV_BIN = Path(sys.executable).parent
AZURITE_ACCOUNT = "devstoreaccount1"
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def server(argv_for_port: Callable[[int], list[str]]) -> Iterator[int]:
    """Start an emulator process on a free port; yield the port."""
    port = free_port()
    proc = subprocess.Popen(
        argv_for_port(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"emulator did not start: {argv_for_port(port)[0]}")
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def timed(action: Callable[[], None]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def s3_client(port: int, key: str, secret: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(s3={"addressing_style": "path"}),
    )


def s3_pair(port: int, key: str, secret: str) -> tuple[Destination, Callable[[Path], None]]:
    client = s3_client(port, key, secret)
    client.create_bucket(Bucket="bench")
    destination = from_config(
        {
            "kind": "s3",
            "bucket": "bench",
            "prefix": "rookdb",
            "endpoint_url": f"http://127.0.0.1:{port}",
            "region": "us-east-1",
            "access_key_id": key,
            "secret_access_key": secret,
        }
    )
    return destination, lambda f: client.upload_file(str(f), "bench", "plain/file")


def glacier_pair(port: int, state: Path) -> tuple[Destination, Callable[[Path], None]]:
    client = boto3.client(
        "glacier",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
    )
    client.create_vault(vaultName="bench")

    def plain(f: Path) -> None:
        with open(f, "rb") as body:
            client.upload_archive(vaultName="bench", archiveDescription="plain", body=body)

    destination = from_config(
        {
            "kind": "glacier",
            "vault": "bench",
            "endpoint_url": f"http://127.0.0.1:{port}",
            "region": "us-east-1",
            "access_key_id": "k",
            "secret_access_key": "s",
            "inventory_path": str(state / "glacier.json"),
        }
    )
    return destination, plain


def azure_pair(port: int) -> tuple[Destination, Callable[[Path], None]]:
    from azure.storage.blob import BlobServiceClient

    endpoint = f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"
    service = BlobServiceClient(
        endpoint, credential={"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY}
    )
    service.create_container("bench")

    def plain(f: Path) -> None:
        with open(f, "rb") as data:
            service.get_blob_client("bench", "plain/file").upload_blob(data, overwrite=True)

    destination = from_config(
        {
            "kind": "azure",
            "container": "bench",
            "prefix": "rookdb",
            "account_name": AZURITE_ACCOUNT,
            "account_key": AZURITE_KEY,
            "endpoint_url": endpoint,
        }
    )
    return destination, plain


def gcs_pair(port: int) -> tuple[Destination, Callable[[Path], None]]:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    endpoint = f"http://127.0.0.1:{port}"
    client = storage.Client(
        project="bench",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": endpoint},
    )
    bucket = client.create_bucket("bench")
    destination = from_config(
        {"kind": "gcs", "bucket": "bench", "prefix": "rookdb", "endpoint_url": endpoint}
    )
    return destination, lambda f: bucket.blob("plain/file").upload_from_filename(str(f))


def ftp_pair(port: int) -> tuple[Destination, Callable[[Path], None]]:
    def plain(f: Path) -> None:
        with ftplib.FTP() as ftp, open(f, "rb") as data:
            ftp.connect("127.0.0.1", port)
            ftp.login("bench", "bench")
            ftp.storbinary("STOR plain-file", data)

    destination = from_config(
        {
            "kind": "ftp",
            "host": "127.0.0.1",
            "port": port,
            "user": "bench",
            "password": "bench",
            "folder": "/rookdb",
        }
    )
    return destination, plain


def local_pair(root: Path) -> tuple[Destination, Callable[[Path], None]]:
    (root / "plain").mkdir(parents=True)
    destination = from_config({"kind": "local", "path": str(root / "rookdb")})

    def plain(f: Path) -> None:
        # The same durability as rookdb's copy: the bytes are on disk when it returns.
        shutil.copyfile(f, root / "plain" / "file")
        with open(root / "plain" / "file", "rb+") as out:
            os.fsync(out.fileno())

    return destination, plain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=64, help="size of the uploaded file")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best kept)")
    parser.add_argument("--only", default="", help="measure only rows containing this text")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rookdb-bench-") as tmp:
        work = Path(tmp)
        source = work / "backup.bin"
        with open(source, "wb") as out:
            for _ in range(args.mb):
                out.write(os.urandom(1024 * 1024))
        size_mb = source.stat().st_size / 1e6

        moto = [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p"]
        rows: list[tuple[str, float, float]] = []

        def measure(label: str, pair: tuple[Destination, Callable[[Path], None]]) -> None:
            destination, plain = pair
            if args.only.lower() not in label.lower():
                return
            # Interleaved, so a burst of load from elsewhere hits both sides alike.
            ours, theirs = float("inf"), float("inf")
            for _ in range(args.repeat):
                ours = min(ours, timed(lambda: destination.put_file(source, "run/file")))
                theirs = min(theirs, timed(lambda: plain(source)))
            rows.append((label, size_mb / ours, size_mb / theirs))
            destination.close()
            print(f"  measured {label}", file=sys.stderr)

        measure("local folder (copy + fsync)", local_pair(work / "local"))
        with server(lambda p: [*moto, str(p)]) as port:
            measure("S3 on moto (boto3)", s3_pair(port, "k", "s"))
            measure("Glacier on moto (boto3)", glacier_pair(port, work))
        s3rver = NODE_BIN / "s3rver"
        data = work / "s3rver"
        data.mkdir()
        with server(
            lambda p: [str(s3rver), "-a", "127.0.0.1", "-p", str(p), "-d", str(data), "--silent"]
        ) as port:
            measure("S3 on s3rver (boto3)", s3_pair(port, "S3RVER", "S3RVER"))
        with server(
            lambda p: [
                str(NODE_BIN / "azurite-blob"), "--blobHost", "127.0.0.1", "--blobPort", str(p),
                "--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry",
            ]
        ) as port:  # fmt: skip
            measure("Azure on Azurite (azure-storage-blob)", azure_pair(port))
        with server(
            lambda p: [
                str(VENV_BIN / "gcp-storage-emulator"), "start", "--host=127.0.0.1",
                f"--port={p}", "--in-memory",
            ]
        ) as port:  # fmt: skip
            measure("GCS on emulator (google-cloud-storage)", gcs_pair(port))
        ftp_root = work / "ftp"
        ftp_root.mkdir()
        with server(
            lambda p: [
                sys.executable, "-m", "pyftpdlib", "-i", "127.0.0.1", "-p", str(p), "-w",
                "-d", str(ftp_root), "-u", "bench", "-P", "bench",
            ]
        ) as port:  # fmt: skip
            measure("FTP on pyftpdlib (ftplib)", ftp_pair(port))

    print(f"\nUpload of a {size_mb:.0f} MB file on loopback, best of {args.repeat}\n")
    print(f"| {'destination':<40} | {'rookdb MB/s':>11} | {'plain SDK MB/s':>14} | ratio |")
    print(f"|{'-' * 42}|{'-' * 13}|{'-' * 16}|-------|")
    for label, ours, theirs in rows:
        print(f"| {label:<40} | {ours:>11.1f} | {theirs:>14.1f} | {ours / theirs:>5.2f} |")


if __name__ == "__main__":
    main()
