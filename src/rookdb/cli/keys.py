"""`rookdb keys ...`: API keys (create, list, revoke) and the master key's rotation.

Keys are managed on a data dir directly (`--data-dir`, e.g. before the first
start or when every admin key was lost) or over HTTP with an admin key
(`--url` and `--api-key`). `rotate-master` works on the data dir only.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rookdb.cli import context
from rookdb.cli.options import JsonFlag
from rookdb.errors import InvalidInput

keys_app = typer.Typer(
    name="keys",
    help="API keys (roles admin, operator, reader) and the master key that seals secrets.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(keys_app, name="keys")


class _LocalKeys:
    """The same three operations as `rookdb.Client`, on a data dir's system store."""

    def __init__(self, system: Any) -> None:
        from rookdb.security.keys import ApiKeys

        self._keys = ApiKeys(system)

    def create_api_key(self, role: str, databases: list[str] | None, name: str) -> dict[str, Any]:
        key, token = self._keys.create(role, databases, name)
        return {**key.to_json(), "key": token}

    def list_api_keys(self) -> list[dict[str, Any]]:
        return [k.to_json() for k in self._keys.list()]

    def revoke_api_key(self, key_id: str) -> dict[str, Any]:
        return self._keys.revoke(key_id).to_json()


def _system_store(ctx: typer.Context) -> Any:
    # The system store alone, not a whole Instance: opening an Instance clears the
    # restore staging folder, which a server running on the same data dir may be using.
    from rookdb.system import SqliteSystemStore

    data_dir = context.get(ctx).data_dir
    try:
        found = (data_dir / "system.sqlite").is_file()
    except ValueError:  # a NUL in the path
        found = False
    if not found:
        raise InvalidInput(f"{data_dir} is not a rookdb data dir (no system.sqlite)")
    try:
        return SqliteSystemStore(data_dir / "system.sqlite")
    except sqlite3.DatabaseError as exc:
        raise context.damaged_data_dir(data_dir, exc) from exc


@contextmanager
def _open_keys(ctx: typer.Context) -> Iterator[Any]:
    cli = context.get(ctx)
    target = cli.client() if cli.url else _system_store(ctx)
    try:
        yield target if cli.url else _LocalKeys(target)
    finally:
        target.close()


@keys_app.command("create")
def create(
    ctx: typer.Context,
    role: Annotated[
        str, typer.Option("--role", help="admin, operator (Backup Now, read) or reader.")
    ],
    database: Annotated[
        list[str] | None,
        typer.Option("--database", help="Limit the key to this database (repeat for more)."),
    ] = None,
    name: Annotated[str, typer.Option("--name", help="A label to recognise the key by.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Create an API key and print it: the only time it is shown.

    Example: rookdb keys create --role operator --database shop --name "backup bot"
    """
    with _open_keys(ctx) as keys:
        created = keys.create_api_key(role, database or None, name)
    if as_json:
        context.print_json(created)
        return
    scope = ", ".join(created["databases"]) if created["databases"] else "all databases"
    sys.stderr.write(f"created key {created['id']} ({created['role']}, {scope}); shown once:\n")
    sys.stdout.write(created["key"] + "\n")


@keys_app.command("list")
def list_keys(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """List API keys: id, name, role, databases, created, revoked (never the secret).

    Example: rookdb keys list --json
    """
    with _open_keys(ctx) as keys:
        listed = keys.list_api_keys()
    if as_json:
        context.print_json(listed)
        return
    table = Table("id", "name", "role", "databases", "created", "revoked")
    for key in listed:
        databases = ", ".join(key["databases"]) if key["databases"] else "all"
        table.add_row(
            key["id"],
            key["name"],
            key["role"],
            databases,
            key["created_at"],
            key["revoked_at"] or "",
        )
    Console().print(table)


@keys_app.command("revoke")
def revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(metavar="ID", help="The key's id (see keys list).")],
) -> None:
    """Revoke an API key: requests and Studio sessions using it stop at once.

    Example: rookdb keys revoke 3f2a9c1b
    """
    with _open_keys(ctx) as keys:
        revoked = keys.revoke_api_key(key_id)
    sys.stdout.write(f"revoked key {revoked['id']}\n")


@keys_app.command("rotate-master")
def rotate_master(ctx: typer.Context) -> None:
    """Seal every stored secret again with a new master key (data dir only).

    With the key in <data dir>/master.key, a new one replaces it; with
    $ROOKDB_MASTER_KEY, put the new key in $ROOKDB_NEW_MASTER_KEY first and
    restart the server with $ROOKDB_MASTER_KEY set to it afterwards.

    Example: rookdb --data-dir /var/lib/rookdb keys rotate-master
    """
    cli = context.get(ctx)
    if cli.url:
        raise InvalidInput(
            "`rookdb keys rotate-master` works on the data dir: use --data-dir on the "
            "server's machine"
        )
    from rookdb.alerts.store import AlertStore
    from rookdb.security.secrets import MasterKeys
    from rookdb.tasks.store import TaskStore

    system = _system_store(ctx)
    master = MasterKeys(cli.data_dir.resolve())
    tasks, alerts = TaskStore(system, master), AlertStore(system, master)
    try:
        old, new, count = master.rotate(lambda key: tasks.reseal_all(key) + alerts.reseal_all(key))
    finally:
        system.close()
    sys.stdout.write(f"master key {old} -> {new}: {count} stored secrets sealed again\n")
    if master.from_environment:
        sys.stdout.write("now restart the server with ROOKDB_MASTER_KEY set to the new key\n")
