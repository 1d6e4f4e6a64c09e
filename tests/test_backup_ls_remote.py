"""`rookdb backup ls` and `backup verify` on a destination URL (S3 on a real moto server)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import rookdb
from rookdb.backup import BackupFile, write_full_backup, write_incremental_backup
from rookdb.cli.main import app
from rookdb.errors import BackupError, InvalidInput

SECRET = "ls-remote-secret-5d1c"


@pytest.fixture
def s3(s3_endpoint: str, s3_endpoint_client: Any) -> tuple[Any, list[str], str]:
    """A client, the --source-option flags, and an empty bucket on the moto server."""
    bucket = f"backups-{uuid.uuid4().hex[:12]}"
    s3_endpoint_client.create_bucket(Bucket=bucket)
    options = [
        f"--source-option={k}={v}"
        for k, v in {
            "endpoint_url": s3_endpoint,
            "access_key_id": "ls-key",
            "secret_access_key": SECRET,
            "region": "us-east-1",
        }.items()
    ]
    return s3_endpoint_client, options, bucket


def upload(client: Any, bucket: str, files: list[BackupFile]) -> None:
    for written in files:
        client.upload_file(str(written.path), bucket, f"prod/{written.relative_path}")


def two_chains(instance: rookdb.Instance, out: Path) -> tuple[list[BackupFile], list[BackupFile]]:
    db = instance.create_database("shop")
    db.put("users/1", {"n": 1})
    first = write_full_backup(db, out)
    db.put("users/2", {"n": 2})
    inc = write_incremental_backup(db, first.path.parent, first.last_etag)
    assert inc is not None
    db.delete("users/1")
    second = write_full_backup(db, out, backup_type="snapshot")
    return [first, inc], [second]


def run(instance: rookdb.Instance, *args: str) -> Any:
    return CliRunner().invoke(app, ["--data-dir", str(instance.data_dir), "-q", *args])


def test_ls_lists_every_run_folder_from_the_listing(
    instance: rookdb.Instance, tmp_path: Path, s3: Any
) -> None:
    client, options, bucket = s3
    chain_a, chain_b = two_chains(instance, tmp_path / "local")
    upload(client, bucket, chain_a + chain_b)

    listed = run(instance, "backup", "ls", f"s3://{bucket}/prod", "--json", *options)
    assert listed.exit_code == 0, listed.output
    folders = json.loads(listed.stdout)
    assert [f["name"] for f in folders] == [chain_a[0].run_folder, chain_b[0].run_folder]
    assert [f["kind"] for f in folders[0]["files"]] == ["full", "incremental"]
    assert [f["kind"] for f in folders[1]["files"]] == ["snapshot"]
    assert folders[0]["files"][0]["size"] == chain_a[0].path.stat().st_size
    assert folders[1]["url"] == f"s3://{bucket}/prod/{chain_b[0].run_folder}"

    one = run(instance, "backup", "ls", folders[0]["url"], *options)
    assert one.exit_code == 0, one.output
    assert chain_a[0].file_name in one.stdout and chain_a[1].file_name in one.stdout
    assert chain_b[0].file_name not in one.stdout
    assert SECRET not in listed.output + one.output


def test_verify_downloads_and_names_a_damaged_file(
    instance: rookdb.Instance, tmp_path: Path, s3: Any
) -> None:
    client, options, bucket = s3
    chain_a, chain_b = two_chains(instance, tmp_path / "local")
    upload(client, bucket, chain_a + chain_b)

    good = run(instance, "backup", "verify", f"s3://{bucket}/prod", *options)
    assert good.exit_code == 0, good.output

    damaged = bytearray(chain_a[1].path.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    key = f"prod/{chain_a[1].relative_path}"
    client.put_object(Bucket=bucket, Key=key, Body=bytes(damaged))
    bad = run(instance, "backup", "verify", f"s3://{bucket}/prod", *options)
    assert bad.exit_code == 1
    assert f"FAULT {chain_a[0].run_folder}: {chain_a[1].file_name}" in bad.stderr
    assert SECRET not in good.output + bad.output


def test_source_options_are_refused_on_a_local_folder(
    instance: rookdb.Instance, tmp_path: Path
) -> None:
    result = run(instance, "backup", "ls", str(tmp_path), "--source-option=region=x")
    assert isinstance(result.exception, InvalidInput)
    assert "--source-option only applies to a destination URL" in str(result.exception)


def test_an_empty_prefix_says_so(instance: rookdb.Instance, s3: Any) -> None:
    _client, options, bucket = s3
    listed = run(instance, "backup", "ls", f"s3://{bucket}/nothing-here", *options)
    assert (
        listed.exit_code == 0 and f"no run folders at s3://{bucket}/nothing-here" in listed.stdout
    )
    verified = run(instance, "backup", "verify", f"s3://{bucket}/nothing-here", *options)
    assert isinstance(verified.exception, BackupError)
    assert f"no run folders at s3://{bucket}/nothing-here" in str(verified.exception)
