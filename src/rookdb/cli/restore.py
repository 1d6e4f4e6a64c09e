"""CLI command: `rookdb restore SOURCE --database NEW [--until FILE_OR_TIME]`."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from rookdb.cli import context
from rookdb.cli.backup import KeyOption, SourceOptions, embedded_instance, progress_bar
from rookdb.errors import InvalidInput


def restore(
    ctx: typer.Context,
    source: Annotated[
        str,
        typer.Argument(
            help="A run folder (or one backup file, or a folder of run folders), "
            "or a destination URL such as s3://bucket/prefix/run-folder."
        ),
    ],
    database: Annotated[
        str, typer.Option("--database", "-d", help="Name of the new database to create.")
    ],
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="Stop at this file (name) or at the last file created at or before "
            "this ISO time (e.g. 2026-11-22T06:00:00Z).",
        ),
    ] = None,
    encryption_key: KeyOption = None,
    source_options: SourceOptions = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Restore a backup chain into a NEW database: verified first, visible only when complete."""
    from rookdb.restore import restore_database
    from rookdb.restore.source import resolve_source

    # Slow steps (a Glacier retrieval, an inventory rebuild) are announced on stderr.
    quiet = context.get(ctx).quiet
    target = resolve_source(
        source, source_credentials(source, source_options), notify=None if quiet else _announce
    )
    instance = embedded_instance(ctx, "restore")
    try:
        with progress_bar(ctx, f"restoring {database}", in_bytes=True) as update:
            result = restore_database(
                instance,
                target,
                database,
                until=until,
                encryption_key=encryption_key,
                progress=update,
            )
    finally:
        instance.close()
    choice = result.chain_choice
    if choice is not None and choice.was_a_choice and not context.get(ctx).quiet:
        _announce(choice.describe())  # on stderr: stdout stays the result alone
    if as_json:
        context.print_json(result.to_json())
        return
    typer.echo(
        f"restored {result.database} from {len(result.files)} file(s) "
        f"(up to {result.files[-1]}): {result.documents} documents, "
        f"last etag {result.last_etag}, {result.duration_ms} ms"
    )


def _announce(line: str) -> None:
    sys.stderr.write(f"{line}\n")


def source_credentials(source: str, options: list[str] | None) -> dict[str, str]:
    """The --source-option values for SOURCE, once SOURCE is known to be usable.

    A destination URL must make a valid destination config (port, host, endpoint_url
    ...); a path must be one the system can look up (no NUL, not too long). Checked
    here so that the error names SOURCE instead of surfacing from a library.
    """
    from rookdb.destinations import config_from_url
    from rookdb.destinations.config import parse_config
    from rookdb.restore.source import is_destination_url

    credentials = parse_source_options(options or [])
    if is_destination_url(source):
        config, _leaf = config_from_url(source, credentials)
        parse_config(config, as_input=True)
        return credentials
    try:
        os.stat(source.removeprefix("file://"))
    except (FileNotFoundError, NotADirectoryError):
        pass  # the command says which backup folder is missing
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InvalidInput(f"cannot read {source!r}: {reason}", field="source") from None
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


def register(app: typer.Typer) -> None:
    """Add `restore` to the root app."""
    app.command("restore")(restore)
