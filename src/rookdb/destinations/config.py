"""Validated configuration of each destination kind (the task JSON's "destinations" entries).

Secrets are ``SecretStr``: they never show in ``repr``, error messages or
logs; ``public_config`` masks them in API responses.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

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

    # Network timeout for one request; retries are handled by rookdb, not the SDK.
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)


class LocalConfig(_Config):
    """A folder on this machine (or a mounted share)."""

    kind: Literal["local"] = "local"
    path: NonEmpty


class S3Config(_Config):
    """An Amazon S3 bucket or an S3-compatible store (``endpoint_url``)."""

    kind: Literal["s3"] = "s3"
    bucket: NonEmpty
    region: str | None = None
    prefix: str = ""
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    storage_class: S3StorageClass = "STANDARD"


class AzureConfig(_Config):
    """An Azure Blob Storage container."""

    kind: Literal["azure"] = "azure"
    container: NonEmpty
    prefix: str = ""
    account_name: str | None = None
    account_key: SecretStr | None = None
    sas_token: SecretStr | None = None
    connection_string: SecretStr | None = None
    endpoint_url: str | None = None

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
    bucket: NonEmpty
    prefix: str = ""
    # The service-account key file's JSON text; absent means anonymous (emulators).
    credentials_json: SecretStr | None = None
    project: str | None = None
    endpoint_url: str | None = None


class GlacierConfig(_Config):
    """An Amazon S3 Glacier vault (archives need a retrieval job before download)."""

    kind: Literal["glacier"] = "glacier"
    vault: NonEmpty
    region: str | None = None
    prefix: str = ""
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    endpoint_url: str | None = None
    # Where the archive-id inventory is kept; default: the task's state folder.
    inventory_path: str | None = None
    # How long get_file waits for a retrieval job (real Glacier: hours).
    retrieval_tier: Literal["Expedited", "Standard", "Bulk"] = "Standard"
    retrieval_timeout_seconds: float = Field(default=600.0, gt=0)
    retrieval_poll_seconds: float = Field(default=1.0, gt=0)


class FtpConfig(_Config):
    """A folder on an FTP or FTPS (explicit TLS) server."""

    kind: Literal["ftp"] = "ftp"
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


def parse_config(config: dict[str, Any]) -> DestinationConfig:
    """Validate one destination entry; InvalidInput names the offending field."""
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
        parsed: DestinationConfig = model.model_validate(config)  # type: ignore[assignment]
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


def secret(value: SecretStr | None) -> str | None:
    """The plain text of a secret field, for handing to an SDK only."""
    return value.get_secret_value() if value is not None else None
