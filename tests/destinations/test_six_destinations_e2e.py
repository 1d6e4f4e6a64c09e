"""End to end: one task with all six destinations on a real `rookdb serve`, Backup Now full
then incremental, and a restore from each destination URL equal to the source database.

Every destination is a real server on loopback: a local folder, S3 on moto (IAM keys
checked), Azure on Azurite, GCS on gcp-storage-emulator, Glacier on moto (which finishes
Expedited retrievals in about 2 s) and FTP on pyftpdlib.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import rookdb
from rookdb.cli.main import app
from rookdb.client import Client
from rookdb.storage import Database

from .conftest import azure_config, gcs_config, glacier_config
from .servers import AZURITE_KEY, FtpServer, RookdbServe, ServerProcess, create_vault, unique

BASE = "/databases/shop/tasks/backups"
PHOTO = os.urandom(300_000)  # incompressible: several blocks of the backup file
RECEIPT = b"%PDF-1.4 receipt\n" * 500


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RookdbServe]:
    serve = RookdbServe(tmp_path / "server-data")
    serve.start()
    yield serve
    serve.stop()


def six_destinations(
    tmp_path: Path,
    moto_s3: dict[str, str],
    azurite: ServerProcess,
    gcs_emulator: ServerProcess,
    moto_glacier: ServerProcess,
    ftp_server: FtpServer,
) -> list[dict[str, Any]]:
    vault = unique("vault")
    create_vault(moto_glacier.url, vault)
    glacier = glacier_config(moto_glacier.url, tmp_path / "unused.json", vault=vault)
    del glacier["inventory_path"]  # the task keeps it in its own state folder on the server
    return [
        {"kind": "local", "path": str(tmp_path / "local-backups")},
        {
            "kind": "s3",
            "bucket": moto_s3["bucket"],
            "prefix": f"e2e/{unique()}",
            "region": "us-east-1",
            "endpoint_url": moto_s3["endpoint_url"],
            "access_key_id": moto_s3["access_key_id"],
            "secret_access_key": moto_s3["secret_access_key"],
        },
        azure_config(azurite.port),
        gcs_config(gcs_emulator.url),
        glacier,
        {
            "kind": "ftp",
            "host": "127.0.0.1",
            "port": ftp_server.port,
            "user": "rook",
            "password": "rook-secret",
            "folder": f"/e2e/{unique()}",
        },
    ]


def fill_source(db: Any) -> None:
    """Documents (one with its own metadata), attachments, an identity, an index, a delete."""
    for n in range(1, 41):
        db.put(f"users/{n}", {"name": f"user {n}", "age": 20 + n % 50, "tags": ["a", n]})
    db.put("orders/1", {"total": 12.5, "@metadata": {"@collection": "Orders", "source": "web"}})
    db.put_attachment("users/1", "photo.bin", PHOTO, "application/octet-stream")
    db.put_attachment("orders/1", "receipt.pdf", RECEIPT, "application/pdf")
    db.put("invoices|", {"name": "from the identity"})  # invoices/1
    db.create_index("UsersByAge", "Users", ["age"])
    db.delete("users/2")


def change_source(db: Any) -> None:
    """What the incremental must carry: updates, a new attachment, identity, index and delete."""
    db.put("users/3", {"name": "user 3, renamed", "age": 99, "tags": []})
    db.put_attachment("users/3", "notes.txt", b"incremental attachment\n" * 100, "text/plain")
    db.put("invoices|", {"name": "second identity"})  # invoices/2
    db.create_index("OrdersByTotal", "Orders", ["total"])
    db.delete("users/4")
    db.delete_attachment("orders/1", "receipt.pdf")


def wait_for_run(http: httpx.Client, task_id: str, runs: int) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while True:
        status: dict[str, Any] = http.get(f"{BASE}/{task_id}/status").json()
        if status.get("runs", 0) >= runs and status["running"] is None:
            return status
        if time.monotonic() > deadline:
            pytest.fail(f"run {runs} did not finish in 90 s; last status {status}")
        time.sleep(0.2)


def database_state(db: Database) -> dict[str, Any]:
    """What a user can observe of a database, etags and change vectors included."""
    documents: dict[str, Any] = {}
    start = 0
    while page := db.list_documents(start=start, page_size=500):
        for doc in page:
            documents[doc.id] = doc.to_json()
        start += len(page)
    attachments = {
        (doc_id, info.name): (info.content_type, db.read_attachment(doc_id, info.name))
        for doc_id in documents
        for info in db.list_attachments(doc_id)
    }
    return {
        "documents": documents,
        "attachments": attachments,
        "identities": db.identities(),
        "indexes": sorted((i.name, i.collection, i.fields) for i in db.list_indexes()),
        "last_etag": db.last_etag,
    }


def restore_url(config: dict[str, Any], run_folder: str) -> str:
    kind = config["kind"]
    if kind == "local":
        return str(Path(config["path"]) / run_folder)
    if kind == "ftp":
        where = f"{config['host']}:{config['port']}{config['folder']}"
        return f"ftp://{config['user']}:{config['password']}@{where}/{run_folder}"
    scheme = {"s3": "s3", "azure": "az", "gcs": "gs", "glacier": "glacier"}[kind]
    container = config.get("bucket") or config.get("container") or config["vault"]
    return f"{scheme}://{container}/{config['prefix']}/{run_folder}"


def source_options(config: dict[str, Any], tmp_path: Path) -> list[str]:
    """What the URL does not say (keys, endpoint ...), as `--source-option KEY=VALUE`."""
    skip = {"kind", "path", "bucket", "container", "vault", "prefix", "host", "port", "folder"}
    skip |= {"user", "password"}
    options = {k: v for k, v in config.items() if k not in skip}
    if config["kind"] == "glacier":
        # A machine that never wrote to the vault: no inventory file of its own.
        options["inventory_path"] = str(tmp_path / f"{unique('fresh-inventory')}.json")
    return [f"--source-option={k}={v}" for k, v in options.items()]


def test_one_task_six_destinations_backup_now_and_restore_from_each(
    tmp_path: Path,
    server: RookdbServe,
    moto_s3: dict[str, str],
    azurite: ServerProcess,
    gcs_emulator: ServerProcess,
    moto_glacier: ServerProcess,
    ftp_server: FtpServer,
) -> None:
    destinations = six_destinations(
        tmp_path, moto_s3, azurite, gcs_emulator, moto_glacier, ftp_server
    )
    with Client(server.url) as remote, httpx.Client(base_url=server.url, timeout=60) as http:
        db = remote.create_database("shop")
        fill_source(db)
        created = http.post(
            BASE,
            json={
                # Named: the generated name of six destinations can pass the 200-character
                # limit, and such a task is stored but cannot be read back (see the report).
                "name": "Everywhere",
                # Crons that never fire during the test: only Backup Now runs.
                "full_backup_cron": "0 2 1 1 *",
                "incremental_backup_cron": "0 3 1 1 *",
                "destinations": destinations,
            },
        )
        assert created.status_code == 201, created.text
        task = created.json()
        shown = json.dumps(task)
        for secret in (moto_s3["secret_access_key"], AZURITE_KEY, "rook-secret"):
            assert secret not in shown

        assert http.post(f"{BASE}/{task['id']}/backup-now", params={"full": "true"}).is_success
        full = wait_for_run(http, task["id"], 1)
        change_source(db)
        assert http.post(f"{BASE}/{task['id']}/backup-now", params={"full": "false"}).is_success
        incremental = wait_for_run(http, task["id"], 2)

    for status, kind in ((full, "full"), (incremental, "incremental")):
        assert status["last_run"]["kind"] == kind
        assert status["last_run"]["error"] is None, status["last_run"]
        assert [(d["kind"], d["state"]) for d in status["destinations"]] == [
            (d["kind"], "done") for d in destinations
        ], status["destinations"]
    run_folder = incremental["run_folder"]
    assert run_folder == full["run_folder"]
    server.stop()

    restored_dir = tmp_path / "restored"
    runner = CliRunner()
    for config in destinations:
        url = restore_url(config, run_folder)
        name = f"from-{config['kind']}"
        argv = ["--data-dir", str(restored_dir), "restore", url, "-d", name, "--json"]
        result = runner.invoke(app, [*argv, *source_options(config, tmp_path)])
        assert result.exit_code == 0, (config["kind"], result.output)
        files = json.loads(result.stdout)["files"]
        assert len(files) == 2 and files[1].endswith(".rookdb-incremental-backup"), files
        assert "rook-secret" not in result.output
        if config["kind"] == "glacier":
            assert "asking the service for its inventory" in result.stderr
            assert "requested the retrieval of 2 archive(s)" in result.stderr
        else:
            assert "retrieval" not in result.stderr

    with rookdb.open(server.data_dir) as source_instance:
        expected = database_state(source_instance.database("shop"))
    assert expected["documents"]["orders/1"]["@metadata"]["source"] == "web"
    assert "users/2" not in expected["documents"] and "users/4" not in expected["documents"]
    assert expected["attachments"][("users/1", "photo.bin")] == ("application/octet-stream", PHOTO)
    assert ("orders/1", "receipt.pdf") not in expected["attachments"]
    assert expected["identities"]["invoices"] == 2 and "invoices/2" in expected["documents"]
    assert [i[0] for i in expected["indexes"]] == ["OrdersByTotal", "UsersByAge"]
    with rookdb.open(restored_dir) as restored:
        for config in destinations:
            copy = restored.database(f"from-{config['kind']}")
            assert database_state(copy) == expected, config["kind"]
            assert copy.get("users/2") is None and copy.get("users/4") is None
