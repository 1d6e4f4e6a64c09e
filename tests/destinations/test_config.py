"""Destination config validation, secret masking and URLs."""

from pathlib import Path

import pytest

from rookdb.destinations import config_from_url, from_config, from_url, public_config
from rookdb.destinations.config import parse_config
from rookdb.destinations.local import LocalDestination
from rookdb.destinations.s3 import S3Destination
from rookdb.errors import InvalidInput

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def s3(**changes: object) -> dict[str, object]:
    return {
        "kind": "s3",
        "bucket": "backups",
        "region": "eu-west-1",
        "access_key_id": "AKIAEXAMPLE",
        "secret_access_key": SECRET,
        **changes,
    }


def test_unknown_field_is_named() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_config(s3(bukket="x"))
    assert info.value.field == "bukket"
    assert "unknown field 'bukket'" in info.value.message
    assert "bucket" in info.value.message  # lists what is allowed


def test_missing_field_is_named() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_config({"kind": "ftp", "user": "u"})
    assert info.value.field == "host"
    assert "'host' is required" in info.value.message


@pytest.mark.parametrize("kind", [None, "dropbox"])
def test_unknown_kind(kind: object) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_config({"kind": kind, "path": "/x"})
    assert info.value.field == "kind"
    assert "local, s3, azure, gcs, glacier, ftp" in info.value.message


def test_storage_class_is_checked() -> None:
    assert parse_config(s3(storage_class="DEEP_ARCHIVE")).storage_class == "DEEP_ARCHIVE"  # type: ignore[union-attr]
    with pytest.raises(InvalidInput) as info:
        parse_config(s3(storage_class="COLD"))
    assert info.value.field == "storage_class"


def test_azure_needs_exactly_one_credential() -> None:
    with pytest.raises(InvalidInput, match="connection_string or account_name"):
        parse_config({"kind": "azure", "container": "c"})
    with pytest.raises(InvalidInput, match="only one of"):
        parse_config(
            {
                "kind": "azure",
                "container": "c",
                "account_name": "a",
                "account_key": "k",
                "sas_token": "s",
            }
        )


def test_secrets_never_show() -> None:
    model = parse_config(s3())
    assert SECRET not in repr(model)
    assert SECRET not in str(model)
    with pytest.raises(InvalidInput) as info:
        parse_config(s3(secret_access_key=["not", "a", "string", SECRET]))
    assert SECRET not in info.value.message
    destination = from_config(s3())
    assert SECRET not in repr(destination)
    masked = public_config(s3())
    assert masked["secret_access_key"] == "********"
    assert masked["access_key_id"] == "AKIAEXAMPLE"
    assert public_config({"kind": "ftp", "host": "h", "password": None})["password"] is None
    for field in ("account_key", "sas_token", "connection_string", "credentials_json", "password"):
        assert public_config({field: "hush"})[field] == "********"


def test_from_url_splits_off_the_run_folder(tmp_path: Path) -> None:
    destination, leaf = from_url(
        "s3://backups/prod/eu/2026-11-23-02-00-00.rookdb-shop-A-backup",
        {"region": "eu-west-1", "access_key_id": "k", "secret_access_key": "s"},
    )
    assert isinstance(destination, S3Destination)
    assert (destination.bucket, destination.prefix) == ("backups", "prod/eu")
    assert leaf == "2026-11-23-02-00-00.rookdb-shop-A-backup"

    local, leaf = from_url(str(tmp_path / "run-folder"))
    assert isinstance(local, LocalDestination) and local.root == tmp_path and leaf == "run-folder"
    local, leaf = from_url(f"file://{tmp_path}/run-folder")
    assert isinstance(local, LocalDestination) and local.root == tmp_path and leaf == "run-folder"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("gs://bucket/a/run", {"kind": "gcs", "bucket": "bucket", "prefix": "a"}),
        ("az://container/run", {"kind": "azure", "container": "container", "prefix": ""}),
        ("glacier://vault/p/run", {"kind": "glacier", "vault": "vault", "prefix": "p"}),
        (
            "ftps://bob:pw@ftp.example.com:2121/backups/run",
            {
                "kind": "ftp",
                "host": "ftp.example.com",
                "port": 2121,
                "user": "bob",
                "password": "pw",
                "folder": "/backups",
                "tls": True,
            },
        ),
    ],
)
def test_config_from_url(url: str, expected: dict[str, object]) -> None:
    config, leaf = config_from_url(url)
    assert config == expected
    assert leaf == "run"


def test_unknown_scheme() -> None:
    with pytest.raises(InvalidInput, match="unknown destination URL scheme 'dropbox'"):
        config_from_url("dropbox://x/y")


@pytest.mark.parametrize("bad", ["../etc/passwd", "run/../../x", ""])
def test_remote_paths_cannot_escape(tmp_path: Path, bad: str) -> None:
    destination = from_config({"kind": "local", "path": str(tmp_path / "root")})
    source = tmp_path / "f"
    source.write_bytes(b"x")
    with pytest.raises(InvalidInput):
        destination.put_file(source, bad)
