"""What every destination config model is made of: the base model, field types, the rules.

Each backend module declares its own model (``S3Config`` in ``s3.py`` ...) on
``ConfigModel``; this module holds only what they share. The model is the one
description of a kind: the task JSON is validated against it, secrets are its
``SecretStr`` fields, and the Studio draws its destination form from it. A
field with a ``title`` is an input of that form (``description`` is the hint
under it, ``examples[0]`` its placeholder); a field without one is API-only.

Secrets are ``SecretStr``: they never show in ``repr``, error messages or
logs; ``public_config`` masks them in API responses.

Newly entered configs (validated with ``as_input=True``) pass stricter rules
than stored ones: no NUL character in any field, endpoint URLs that are
http(s) with a host, absolute local paths. Configs stored by an older version
may break them; they are still read, so their tasks can be listed, fixed and
deleted, and they fail at run time with the destination's own error.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin
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
)
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from rookdb.errors import InvalidInput

NonEmpty = Annotated[str, Field(min_length=1)]

_AS_INPUT = "as_input"  # the validation context key that turns the input-only rules on


def is_input(info: ValidationInfo) -> bool:
    """Whether the input-only rules apply (the config was just entered)."""
    return bool(info.context and info.context.get(_AS_INPUT))


def _check_endpoint(value: str | None, info: ValidationInfo) -> str | None:
    # An SDK given "not a url" raises a bare ValueError deep inside; say so here, by field.
    if value is None or not is_input(info):
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


class ConfigModel(BaseModel):
    """The base of every destination kind's config model."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    # The kind as the Studio names it, e.g. "Amazon S3".
    title: ClassVar[str] = ""
    # How a generated task name calls the kind, and the field that says where: "S3 (bucket)".
    label: ClassVar[str] = ""
    label_field: ClassVar[str] = ""
    # The fields that decide where this kind's secrets are sent (besides the kind itself):
    # a stored secret is kept on an edit only while all of them stay the same.
    secret_scope: ClassVar[tuple[str, ...]] = ()

    # Network timeout for one request; retries are handled by rookdb, not the SDK.
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    kind: str  # each kind narrows it to its own Literal

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any, info: ValidationInfo) -> Any:
        # A NUL passes JSON but no file system, socket or SDK takes it: refuse it up front.
        if is_input(info) and isinstance(value, str) and "\x00" in value:
            raise PydanticCustomError("nul", "must not contain a NUL character")
        return value

    @classmethod
    def secret_fields(cls) -> tuple[str, ...]:
        """The names of this kind's secret (``SecretStr``) fields."""
        return tuple(name for name, f in cls.model_fields.items() if is_secret(f))


def is_secret(field: FieldInfo) -> bool:
    """Whether a model field holds a secret (a ``SecretStr``, optional or not)."""
    return SecretStr in _types_of(field.annotation)


def choices(field: FieldInfo) -> tuple[str, ...]:
    """The allowed values of a ``Literal`` field, in declared order (empty for other fields)."""
    annotation = field.annotation
    if get_origin(annotation) is Literal:
        return tuple(str(v) for v in get_args(annotation))
    return ()


def _types_of(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, types.UnionType):
        return get_args(annotation)
    return (annotation,)


def validate(
    model: type[ConfigModel], config: dict[str, Any], *, as_input: bool = False
) -> ConfigModel:
    """Validate one destination entry against its kind's model; InvalidInput names the field."""
    try:
        return model.model_validate(config, context={_AS_INPUT: as_input})
    except ValidationError as exc:
        raise _invalid(str(config.get("kind")), model, exc) from None


def _invalid(kind: str, model: type[ConfigModel], exc: ValidationError) -> InvalidInput:
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


def secret_scope_change(stored: ConfigModel, given: ConfigModel) -> str | None:
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
