"""CLI commands for databases and their index definitions: `rookdb db ...`, `rookdb index ...`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.table import Table

from rookdb.cli import context
from rookdb.cli.context import open_database, open_target
from rookdb.cli.options import DatabaseArg, JsonFlag
from rookdb.cli.output import as_json, console, human_size, say
from rookdb.errors import InvalidInput, NotFound

db_app = typer.Typer(
    name="db",
    help="Create, list and delete databases.",
    no_args_is_help=True,
)
index_app = typer.Typer(
    name="index",
    help="Define, list and drop the indexes that serve queries.",
    no_args_is_help=True,
)


# -- rookdb db ---------------------------------------------------------------------
@db_app.command("create")
def db_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Letters, digits, '-' and '_' (1-64).")],
    nodes: Annotated[
        str | None,
        typer.Option("--nodes", help="Cluster: the nodes that hold it, e.g. A,B,C (A writes)."),
    ] = None,
    replication_factor: Annotated[
        int | None,
        typer.Option(
            "--replication-factor", min=1, max=7, help="Cluster: on this many live nodes."
        ),
    ] = None,
    write_concern: Annotated[
        str | None,
        typer.Option(
            "--write-concern",
            help="Cluster: answer a write once 1 node or a majority of the group holds it.",
        ),
    ] = None,
) -> None:
    """Create an empty database (in a cluster: on a group of nodes, over --url).

    Example: rookdb db create shop; rookdb --url http://127.0.0.1:8081 db create shop --nodes A,B,C
    """
    group_options = {
        "nodes": [tag.strip() for tag in nodes.split(",")] if nodes is not None else None,
        "replication_factor": replication_factor,
        "write_concern": write_concern,
    }
    wanted = {key: value for key, value in group_options.items() if value is not None}
    with open_target(ctx) as target:
        if wanted:
            if not hasattr(target, "create_group_database"):
                raise InvalidInput(
                    "--nodes, --replication-factor and --write-concern are for a cluster: "
                    "give --url of one of its nodes",
                    field="nodes",
                )
            target.create_group_database(name, **wanted)
        else:
            target.create_database(name)
    say(ctx, f"created database {name!r}")


@db_app.command("add-node")
def db_add_node(
    ctx: typer.Context,
    name: DatabaseArg,
    node: Annotated[str, typer.Argument(help="The tag of a live node, e.g. D.")],
    json: JsonFlag = False,
) -> None:
    """Add a node to a database's group (a cluster, over --url); it catches up by itself.

    Example: rookdb db add-node shop D (with --url of a node: rookdb --url URL db add-node shop D)
    """
    with _cluster_target(ctx, "add-node") as target:
        group = target.add_group_node(name, node)
    _show_group(ctx, name, group, json)


@db_app.command("remove-node")
def db_remove_node(
    ctx: typer.Context,
    name: DatabaseArg,
    node: Annotated[str, typer.Argument(help="The tag of a member, e.g. C.")],
    json: JsonFlag = False,
) -> None:
    """Take a node out of a database's group; its copy there is dropped.

    Example: rookdb db remove-node shop C (with --url of a node)
    """
    with _cluster_target(ctx, "remove-node") as target:
        group = target.remove_group_node(name, node)
    _show_group(ctx, name, group, json)


@contextmanager
def _cluster_target(ctx: typer.Context, command: str) -> Iterator[Any]:
    with open_target(ctx) as target:
        if not hasattr(target, "add_group_node"):
            raise InvalidInput(
                f"db {command} works on a cluster: give --url of one of its nodes", field="url"
            )
        yield target


def _show_group(ctx: typer.Context, name: str, group: dict[str, Any], json: bool) -> None:
    if json:
        context.print_json(group)
        return
    say(
        ctx,
        f"{name}: members {', '.join(group['nodes'])}; write node {group['write_node']} "
        f"(term {group['term']}, write concern {group['write_concern']})",
    )


@db_app.command("list")
def db_list(ctx: typer.Context, json: JsonFlag = False) -> None:
    """List databases with their document count, size and last etag.

    Example: rookdb db list --json
    """
    with open_target(ctx) as target:
        infos = [as_json(info) for info in target.list_databases()]
    if json:
        context.print_json(infos)
        return
    if not infos:
        say(ctx, "no databases yet: create one with `rookdb db create NAME`")
        return
    table = Table("name", "documents", "size", "last etag")
    for info in infos:
        table.add_row(
            info["name"],
            str(info["documents"]),
            human_size(info["size_bytes"]),
            str(info["last_etag"]),
        )
    console().print(table)


@db_app.command("delete")
def db_delete(
    ctx: typer.Context,
    name: str,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a database and everything in it (asks first unless --yes).

    Example: rookdb db delete shop --yes
    """
    if not yes:
        if not sys.stdin.isatty():
            raise InvalidInput(
                f"not deleting database {name!r}: no terminal to confirm on; "
                "pass --yes to delete without asking",
                field="yes",
            )
        typer.confirm(f"Delete database {name!r} and all its documents?", abort=True)
    with open_target(ctx) as target:
        target.delete_database(name)
    say(ctx, f"deleted database {name!r}")


# -- rookdb index ------------------------------------------------------------------
@index_app.command("create")
def index_create(
    ctx: typer.Context,
    database: DatabaseArg,
    name: Annotated[str, typer.Argument(help="The index name, e.g. UsersByAge.")],
    collection: Annotated[str, typer.Argument(help="The collection it covers, e.g. Users.")],
    fields: Annotated[
        list[str], typer.Argument(help="Field paths to index, e.g. age address.city.")
    ],
) -> None:
    """Define an index on fields of a collection and build it over the existing documents.

    Example: rookdb index create shop UsersByAge Users age address.city
    """
    with open_database(ctx, database) as db:
        definition = as_json(db.create_index(name, collection, list(fields)))
    say(
        ctx,
        f"index {definition['name']!r} on {definition['collection']} "
        f"({', '.join(definition['fields'])}) etag {definition['etag']}",
    )


@index_app.command("list")
def index_list(ctx: typer.Context, database: DatabaseArg, json: JsonFlag = False) -> None:
    """List the index definitions of a database.

    Example: rookdb index list shop
    """
    with open_database(ctx, database) as db:
        definitions = [as_json(d) for d in db.list_indexes()]
    if json:
        context.print_json(definitions)
        return
    if not definitions:
        say(ctx, f"no indexes in {database!r}")
        return
    table = Table("name", "collection", "fields", "etag")
    for d in definitions:
        table.add_row(d["name"], d["collection"], ", ".join(d["fields"]), str(d["etag"]))
    console().print(table)


@index_app.command("delete")
def index_delete(ctx: typer.Context, database: DatabaseArg, name: str) -> None:
    """Drop an index definition and its data.

    Example: rookdb index delete shop UsersByAge
    """
    with open_database(ctx, database) as db:
        if not db.delete_index(name):
            raise NotFound(f"index {name!r} does not exist in database {database!r}")
    say(ctx, f"deleted index {name!r}")


def register(app: typer.Typer) -> None:
    """Add `db` and `index` command groups to the root app."""
    app.add_typer(db_app)
    app.add_typer(index_app)
