"""`rookdb` entry point: global options, command registration, error reporting."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

# Plain help, as click draws it: typer's boxed help imports rich's markdown
# renderer, which alone took `rookdb --help` from ~0.14 s to ~0.25 s. Read by
# typer when it is imported; TYPER_USE_RICH=1 brings the boxes back.
os.environ.setdefault("TYPER_USE_RICH", "0")

import typer  # noqa: E402

# typer carries its own copy of click; these are the errors its parser raises.
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError  # noqa: E402

from rookdb.cli import context  # noqa: E402
from rookdb.cli.commands import LazyRootGroup  # noqa: E402
from rookdb.errors import RookError  # noqa: E402

app = typer.Typer(
    name="rookdb",
    help="rookdb: a document database with first-class backup tasks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Commands come from `rookdb.cli.commands`, each module imported when its command runs.
    cls=LazyRootGroup,
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


def main() -> None:
    """The `rookdb` command: run the CLI on sys.argv and exit with its code."""
    sys.exit(run())


def run(args: Sequence[str] | None = None, *, cli: typer.Typer | None = None) -> int:
    """Run the CLI; the exit code. Every failure is one `error:` line on stderr, never a traceback.

    1 for an error (a RookError's own exit code), 2 for bad usage, 130 when interrupted.
    With ROOKDB_DEBUG=1 an unexpected error also prints its traceback. `cli` is
    another Typer app to run the same way (rookdb's own by default).
    """
    nul = _argument_with_nul(sys.argv[1:] if args is None else args)
    if nul is not None:
        return _fail(
            f"argument {nul!r} contains a NUL character, which no name or path can hold", 2
        )
    try:
        command = _click_command(cli or app)
        result = command.main(args=args, standalone_mode=False, prog_name="rookdb")
    except RookError as exc:
        return _fail(exc.message, exc.exit_code)
    except NoArgsIsHelpError as exc:
        exc.show()  # the group's help: what to type next
        return exc.exit_code
    except UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        return _fail(exc.format_message() + hint, exc.exit_code)
    except ClickException as exc:
        return _fail(exc.format_message(), exc.exit_code)
    except typer.Abort:
        return _fail("aborted", 1)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except Exception as exc:
        # A bug, not the user's mistake: still one line; the traceback on request.
        if os.environ.get("ROOKDB_DEBUG"):
            traceback.print_exc()
        detail = " ".join(str(exc).split())[:300]
        return _fail(
            f"unexpected {type(exc).__name__}{': ' + detail if detail else ''} "
            "(a bug in rookdb: please report it; ROOKDB_DEBUG=1 shows the traceback)",
            1,
        )
    # A command that ends with typer.Exit(n) returns n here; one that just returns, None.
    return result if isinstance(result, int) else 0


@functools.cache
def _click_command(cli: typer.Typer) -> Any:
    # Building the command from the annotations takes tens of milliseconds: once is enough.
    return typer.main.get_command(cli)


def _argument_with_nul(args: Sequence[str]) -> str | None:
    # A process's own argv cannot hold NUL, but `run` is also called with a list:
    # refused here once, instead of surfacing as a ValueError from whatever opens it.
    return next((arg for arg in args if "\x00" in arg), None)


def _fail(message: str, code: int) -> int:
    # One line: a message with line breaks (a JSON error, a path) would read as several.
    sys.stderr.write(f"error: {' '.join(message.split())}\n")
    return code
