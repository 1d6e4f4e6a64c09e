"""The root command table: each command's module, loaded only when that command runs.

Building every command from its annotations and importing every command
module cost most of `rookdb`'s start-up, though one run uses one command. So
the root group lists its commands from this table (name, module, the line
`rookdb --help` shows) and imports a command's module when the command is
resolved. `tests/test_cli_commands_table.py` checks the table against the
commands the modules really register, so a new command or a changed docstring
cannot drift from it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import typer

# typer carries its own copy of click.
from typer._click import Command, Context
from typer.core import TyperCommand, TyperGroup


@dataclass(frozen=True)
class RootCommand:
    name: str
    module: str  # a `rookdb.cli` module whose `register(app)` adds this command
    summary: str  # the command's line in `rookdb --help`


# In the order `rookdb --help` lists them.
ROOT_COMMANDS = (
    RootCommand("serve", "serve", "Serve a data dir over HTTP until Ctrl-C or SIGTERM."),
    RootCommand("put", "documents", "Create or replace a document; prints its id and new etag."),
    RootCommand(
        "get",
        "documents",
        "Print a document as JSON, `@metadata` included; exit 1 when it does not exist.",
    ),
    RootCommand(
        "delete",
        "documents",
        "Delete a document and its attachments (a tombstone remains for backups).",
    ),
    RootCommand("docs", "documents", "List documents, optionally of one collection, in pages."),
    RootCommand("query", "documents", "Query a collection by conditions on indexed fields."),
    RootCommand(
        "export",
        "transfer",
        "Export DB (or its changes after --since-etag) to FILE, deletes included.",
    ),
    RootCommand(
        "import",
        "transfer",
        "Import FILE into DB (created when missing); --incremental applies deletes too.",
    ),
    RootCommand(
        "restore",
        "restore",
        "Restore a backup chain into a NEW database: verified first, visible only when complete.",
    ),
    RootCommand("db", "databases", "Create, list and delete databases."),
    RootCommand("index", "databases", "Define, list and drop the indexes that serve queries."),
    RootCommand(
        "attachment",
        "attachments",
        "Store, fetch, list and delete binary attachments on documents.",
    ),
    RootCommand(
        "backup",
        "backup",
        "Run one-off backups, list and verify run folders (and manage backup tasks).",
    ),
    RootCommand(
        "keys",
        "keys",
        "API keys (roles admin, operator, reader) and the master key that seals secrets.",
    ),
    RootCommand("cluster", "cluster", "A cluster of rookdb nodes on etcd: its key and its nodes."),
    RootCommand(
        "alerts",
        "alerts",
        "Alerts: incidents (failed, overdue, not restorable backups) and where they are sent.",
    ),
)


def load_commands(module: str) -> dict[str, Command]:
    """The click commands a `rookdb.cli` module registers on the root, by name."""
    owner = typer.Typer()
    importlib.import_module(f"rookdb.cli.{module}").register(owner)
    # get_group, not get_command: a module registering one command would come back bare.
    return dict(typer.main.get_group(owner).commands)


class LazyRootGroup(TyperGroup):
    """The root group: help and suggestions from `ROOT_COMMANDS`, a command built on first use."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        # Stand-ins that carry the name and summary for `--help` and "did you mean".
        self.commands = {c.name: TyperCommand(c.name, help=c.summary) for c in ROOT_COMMANDS}
        self._modules = {c.name: c.module for c in ROOT_COMMANDS}
        self._loaded: set[str] = set()

    def load_all(self) -> None:
        """Build every command, for a caller that walks the whole tree (the docs tests)."""
        for module in self._modules.values():
            self._load(module)

    def _load(self, module: str) -> None:
        if module not in self._loaded:
            self.commands.update(load_commands(module))
            self._loaded.add(module)

    def resolve_command(
        self, ctx: Context, args: list[str]
    ) -> tuple[str | None, Command | None, list[str]]:
        # Help and suggestions list the stand-ins; only the command that runs is built.
        module = self._modules.get(args[0]) if args else None
        if module is not None:
            self._load(module)
        return super().resolve_command(ctx, args)
