"""Every core CLI command is documented: in the README and with an example in its --help."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import typer.main

from rookdb.cli.main import app

README = Path(__file__).resolve().parents[1] / "README.md"
CORE = ("db", "index", "attachment", "put", "get", "delete", "docs", "query")


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    # Typer ships its own copy of click: walk groups by their `commands`, not by class.
    found: list[tuple[str, ...]] = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        if hasattr(command, "commands"):
            found.extend(_commands(command, path))
        else:
            found.append(path)
    return found


ROOT: Any = typer.main.get_command(app)
ROOT.load_all()  # the root builds a command when it runs; the walk needs them all
COMMANDS = [path for path in _commands(ROOT) if path[0] in CORE]


def test_every_core_command_is_found() -> None:
    # Guards the walk itself: a renamed group would otherwise make the checks below vacuous.
    assert len(COMMANDS) >= 15
    assert ("attachment", "get") in COMMANDS and ("db", "create") in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_command_is_in_the_readme(path: tuple[str, ...]) -> None:
    text = README.read_text()
    start = text.index("## Command line")
    end = text.find("\n## ", start)
    section = text[start : end if end != -1 else len(text)]
    assert f"rookdb {' '.join(path)} " in section


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_command_help_has_a_summary_and_an_example(path: tuple[str, ...]) -> None:
    command = ROOT
    for name in path:
        command = command.commands[name]
    assert command.help and "Example: rookdb " + path[0] in command.help
