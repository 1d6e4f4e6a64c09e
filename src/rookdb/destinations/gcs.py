"""Google Cloud Storage destination, through google-cloud-storage.

Files go up as resumable uploads in chunks; the object exists only once the
final chunk is accepted (the upload is finalized). URLs:
``gs://bucket/prefix/run-folder`` (also ``gcs://``).

The Google SDK is imported when a destination is built (and by the methods that
name its exceptions), never with this module: the registry and the Studio
read ``GcsConfig`` without it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any, Literal
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
from rookdb.destinations.schema import ConfigModel, EndpointUrl, NonEmpty, secret
from rookdb.errors import (
    DestinationAccessDenied,
    DestinationError,
    DestinationUnavailable,
    InvalidInput,
    NotFound,
    RookError,
)

MB = 1024 * 1024


class GcsConfig(ConfigModel):
    """A Google Cloud Storage bucket."""

    title = "Google Cloud Storage"
    label = "Google Cloud"
    label_field = "bucket"
    secret_scope = ("endpoint_url", "project", "bucket")

    kind: Literal["gcs"] = "gcs"
    bucket: NonEmpty = Field(title="Bucket")
    prefix: str = Field("", title="Prefix")
    project: str | None = Field(None, title="Project")
    # The service-account key file's JSON text; absent means anonymous (emulators).
    credentials_json: SecretStr | None = Field(
        None, title="Service account key (JSON)", description="Paste the key file's contents."
    )
    endpoint_url: EndpointUrl = Field(None, title="Endpoint URL")


def parse_url(url: str, parts: SplitResult) -> tuple[dict[str, Any], str]:
    """``gs://bucket/prefix/run``: bucket, prefix, leaf ``run``."""
    prefix, leaf = split_leaf(parts)
    return {"bucket": parts.netloc, "prefix": prefix}, leaf


class GcsDestination(Destination):
    """Files are objects under ``prefix`` in ``bucket``."""

    kind = "gcs"

    def __init__(self, config: GcsConfig, *, chunk_size: int = 32 * MB) -> None:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        # Resumable upload chunks must be multiples of 256 KiB.
        self.chunk_size = max(256 * 1024, chunk_size // (256 * 1024) * (256 * 1024))
        self.config = config
        self.bucket_name = config.bucket
        self.prefix = clean_remote_path(config.prefix, allow_empty=True)
        self._timeout = (min(config.timeout_seconds, 10.0), config.timeout_seconds)
        credentials: Any
        project = config.project
        info = secret(config.credentials_json)
        if info:
            from google.oauth2 import service_account

            try:
                parsed = json.loads(info)
                credentials = service_account.Credentials.from_service_account_info(parsed)
            except (ValueError, KeyError) as exc:
                # Never echo the JSON: it holds a private key.
                raise InvalidInput(
                    "gcs destination: credentials_json is not a service-account key file",
                    field="credentials_json",
                ) from exc
            project = project or parsed.get("project_id")
        else:
            credentials = AnonymousCredentials()
        endpoint = config.endpoint_url or os.environ.get("STORAGE_EMULATOR_HOST")
        options = {"api_endpoint": endpoint} if endpoint else None
        self._client = storage.Client(
            project=project or "rookdb", credentials=credentials, client_options=options
        )
        self._bucket = self._client.bucket(self.bucket_name)

    @property
    def name(self) -> str:
        """Display name."""
        where = f"{self.bucket_name}/{self.prefix}" if self.prefix else self.bucket_name
        return f"Google Cloud Storage ({where})"

    def put_file(
        self, local_path: Path, remote_path: str, progress: Progress | None = None
    ) -> None:
        """Resumable upload in chunks; the object appears when the upload is finalized."""
        size = file_size(local_path)
        blob = self._bucket.blob(self._key(remote_path), chunk_size=self.chunk_size)
        try:
            with open(local_path, "rb") as raw:
                stream: Any = _CountingReader(raw, progress) if progress else raw
                blob.upload_from_file(stream, size=size, timeout=self._timeout, retry=None)
        except Exception as exc:
            raise self._error(exc, f"upload {remote_path}") from exc

    def list(self, prefix: str = "") -> list[RemoteFile]:
        """Objects whose relative path starts with prefix."""
        root = f"{self.prefix}/" if self.prefix else ""
        try:
            blobs = self._client.list_blobs(
                self.bucket_name,
                prefix=root + prefix.lstrip("/"),
                timeout=self._timeout,
                retry=None,
            )
            found = [RemoteFile(b.name[len(root) :], int(b.size or 0), b.updated) for b in blobs]
        except Exception as exc:
            raise self._error(exc, "list files") from exc
        return sorted(found, key=lambda f: f.path)

    def get_file(self, remote_path: str, local_path: Path) -> None:
        """Stream the object into local_path."""
        from google.api_core import exceptions as api_errors

        blob = self._bucket.blob(self._key(remote_path), chunk_size=self.chunk_size)
        local_path = Path(local_path)
        local_path.parent.mkdir(parents=True, exist_ok=True)
        partial = local_path.with_name(local_path.name + ".part")
        try:
            blob.download_to_filename(str(partial), timeout=self._timeout, retry=None)
            partial.replace(local_path)
        except api_errors.NotFound as exc:
            self._raise_if_bucket_missing(f"download {remote_path}")
            raise NotFound(f"{self.name}: no file {clean_remote_path(remote_path)}") from exc
        except Exception as exc:
            raise self._error(exc, f"download {remote_path}") from exc
        finally:
            partial.unlink(missing_ok=True)

    def read_range(self, remote_path: str, offset: int, length: int) -> bytes:
        """One ranged GET of the object (`end` is inclusive in this API)."""
        from google.api_core import exceptions as api_errors

        if length <= 0:
            return b""
        blob = self._bucket.blob(self._key(remote_path))
        try:
            return bytes(
                blob.download_as_bytes(
                    start=offset, end=offset + length - 1, timeout=self._timeout, retry=None
                )
            )
        except api_errors.NotFound as exc:
            self._raise_if_bucket_missing(f"read {remote_path}")
            raise NotFound(f"{self.name}: no file {clean_remote_path(remote_path)}") from exc
        except Exception as exc:
            raise self._error(exc, f"read {remote_path}") from exc

    def delete(self, remote_path: str) -> None:
        """Delete the object; a missing object is fine, a missing bucket is not."""
        from google.api_core import exceptions as api_errors

        try:
            self._bucket.blob(self._key(remote_path)).delete(timeout=self._timeout, retry=None)
        except api_errors.NotFound:
            self._raise_if_bucket_missing(f"delete {remote_path}")
        except Exception as exc:
            raise self._error(exc, f"delete {remote_path}") from exc

    def close(self) -> None:
        """Close the HTTP session."""
        self._client.close()

    def _key(self, remote_path: str) -> str:
        return join_key(self.prefix, clean_remote_path(remote_path))

    def _raise_if_bucket_missing(self, action: str) -> None:
        # GCS answers 404 for a missing object and a missing bucket alike.
        try:
            exists = self._bucket.exists(timeout=self._timeout, retry=None)
        except Exception as exc:
            raise self._error(exc, action) from exc
        if not exists:
            raise self._missing_bucket()

    def _missing_bucket(self) -> DestinationAccessDenied:
        return DestinationAccessDenied(
            f"{self.name}: bucket '{self.bucket_name}' does not exist "
            "(or these credentials cannot see it)"
        )

    def _error(self, exc: BaseException, action: str) -> RookError:
        from google.api_core import exceptions as api_errors
        from google.auth import exceptions as auth_errors

        if isinstance(exc, RookError):
            return exc
        if isinstance(exc, api_errors.NotFound):
            return self._missing_bucket()
        if isinstance(
            exc, api_errors.Unauthorized | api_errors.Forbidden | auth_errors.RefreshError
        ):
            return DestinationAccessDenied(
                f"{self.name}: access denied while trying to {action}: check the service "
                "account key and that it may write to the bucket"
            )
        if isinstance(exc, api_errors.GoogleAPICallError):
            status = int(exc.code or 0)
            if status >= 500 or status in (408, 429):
                return DestinationUnavailable(f"{self.name}: could not {action}: HTTP {status}")
            return DestinationError(f"{self.name}: could not {action}: HTTP {status}")
        if _is_network_error(exc):
            return DestinationUnavailable(f"{self.name}: could not {action}: server unreachable")
        return DestinationError(f"{self.name}: could not {action}: {type(exc).__name__}")


def _is_network_error(exc: BaseException) -> bool:
    import requests
    from google.auth import exceptions as auth_errors

    return isinstance(
        exc,
        requests.exceptions.ConnectionError
        | requests.exceptions.Timeout
        | auth_errors.TransportError
        | ConnectionError
        | TimeoutError,
    )


class _CountingReader:
    """A read-only file wrapper that reports each chunk the uploader reads."""

    def __init__(self, raw: IO[bytes], progress: Progress) -> None:
        self._raw = raw
        self._progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        if data:
            self._progress(len(data))
        return data

    def __getattr__(self, name: str) -> Any:
        # seek/tell/name: the uploader rewinds to resend a chunk.
        return getattr(self._raw, name)


def create(config: GcsConfig, state_dir: Path | None = None) -> GcsDestination:
    """Build from a validated config (registry entry point)."""
    return GcsDestination(config)


BACKEND = Backend("gcs", ("gs", "gcs"), GcsConfig, parse_url, create)
