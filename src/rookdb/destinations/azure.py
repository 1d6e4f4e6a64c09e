"""Azure Blob Storage destination, through azure-storage-blob.

Files go up as block blobs: blocks are staged in parallel and the blob
appears only when the block list is committed at the end. URLs:
``az://container/prefix/run-folder`` (also ``azure://``, ``abfs://``); the
account comes with the credentials.

The Azure SDK is imported when a destination is built (and by the methods that
name its exceptions), never with this module: the registry and the Studio
read ``AzureConfig`` without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from urllib.parse import SplitResult

from pydantic import Field, SecretStr, model_validator

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
    NotFound,
    RookError,
)

MB = 1024 * 1024
_MISSING_CONTAINER = frozenset({"ContainerNotFound", "ContainerBeingDeleted"})


class AzureConfig(ConfigModel):
    """An Azure Blob Storage container."""

    title = "Microsoft Azure"
    label = "Azure"
    label_field = "container"
    secret_scope = ("endpoint_url", "account_name", "container")

    kind: Literal["azure"] = "azure"
    container: NonEmpty = Field(title="Container")
    prefix: str = Field("", title="Prefix")
    account_name: str | None = Field(None, title="Account name")
    account_key: SecretStr | None = Field(None, title="Account key")
    sas_token: SecretStr | None = Field(
        None, title="SAS token", description="Instead of the account key."
    )
    connection_string: SecretStr | None = Field(
        None, title="Connection string", description="Instead of account name and key."
    )
    endpoint_url: EndpointUrl = Field(None, title="Endpoint URL")

    @model_validator(mode="after")
    def _one_credential(self) -> AzureConfig:
        if self.connection_string is None and not self.account_name:
            raise ValueError("give either connection_string or account_name")
        given = [n for n in ("account_key", "sas_token", "connection_string") if getattr(self, n)]
        if len(given) > 1:
            names = ", ".join(given)
            raise ValueError(
                f"give only one of account_key, sas_token, connection_string ({names})"
            )
        return self


def parse_url(url: str, parts: SplitResult) -> tuple[dict[str, Any], str]:
    """``az://container/prefix/run``: container, prefix, leaf ``run``."""
    prefix, leaf = split_leaf(parts)
    return {"container": parts.netloc, "prefix": prefix}, leaf


class AzureDestination(Destination):
    """Files are block blobs under ``prefix`` in ``container``."""

    kind = "azure"
    parallel_reads = 8  # the SDK's clients are thread-safe

    def __init__(
        self, config: AzureConfig, *, block_size: int = 8 * MB, concurrency: int = 4
    ) -> None:
        from azure.storage.blob import BlobServiceClient

        self.config = config
        self.container = config.container
        self.prefix = clean_remote_path(config.prefix, allow_empty=True)
        self.concurrency = concurrency
        options: dict[str, Any] = {
            # rookdb's retry policy decides; the SDK's own would hide a dead server for minutes.
            "retry_total": 0,
            "connection_timeout": min(config.timeout_seconds, 10.0),
            "read_timeout": config.timeout_seconds,
            "max_block_size": block_size,
            "max_single_put_size": block_size,
            "max_chunk_get_size": block_size,
        }
        connection_string = secret(config.connection_string)
        if connection_string:
            try:
                service = BlobServiceClient.from_connection_string(connection_string, **options)
            except ValueError as exc:
                # The SDK's message may quote the string; keep the secret out of it.
                raise DestinationAccessDenied(
                    f"Azure ({self.container}): the connection string is not valid"
                ) from exc
        else:
            account_url = (
                config.endpoint_url or f"https://{config.account_name}.blob.core.windows.net"
            )
            credential: Any = None
            if config.account_key is not None:
                credential = {
                    "account_name": config.account_name,
                    "account_key": secret(config.account_key),
                }
            elif config.sas_token is not None:
                credential = secret(config.sas_token)
            service = BlobServiceClient(account_url, credential=credential, **options)
        self._service = service
        self._container = service.get_container_client(self.container)

    @property
    def name(self) -> str:
        """Display name."""
        where = f"{self.container}/{self.prefix}" if self.prefix else self.container
        return f"Azure ({where})"

    def put_file(
        self, local_path: Path, remote_path: str, progress: Progress | None = None
    ) -> None:
        """Stage blocks in parallel, then commit the block list (the blob appears at commit)."""
        size = file_size(local_path)
        blob = self._container.get_blob_client(self._key(remote_path))
        hook = _delta_hook(progress) if progress is not None else None
        try:
            with open(local_path, "rb") as stream:
                blob.upload_blob(
                    stream,
                    length=size,
                    overwrite=True,
                    max_concurrency=self.concurrency,
                    progress_hook=hook,
                )
        except Exception as exc:
            raise self._error(exc, f"upload {remote_path}") from exc

    def list(self, prefix: str = "") -> list[RemoteFile]:
        """Committed blobs whose relative path starts with prefix."""
        root = f"{self.prefix}/" if self.prefix else ""
        try:
            found = [
                RemoteFile(item.name[len(root) :], int(item.size), item.last_modified)
                for item in self._container.list_blobs(name_starts_with=root + prefix.lstrip("/"))
            ]
        except Exception as exc:
            raise self._error(exc, "list files") from exc
        return sorted(found, key=lambda f: f.path)

    def get_file(self, remote_path: str, local_path: Path) -> None:
        """Download in parallel ranges into local_path."""
        blob = self._container.get_blob_client(self._key(remote_path))
        local_path = Path(local_path)
        local_path.parent.mkdir(parents=True, exist_ok=True)
        partial = local_path.with_name(local_path.name + ".part")
        try:
            downloader = blob.download_blob(max_concurrency=self.concurrency)
            with open(partial, "wb") as out:
                downloader.readinto(out)
            partial.replace(local_path)
        except Exception as exc:
            raise self._error(exc, f"download {remote_path}", missing=remote_path) from exc
        finally:
            partial.unlink(missing_ok=True)

    def read_range(self, remote_path: str, offset: int, length: int) -> bytes:
        """One ranged GET of the blob."""
        if length <= 0:
            return b""
        blob = self._container.get_blob_client(self._key(remote_path))
        try:
            return bytes(blob.download_blob(offset=offset, length=length).readall())
        except Exception as exc:
            raise self._error(exc, f"read {remote_path}", missing=remote_path) from exc

    def delete(self, remote_path: str) -> None:
        """Delete the blob; a missing blob is fine, a missing container is not."""
        from azure.core import exceptions as az_errors

        try:
            self._container.delete_blob(self._key(remote_path))
        except az_errors.ResourceNotFoundError as exc:
            if getattr(exc, "error_code", None) in _MISSING_CONTAINER:
                raise self._error(exc, f"delete {remote_path}") from exc
        except Exception as exc:
            raise self._error(exc, f"delete {remote_path}") from exc

    def close(self) -> None:
        """Close the HTTP pipeline."""
        self._service.close()

    def _key(self, remote_path: str) -> str:
        return join_key(self.prefix, clean_remote_path(remote_path))

    def _error(self, exc: BaseException, action: str, missing: str | None = None) -> RookError:
        from azure.core import exceptions as az_errors

        if isinstance(exc, RookError):
            return exc
        if isinstance(exc, az_errors.HttpResponseError):
            code = str(getattr(exc, "error_code", None) or "")
            status = int(exc.status_code or 0)
            if code in _MISSING_CONTAINER:
                return DestinationAccessDenied(
                    f"{self.name}: container '{self.container}' does not exist "
                    "(or these credentials cannot see it)"
                )
            if missing is not None and (code == "BlobNotFound" or status == 404):
                return NotFound(f"{self.name}: no file {missing}")
            if isinstance(exc, az_errors.ClientAuthenticationError) or status in (401, 403):
                return DestinationAccessDenied(
                    f"{self.name}: access denied while trying to {action} ({code or status}): "
                    "check the account name, the key or SAS token and its permissions"
                )
            if status >= 500 or status in (408, 429):
                return DestinationUnavailable(f"{self.name}: could not {action}: {code or status}")
            return DestinationError(f"{self.name}: could not {action}: {code or status}")
        if isinstance(exc, az_errors.ServiceRequestError | az_errors.ServiceResponseError):
            return DestinationUnavailable(f"{self.name}: could not {action}: server unreachable")
        if isinstance(exc, ConnectionError | TimeoutError):
            return DestinationUnavailable(f"{self.name}: could not {action}: {exc}")
        if isinstance(exc, OSError):
            return DestinationError(f"{self.name}: could not {action}: {exc.strerror or exc}")
        return DestinationError(f"{self.name}: could not {action}: {type(exc).__name__}")


def _delta_hook(progress: Progress) -> Any:
    # The SDK reports running totals; rookdb's Progress takes increments.
    sent = 0

    def hook(current: int, total: int | None) -> None:
        nonlocal sent
        if current > sent:
            progress(current - sent)
            sent = current

    return hook


def create(config: AzureConfig, state_dir: Path | None = None) -> AzureDestination:
    """Build from a validated config (registry entry point)."""
    return AzureDestination(config)


BACKEND = Backend("azure", ("az", "azure", "abfs"), AzureConfig, parse_url, create)
