"""The arguments and options several CLI commands share, each defined once.

A command module takes them from here, never from another command module.
An option only one command has stays with that command. Nothing here imports
the core at import time: the CLI starts without loading it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from rookdb.errors import InvalidInput

DatabaseArg = Annotated[str, typer.Argument(metavar="DB", help="The database name.")]
CompressionOption = Annotated[str, typer.Option("--compression", help="zstd, gzip or none.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--encryption-key",
        envvar="ROOKDB_ENCRYPTION_KEY",
        help="Key for AES-256-GCM: 32 bytes as base64, or a passphrase.",
        show_envvar=True,
    ),
]
SourceOptions = Annotated[
    list[str] | None,
    typer.Option(
        "--source-option",
        help="KEY=VALUE for a destination URL (endpoint_url, access_key_id, "
        "secret_access_key, region, account_key ...); repeatable.",
    ),
]


def source_credentials(source: str, options: list[str] | None) -> dict[str, str]:
    """The --source-option values for SOURCE, once SOURCE is known to be usable.

    A destination URL must make a valid destination config (port, host, endpoint_url
    ...); a path must be one the system can look up (no NUL, not too long). Checked
    here so that the error names SOURCE instead of surfacing from a library.
    """
    from rookdb.restore.jobs import check_restore_source

    credentials = parse_source_options(options or [])
    check_restore_source(source, credentials)
    return credentials


def parse_source_options(options: list[str]) -> dict[str, str]:
    """--source-option KEY=VALUE values as a dict."""
    parsed: dict[str, str] = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not key:
            raise InvalidInput(
                f"--source-option {option!r} is not KEY=VALUE", field="source_option"
            )
        parsed[key.strip()] = value
    return parsed
