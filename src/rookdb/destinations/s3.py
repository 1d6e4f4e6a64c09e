"""Amazon S3 (and S3-compatible stores) destination, through boto3.

Large files go up as a multipart upload streamed from disk; S3 shows the
object only once the upload is completed, and a failed upload is aborted.
URLs: ``s3://bucket/prefix/run-folder``.

boto3 is imported when a destination is built, never with this module: the
registry and the Studio read ``S3Config`` without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import SplitResult

from pydantic import Field, SecretStr

from rookdb.destinations.base import (
    Destination,
    Progress,
    RemoteFile,
    clean_remote_path,
    file_size,
    join_key,
)
from rookdb.destinations.registry import Backend, split_leaf
from rookdb.destinations.schema import ConfigModel, EndpointUrl, NonEmpty
from rookdb.errors import RookError

MB = 1024 * 1024

S3StorageClass = Literal[
    "STANDARD",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "GLACIER_IR",
    "DEEP_ARCHIVE",
    "REDUCED_REDUNDANCY",
]


class S3Config(ConfigModel):
    """An Amazon S3 bucket or an S3-compatible store (``endpoint_url``)."""

    title = "Amazon S3"
    label = "S3"
    label_field = "bucket"
    secret_scope = ("endpoint_url", "region", "bucket", "access_key_id")

    kind: Literal["s3"] = "s3"
    bucket: NonEmpty = Field(title="Bucket")
    prefix: str = Field("", title="Prefix", examples=["prod/backups"])
    region: str | None = Field(None, title="Region", examples=["eu-west-1"])
    endpoint_url: EndpointUrl = Field(
        None, title="Endpoint URL", description="Only for S3-compatible stores."
    )
    access_key_id: str | None = Field(None, title="Access key id")
    secret_access_key: SecretStr | None = Field(None, title="Secret access key")
    session_token: SecretStr | None = None
    storage_class: S3StorageClass = Field("STANDARD", title="Storage class")


def parse_url(url: str, parts: SplitResult) -> tuple[dict[str, Any], str]:
    """``s3://bucket/prefix/run``: bucket, prefix, leaf ``run``."""
    prefix, leaf = split_leaf(parts)
    return {"bucket": parts.netloc, "prefix": prefix}, leaf


class S3Destination(Destination):
    """Files are objects under ``prefix`` in ``bucket``."""

    kind = "s3"
    parallel_reads = 8  # boto3 clients are thread-safe; 16 pooled connections

    def __init__(self, config: S3Config, *, part_size: int = 16 * MB, concurrency: int = 4) -> None:
        from boto3.s3.transfer import TransferConfig

        from rookdb.destinations import aws

        self.config = config
        self.bucket = config.bucket
        self.prefix = clean_remote_path(config.prefix, allow_empty=True)
        extra: dict[str, Any] = {}
        if config.endpoint_url:
            # S3-compatible servers rarely resolve virtual-host bucket names.
            extra["s3"] = {"addressing_style": "path"}
        self._client = aws.client(
            "s3",
            region=config.region,
            endpoint_url=config.endpoint_url,
            access_key_id=config.access_key_id,
            secret_access_key=config.secret_access_key,
            session_token=config.session_token,
            timeout=config.timeout_seconds,
            extra=extra,
        )
        self._transfer = TransferConfig(
            multipart_threshold=part_size,
            multipart_chunksize=part_size,
            max_concurrency=concurrency,
            use_threads=True,
        )

    @property
    def name(self) -> str:
        """Display name."""
        return f"S3 ({self.bucket}/{self.prefix})" if self.prefix else f"S3 ({self.bucket})"

    def put_file(
        self, local_path: Path, remote_path: str, progress: Progress | None = None
    ) -> None:
        """Upload (multipart above the part size); the object appears only when complete."""
        key = self._key(remote_path)
        file_size(local_path)
        extra_args: dict[str, str] = {}
        if self.config.storage_class != "STANDARD":
            extra_args["StorageClass"] = self.config.storage_class
        try:
            self._client.upload_file(
                str(local_path),
                self.bucket,
                key,
                ExtraArgs=extra_args or None,
                Callback=progress,
                Config=self._transfer,
            )
        except RookError:
            raise
        except Exception as exc:
            raise self._error(exc, f"upload {remote_path}") from exc

    def list(self, prefix: str = "") -> list[RemoteFile]:
        """Objects whose relative path starts with prefix."""
        root = f"{self.prefix}/" if self.prefix else ""
        found: list[RemoteFile] = []
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=root + prefix.lstrip("/")
            )
            for page in pages:
                for item in page.get("Contents", []):
                    key: str = item["Key"]
                    if key.endswith("/"):
                        continue  # folder marker objects made by consoles
                    found.append(RemoteFile(key[len(root) :], item["Size"], item["LastModified"]))
        except Exception as exc:
            raise self._error(exc, "list files") from exc
        return sorted(found, key=lambda f: f.path)

    def get_file(self, remote_path: str, local_path: Path) -> None:
        """Download (ranged, in parallel for big objects) into local_path."""
        key = self._key(remote_path)
        Path(local_path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._client.download_file(self.bucket, key, str(local_path), Config=self._transfer)
        except Exception as exc:
            raise self._error(exc, f"download {remote_path}", missing=remote_path) from exc

    def read_range(self, remote_path: str, offset: int, length: int) -> bytes:
        """One ranged GET."""
        if length <= 0:
            return b""
        try:
            answer = self._client.get_object(
                Bucket=self.bucket,
                Key=self._key(remote_path),
                Range=f"bytes={offset}-{offset + length - 1}",
            )
            return bytes(answer["Body"].read())
        except Exception as exc:
            raise self._error(exc, f"read {remote_path}", missing=remote_path) from exc

    def delete(self, remote_path: str) -> None:
        """Delete the object (S3 does not complain about a missing one)."""
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._key(remote_path))
        except Exception as exc:
            raise self._error(exc, f"delete {remote_path}") from exc

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    def _key(self, remote_path: str) -> str:
        return join_key(self.prefix, clean_remote_path(remote_path))

    def _error(self, exc: BaseException, action: str, missing: str | None = None) -> RookError:
        from rookdb.destinations import aws

        return aws.translate(
            exc,
            name=self.name,
            action=action,
            container=f"bucket '{self.bucket}'",
            missing_file=missing,
        )


def create(config: S3Config, state_dir: Path | None = None) -> S3Destination:
    """Build from a validated config (registry entry point)."""
    return S3Destination(config)


BACKEND = Backend("s3", ("s3",), S3Config, parse_url, create)
