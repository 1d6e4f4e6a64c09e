"""Every destination kind's config model as one union (the task JSON's "destinations" entries).

Each model lives in its backend's module (``S3Config`` in ``s3.py`` ...) and
is built on ``schema.ConfigModel``; this module gathers them from the registry
for the task model, whose pydantic field needs the union, and re-exports the
validation helpers callers use (and, for imports of the old layout, the
models by name). Importing it imports every backend module, none of their SDKs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias, Union

from rookdb.destinations.azure import AzureConfig
from rookdb.destinations.ftp import FtpConfig
from rookdb.destinations.gcs import GcsConfig
from rookdb.destinations.glacier import GlacierConfig
from rookdb.destinations.local import LocalConfig
from rookdb.destinations.registry import backend, kinds, parse_config, secret_fields
from rookdb.destinations.s3 import S3Config, S3StorageClass
from rookdb.destinations.schema import ConfigModel, secret, secret_scope_change

CONFIG_MODELS: dict[str, type[ConfigModel]] = {kind: backend(kind).config for kind in kinds()}

if TYPE_CHECKING:
    # Type checkers see the common base: nothing outside a backend reads kind-only fields.
    DestinationConfig: TypeAlias = ConfigModel
else:
    # Built from the registry, so a new backend joins the task model without an edit here.
    DestinationConfig = Union[tuple(CONFIG_MODELS.values())]  # noqa: UP007 - a run-time tuple

SECRET_FIELDS = secret_fields()

__all__ = [
    "CONFIG_MODELS",
    "SECRET_FIELDS",
    "AzureConfig",
    "ConfigModel",
    "DestinationConfig",
    "FtpConfig",
    "GcsConfig",
    "GlacierConfig",
    "LocalConfig",
    "S3Config",
    "S3StorageClass",
    "parse_config",
    "secret",
    "secret_scope_change",
]
