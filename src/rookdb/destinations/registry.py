"""The registry of destination backends: a kind or URL scheme names a module, imported on use.

fsspec's way: this table maps each kind and each URL scheme to the module that
implements it, and ``backend`` imports that module only when the kind is
used. A backend module (``local.py``, ``s3.py`` ...) exports one ``BACKEND``:
its kind, its URL schemes, its config model, its URL parser and its factory.
Backend modules import their SDK (boto3, azure, google) only when a
destination is built, so validating a config, parsing a URL or drawing the
Studio form costs no SDK import, and ``rookdb --help`` or a local backup
imports none.

Adding a backend: one module exporting ``BACKEND``, one line in ``_MODULES``
(and its schemes in ``_SCHEMES``), and a contract-test subclass in
``tests/destinations/``.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import SplitResult, unquote, urlsplit

from rookdb.destinations.base import Destination
from rookdb.destinations.schema import ConfigModel, validate
from rookdb.errors import InvalidInput
from rookdb.url_masking import masked_url

C = TypeVar("C", bound=ConfigModel)

UrlParser = Callable[[str, SplitResult], tuple[dict[str, Any], str]]
"""(URL, its parts) -> (config fields the URL gives, leaf name); the registry adds the rest."""


@dataclass(frozen=True)
class Backend(Generic[C]):
    """What a backend module exports: its kind, URL schemes, config model, parser, factory."""

    kind: str
    schemes: tuple[str, ...]
    config: type[C]
    parse_url: UrlParser
    # Builds the destination; `state_dir` is where it may keep local state (Glacier's inventory).
    create: Callable[[C, Path | None], Destination]


# Kind -> module, in the order the Studio offers them.
_MODULES: dict[str, str] = {
    "local": "rookdb.destinations.local",
    "s3": "rookdb.destinations.s3",
    "azure": "rookdb.destinations.azure",
    "gcs": "rookdb.destinations.gcs",
    "glacier": "rookdb.destinations.glacier",
    "ftp": "rookdb.destinations.ftp",
}

# URL scheme -> kind; each backend's own `schemes` must say the same (a test checks).
_SCHEMES: dict[str, str] = {
    "file": "local",
    "s3": "s3",
    "az": "azure",
    "azure": "azure",
    "abfs": "azure",
    "gs": "gcs",
    "gcs": "gcs",
    "glacier": "glacier",
    "ftp": "ftp",
    "ftps": "ftp",
}


def kinds() -> tuple[str, ...]:
    """Every destination kind, in the order the Studio offers them."""
    return tuple(_MODULES)


def schemes() -> dict[str, str]:
    """Every URL scheme a destination URL may use, mapped to its kind."""
    return dict(_SCHEMES)


def backend(kind: object) -> Backend[Any]:
    """The backend of ``kind``, its module imported now (InvalidInput for an unknown kind)."""
    if not isinstance(kind, str) or kind not in _MODULES:
        allowed = ", ".join(_MODULES)
        raise InvalidInput(
            f"destination kind must be one of {allowed} (got {kind!r})", field="kind"
        )
    found: Backend[Any] = importlib.import_module(_MODULES[kind]).BACKEND
    return found


def parse_config(config: dict[str, Any], *, as_input: bool = False) -> ConfigModel:
    """Validate one destination entry; InvalidInput names the offending field.

    ``as_input``: the config was just entered (a task, a test connection, a URL
    on the command line), so the input-only rules of ``schema`` apply.
    """
    if not isinstance(config, dict):
        raise InvalidInput("a destination must be a JSON object", field="destinations")
    return validate(backend(config.get("kind")).config, config, as_input=as_input)


def from_config(
    config: dict[str, Any], *, state_dir: Path | None = None, as_input: bool = False
) -> Destination:
    """Build a destination from one entry of a task's "destinations" list.

    ``state_dir`` is where a backend may keep local state (the Glacier
    inventory); the task runner passes the task's data folder. ``as_input``:
    the config was just entered, so ``parse_config``'s input-only rules apply.
    """
    model = parse_config(config, as_input=as_input)
    return backend(model.kind).create(model, state_dir)


def from_url(
    url: str, credentials: dict[str, Any] | None = None, *, state_dir: Path | None = None
) -> tuple[Destination, str]:
    """Split a URL into (destination rooted at the URL's parent, last path segment).

    ``s3://bucket/prefix/run-folder`` gives an S3 destination rooted at
    ``prefix`` and ``"run-folder"``; ``file:///x/y`` or a plain path gives a
    local destination rooted at ``/x`` and ``"y"``. ``credentials`` holds
    the remaining config fields (keys, endpoint_url, region ...).
    """
    config, leaf = config_from_url(url, credentials)
    return from_config(config, state_dir=state_dir, as_input=True), leaf


def config_from_url(
    url: str, credentials: dict[str, Any] | None = None
) -> tuple[dict[str, Any], str]:
    """The destination config and leaf name that ``from_url`` builds from a URL."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed "[" of an IPv6 host
        raise InvalidInput(f"{masked_url(url)} is not a valid URL: {exc}", field="url") from None
    scheme = parts.scheme.lower()
    # A Windows drive letter parses as a one-letter scheme: a plain path is a local folder.
    kind = "local" if len(scheme) <= 1 else _SCHEMES.get(scheme)
    if kind is None:
        allowed = ", ".join(sorted(f"{s}://" for s in _SCHEMES))
        raise InvalidInput(f"unknown destination URL scheme {scheme!r}; use {allowed}", field="url")
    given, leaf = backend(kind).parse_url(url, parts)
    return {"kind": kind, **given, **(credentials or {})}, leaf


def split_leaf(parts: SplitResult) -> tuple[str, str]:
    """A URL path as (prefix, leaf): ``/a/b/run`` -> ``("a/b", "run")``, percent-decoded."""
    segments = [unquote(s) for s in parts.path.split("/") if s]
    leaf = segments.pop() if segments else ""
    return "/".join(segments), leaf


@functools.cache
def secret_fields() -> frozenset[str]:
    """The names of every kind's secret fields (imports every backend module, no SDK)."""
    return frozenset(name for kind in _MODULES for name in backend(kind).config.secret_fields())


def public_config(config: dict[str, Any]) -> dict[str, Any]:
    """The config with every secret masked, safe for API responses and logs."""
    hidden = secret_fields()
    return {
        key: ("********" if value else None) if key in hidden else value
        for key, value in config.items()
    }
