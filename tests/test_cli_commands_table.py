"""The root command table that lets `rookdb` start without importing every command module.

`rookdb --help` lists commands from `rookdb.cli.commands.ROOT_COMMANDS`; these
tests fail when a module registers a command the table lacks, or a command's
docstring no longer matches the line the table shows for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from rookdb.cli.commands import ROOT_COMMANDS, load_commands
from rookdb.cli.main import app


def _registered() -> dict[str, str]:
    """Every root command the modules register, with its one-line summary."""
    found: dict[str, str] = {}
    for module in sorted({c.module for c in ROOT_COMMANDS}):
        for name, command in load_commands(module).items():
            found[name] = (command.help or "").split("\n\n")[0].replace("\n", " ").strip()
    return found


def test_the_table_lists_every_registered_command_with_its_summary() -> None:
    assert {c.name: c.summary for c in ROOT_COMMANDS} == _registered()


def test_root_help_lists_every_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "--help"])
    assert result.exit_code == 0, result.output
    for command in ROOT_COMMANDS:
        assert command.name in result.output


@pytest.mark.parametrize("name", sorted({c.name for c in ROOT_COMMANDS}))
def test_every_command_resolves_to_its_real_help(tmp_path: Path, name: str) -> None:
    # The stand-in shown in the root help has no options; the real command runs.
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path), name, "--help"])
    assert result.exit_code == 0, result.output
    assert f"rookdb {name}" in " ".join(result.output.split())
