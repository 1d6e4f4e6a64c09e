"""A backup task's destination as an explorer source: a path, or a URL and its settings.

`open_backup` takes SOURCE as `rookdb restore` does (a path, or a destination
URL plus the remaining config fields as credentials). A task's destination
is a stored config with its secrets, so it becomes a URL that names only the
kind and the bucket (or container, vault, host), rooted at the destination's
own root, plus every other field as credentials: the URL's fields are
overridden by the config's, so the explorer reads exactly where the task
writes. The secrets stay in the credentials, on the server.
"""

from __future__ import annotations

from typing import Any

from rookdb.errors import InvalidInput

# Kind -> (URL scheme, the config field the URL's host part names).
_URL_PARTS = {
    "s3": ("s3", "bucket"),
    "azure": ("az", "container"),
    "gcs": ("gs", "bucket"),
    "glacier": ("glacier", "vault"),
    "ftp": ("ftp", "host"),
}


def destination_source(config: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """(SOURCE, credentials) that open the backups a task writes to destination `config`."""
    kind = config.get("kind")
    if kind == "local":
        return str(config["path"]), None
    parts = _URL_PARTS.get(str(kind))
    if parts is None:
        raise InvalidInput(f"destinations of kind {kind!r} cannot be browsed", field="destination")
    scheme, host_field = parts
    host = str(config.get(host_field) or "")
    if not host or "/" in host or "?" in host or "#" in host or "@" in host:
        raise InvalidInput(
            f"this {kind} destination has no usable {host_field}", field="destination"
        )
    credentials = {k: v for k, v in config.items() if k != "kind" and v is not None}
    return f"{scheme}://{host}", credentials
