"""Validated configuration of each destination kind (the task JSON's "destinations" entries).

Secrets are ``SecretStr``: they never show in ``repr``, error messages or
logs; ``public_config`` masks them in API responses.

Newly entered configs (``parse_config(..., as_input=True)``) pass stricter
rules than stored ones: no NUL character in any field, endpoint URLs that are
http(s) with a host, absolute local paths. Configs stored by an older version
may break them; they are still read, so their tasks can be listed, fixed and
deleted, and they fail at run time with the destination's own error.
"""

from __future__ import annotations

from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from rookdb.errors import InvalidInput

SECRET_FIELDS = frozenset(
    {
        "secret_access_key",
        "session_token",
        "account_key",
        "sas_token",
        "connection_string",
        "credentials_json",
        "password",
    }
)

NonEmpty = Annotated[str, Field(min_length=1)]

_AS_INPUT = "as_input"  # the validation context key that turns the input-only rules on


def _as_input(info: ValidationInfo) -> bool:
    return bool(info.context and info.context.get(_AS_INPUT))


def _check_endpoint(value: str | None, info: ValidationInfo) -> str | None:
    # An SDK given "not a url" raises a bare ValueError deep inside; say so here, by field.
    if value is None or not _as_input(info):
        return value
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0-65535
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in value)
    ):
        raise PydanticCustomError(
            "endpoint_url",
            "must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:9000",
        )
    return value


EndpointUrl = Annotated[str | None, AfterValidator(_check_endpoint)]

S3StorageClass = Literal[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "GLACIER_IR",
    "DEEP_ARCHIVE",
]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    # The fields that decide where this kind's secrets are sent (besides the kind itself):
    # a stored secret is kept on an edit only while all of them stay the same.
    secret_scope: ClassVar[tuple[str, ...]] = ()

    # Network timeout for one request; retries are handled by rookdb, not the SDK.
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any, info: ValidationInfo) -> Any:
        # A NUL passes JSON but no file system, socket or SDK takes it: refuse it up front.
        if _as_input(info) and isinstance(value, str) and "\x00" in value:
            raise PydanticCustomError("nul", "must not contain a NUL character")
        return value


class LocalConfig(_Config):
    """A folder on this machine (or a mounted share)."""

    kind: Literal["local"] = "local"
    path: NonEmpty

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str, info: ValidationInfo) -> str:
        # A relative path would be read from the server's working directory, which
        # nobody chose; the CLI turns its own relative arguments into absolute ones.
        if _as_input(info) and not (
            PurePosixPath(value).is_absolute() or PureWindowsPath(value).is_absolute()
        ):
            raise PydanticCustomError(
                "absolute_path", "must be an absolute path, e.g. /var/backups/rookdb"
            )
        return value


class S3Config(_Config):
    """An Amazon S3 bucket or an S3-compatible store (``endpoint_url``)."""

    kind: Literal["s3"] = "s3"
    secret_scope = ("endpoint_url", "region", "bucket", "access_key_id")
    bucket: NonEmpty
    region: str | None = None
    prefix: str = ""
    endpoint_url: EndpointUrl = None
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    storage_class: S3StorageClass = "STANDARD"


class AzureConfig(_Config):
    """An Azure Blob Storage container."""

    kind: Literal["azure"] = "azure"
    secret_scope = ("endpoint_url", "account_name", "container")
    container: NonEmpty
    prefix: str = ""
    account_name: str | None = None
    account_key: SecretStr | None = None
    sas_token: SecretStr | None = None
    connection_string: SecretStr | None = None
    endpoint_url: EndpointUrl = None

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


class GcsConfig(_Config):
    """A Google Cloud Storage bucket."""

    kind: Literal["gcs"] = "gcs"
    secret_scope = ("endpoint_url", "project", "bucket")
    bucket: NonEmpty
    prefix: str = ""
    # The service-account key file's JSON text; absent means anonymous (emulators).
    credentials_json: SecretStr | None = None
    project: str | None = None
    endpoint_url: EndpointUrl = None


class GlacierConfig(_Config):
    """An Amazon S3 Glacier vault (archives need a retrieval job before download)."""

    kind: Literal["glacier"] = "glacier"
    secret_scope = ("endpoint_url", "region", "vault", "access_key_id")
    vault: NonEmpty
    region: str | None = None
    prefix: str = ""
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    endpoint_url: EndpointUrl = None
    # Where the archive-id inventory is kept; default: the task's state folder.
    inventory_path: str | None = None
    # How long get_file waits for a retrieval job (real Glacier: hours).
    retrieval_tier: Literal["Expedited", "Standard", "Bulk"] = "Standard"
    retrieval_timeout_seconds: float = Field(default=600.0, gt=0)
    retrieval_poll_seconds: float = Field(default=1.0, gt=0)


class FtpConfig(_Config):
    """A folder on an FTP or FTPS (explicit TLS) server."""

    kind: Literal["ftp"] = "ftp"
    # TLS settings too: a password kept across a switch to plain FTP would cross in clear.
    secret_scope = ("host", "port", "user", "tls", "tls_verify", "tls_ca_file")
    host: NonEmpty
    port: int = Field(default=21, ge=1, le=65535)
    user: str = "anonymous"
    password: SecretStr | None = None
    folder: str = "/"
    tls: bool = False
    # Verify the server certificate (against the system CAs or tls_ca_file).
    tls_verify: bool = True
    tls_ca_file: str | None = None


DestinationConfig = LocalConfig | S3Config | AzureConfig | GcsConfig | GlacierConfig | FtpConfig

CONFIG_MODELS: dict[str, type[_Config]] = {
    "local": LocalConfig,
    "s3": S3Config,
    "azure": AzureConfig,
    "gcs": GcsConfig,
    "glacier": GlacierConfig,
    "ftp": FtpConfig,
}


def parse_config(config: dict[str, Any], *, as_input: bool = False) -> DestinationConfig:
    """Validate one destination entry; InvalidInput names the offending field.

    ``as_input``: the config was just entered (a task, a test connection, a URL
    on the command line), so the input-only rules of this module's docstring apply.
    """
    if not isinstance(config, dict):
        raise InvalidInput("a destination must be a JSON object", field="destinations")
    kind = config.get("kind")
    if kind not in CONFIG_MODELS:
        allowed = ", ".join(CONFIG_MODELS)
        raise InvalidInput(
            f"destination kind must be one of {allowed} (got {kind!r})", field="kind"
        )
    model = CONFIG_MODELS[kind]
    try:
        parsed: DestinationConfig = model.model_validate(  # type: ignore[assignment]
            config, context={_AS_INPUT: as_input}
        )
    except ValidationError as exc:
        raise _invalid(kind, model, exc) from None
    return parsed


def _invalid(kind: str, model: type[_Config], exc: ValidationError) -> InvalidInput:
    # Build the message from the error's location and type only: pydantic's
    # own text may echo the input, and the input may be a secret.
    error = exc.errors()[0]
    field = ".".join(str(p) for p in error["loc"]) or None
    kind_text = f"{kind} destination"
    if error["type"] == "missing":
        return InvalidInput(f"{kind_text}: field '{field}' is required", field=field)
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(sorted(model.model_fields))
        return InvalidInput(
            f"{kind_text}: unknown field '{field}' (allowed: {allowed})", field=field
        )
    message = str(error["msg"])
    if field is None:
        return InvalidInput(f"{kind_text}: {message.removeprefix('Value error, ')}")
    return InvalidInput(f"{kind_text}: field '{field}': {message}", field=field)


def secret_scope_change(stored: DestinationConfig, given: DestinationConfig) -> str | None:
    """The first field deciding where secrets go that differs ("kind" too), or None."""
    if stored.kind != given.kind:
        return "kind"
    for name in type(stored).secret_scope:
        if getattr(stored, name) != getattr(given, name):
            return name
    return None


def secret(value: SecretStr | None) -> str | None:
    """The plain text of a secret field, for handing to an SDK only."""
    return value.get_secret_value() if value is not None else None
