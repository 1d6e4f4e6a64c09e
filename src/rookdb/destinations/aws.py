"""What S3 and Glacier share: building a boto3 client and translating botocore errors."""

from __future__ import annotations

from typing import Any

import boto3
from botocore import exceptions as boto_errors
from botocore.config import Config
from pydantic import SecretStr

from rookdb.destinations.schema import secret
from rookdb.errors import (
    DestinationAccessDenied,
    DestinationError,
    DestinationUnavailable,
    InvalidInput,
    NotFound,
    RookError,
)

_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AllAccessDisabled",
        "AccountProblem",
        "ExpiredToken",
        "Forbidden",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "InvalidToken",
        "MissingAuthenticationTokenException",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "401",
        "403",
    }
)
_MISSING_CONTAINER_CODES = frozenset({"NoSuchBucket", "ResourceNotFoundException", "VaultNotFound"})
_MISSING_FILE_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
    }
)


def client(
    service: str,
    *,
    region: str | None,
    endpoint_url: str | None,
    access_key_id: str | None,
    secret_access_key: SecretStr | None,
    session_token: SecretStr | None,
    timeout: float,
    extra: dict[str, Any] | None = None,
) -> Any:
    """A boto3 client that fails fast: rookdb's own retry policy decides about retrying."""
    session = boto3.session.Session(
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret(secret_access_key),
        aws_session_token=secret(session_token),
        region_name=region or "us-east-1",
    )
    config = Config(
        connect_timeout=min(timeout, 10.0),
        read_timeout=timeout,
        retries={"total_max_attempts": 1, "mode": "standard"},
        max_pool_connections=16,
        **(extra or {}),
    )
    try:
        return session.client(service, endpoint_url=endpoint_url or None, config=config)
    except boto_errors.InvalidRegionError as exc:
        raise InvalidInput(
            "region must be an AWS region name such as eu-west-1", field="region"
        ) from exc
    except ValueError as exc:
        # botocore refuses an endpoint it cannot parse with a bare ValueError (a config
        # stored before endpoint URLs were checked); its text may hold the URL's password.
        raise InvalidInput(
            "endpoint_url must be an http:// or https:// URL with a host", field="endpoint_url"
        ) from exc


def translate(
    exc: BaseException, *, name: str, action: str, container: str, missing_file: str | None = None
) -> RookError:
    """Map a boto3/botocore exception to the RookError a user should see."""
    cause = _find_cause(exc)
    if isinstance(cause, boto_errors.ClientError):
        error = cause.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(cause.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        detail = str(error.get("Message") or code)
        if code in _MISSING_CONTAINER_CODES:
            return DestinationAccessDenied(
                f"{name}: {container} does not exist (or these credentials cannot see it)"
            )
        if missing_file is not None and (code in _MISSING_FILE_CODES or status == 404):
            return NotFound(f"{name}: no file {missing_file}")
        if code in _DENIED_CODES or status in (401, 403):
            return DestinationAccessDenied(
                f"{name}: access denied while trying to {action} ({code}): check the access "
                f"key, the secret and that they may write to {container}"
            )
        if code in _TRANSIENT_CODES or status >= 500 or status == 429:
            return DestinationUnavailable(f"{name}: could not {action}: {code or status} {detail}")
        return DestinationError(f"{name}: could not {action}: {code or status}: {detail}")
    if isinstance(cause, boto_errors.NoCredentialsError | boto_errors.PartialCredentialsError):
        return DestinationAccessDenied(
            f"{name}: no usable credentials: set access_key_id and secret_access_key"
        )
    if isinstance(cause, boto_errors.ReadTimeoutError | boto_errors.ConnectTimeoutError):
        # A slow or overloaded server, not a dead one: say so, the next attempt may succeed.
        return DestinationUnavailable(
            f"{name}: could not {action}: timed out waiting for the server (it is slow or "
            "overloaded; a later attempt may succeed)"
        )
    if isinstance(
        cause,
        boto_errors.ConnectionError
        | boto_errors.HTTPClientError
        | boto_errors.IncompleteReadError
        | ConnectionError
        | TimeoutError,
    ):
        return DestinationUnavailable(f"{name}: could not {action}: server unreachable ({cause})")
    if isinstance(cause, boto_errors.BotoCoreError):
        return DestinationError(f"{name}: could not {action}: {cause}")
    return DestinationError(f"{name}: could not {action}: {type(cause).__name__}")


def _find_cause(exc: BaseException) -> BaseException:
    # boto3's upload_file re-raises a ClientError as S3UploadFailedError with
    # only text; the original is its __context__.
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, boto_errors.ClientError | boto_errors.BotoCoreError):
            return current
        current = current.__cause__ or current.__context__
    return exc
