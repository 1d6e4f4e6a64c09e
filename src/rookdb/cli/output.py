"""How CLI commands talk to a person: progress bars, tables, chatter that --quiet silences.

Results go to stdout (plain, or JSON with --json); progress and chatter never
mix into a piped result.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

from rookdb.cli import context

if TYPE_CHECKING:
    from rich.console import Console


@contextmanager
def progress_bar(
    ctx: typer.Context, description: str, *, in_bytes: bool = False
) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr, fed by progress(done, total); silent with --quiet."""
    # rich is imported by the commands that draw, not by every start (`get` prints JSON).
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    quiet = context.get(ctx).quiet or not sys.stderr.isatty()
    counter = DownloadColumn() if in_bytes else MofNCompleteColumn()
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        counter,
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=quiet,
    )
    with bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total or None)

        yield update


def console() -> Console:
    """A console on the current stdout (tables adapt to the terminal, or plain when piped)."""
    from rich.console import Console

    return Console(file=sys.stdout)


def say(ctx: typer.Context, message: str) -> None:
    """Chatter for a human, silenced by `--quiet`."""
    if not context.get(ctx).quiet:
        typer.echo(message)


def as_json(value: Any) -> Any:
    """Plain JSON of a core value (embedded objects have `to_json` or are dataclasses)."""
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value  # already plain: what a remote client hands back


def human_size(size: int) -> str:
    """Bytes as a short human-readable size."""
    amount = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < 1024 or unit == "TiB":
            return f"{int(amount)} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{size} B"  # unreachable; keeps mypy sure of a return
