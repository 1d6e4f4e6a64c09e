"""Restore straight from a destination URL (S3 on a real moto server on loopback)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

import rookdb
from rookdb.backup import write_full_backup, write_incremental_backup
from rookdb.cli.main import app
from rookdb.restore import DestinationSource, restore_database


def test_restore_from_s3_url(
    instance: rookdb.Instance,
    tmp_path: Path,
    s3_endpoint_client: Any,
    s3_endpoint_options: dict[str, str],
) -> None:
    db = instance.create_database("shop")
    for i in range(20):
        db.put(f"users/{i}", {"n": i})
    full = write_full_backup(db, tmp_path / "local")
    db.delete("users/3")
    inc = write_incremental_backup(db, full.path.parent, full.last_etag)
    assert inc is not None
    creds = s3_endpoint_options
    client = s3_endpoint_client
    client.create_bucket(Bucket="backups")
    for written in (full, inc):
        client.upload_file(str(written.path), "backups", f"prod/{written.relative_path}")
    url = f"s3://backups/prod/{full.run_folder}"

    result = restore_database(instance, DestinationSource(url, creds), "copy")
    assert result.files == (full.file_name, inc.file_name)
    copy = instance.database("copy")
    assert copy.count() == 19 and copy.get("users/3") is None
    staging = instance.data_dir / "staging"
    assert not staging.exists() or not any(staging.iterdir())

    options = [f"--source-option={k}={v}" for k, v in creds.items()]
    cli = CliRunner().invoke(
        app,
        ["--data-dir", str(instance.data_dir), "-q", "restore", url, "-d", "copy2", *options],
    )
    assert cli.exit_code == 0, cli.output
    assert "19 documents" in cli.stdout
