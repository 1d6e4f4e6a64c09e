"""`rookdb` entry point: global options, command registration, error reporting."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from rookdb.cli import (
    attachments,
    backup,
    context,
    databases,
    documents,
    keys,
    restore,
    serve,
    task_setup,
    transfer,
)
from rookdb.errors import RookError

app = typer.Typer(
    name="rookdb",
    help="rookdb: a document database with first-class backup tasks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _global_options(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Work on this data dir directly (default ./rookdb-data or $ROOKDB_DATA_DIR).",
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help="Talk to a rookdb server instead (or $ROOKDB_URL)."),
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bars or chatter.")
    ] = False,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key", help="API key for --url (or $ROOKDB_API_KEY).", show_default=False
        ),
    ] = None,
    ca_file: Annotated[
        Path | None,
        typer.Option(
            "--ca-file",
            help="CA certificate (PEM) to trust for an https --url (or $ROOKDB_CA_FILE).",
        ),
    ] = None,
) -> None:
    ctx.obj = context.resolve(data_dir, url, quiet, api_key, ca_file)


for _module in (
    serve,
    databases,
    documents,
    attachments,
    transfer,
    backup,
    task_setup,
    restore,
    keys,
):
    _module.register(app)


def main() -> None:
    """Run the CLI; user-facing errors print one line on stderr and exit 1, never a traceback."""
    try:
        app()
    except RookError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
