"""`rookdb cluster ...`: the cluster key, and the cluster's nodes as etcd knows them."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from rookdb.cli import context
from rookdb.cli.options import JsonFlag
from rookdb.errors import ClusterUnavailable

cluster_app = typer.Typer(
    name="cluster",
    help="A cluster of rookdb nodes on etcd: its key and its nodes.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(cluster_app, name="cluster")


@cluster_app.command("key")
def key() -> None:
    """Print a new random cluster key: save it to a file and give every node a copy.

    Example: rookdb cluster key > cluster.key && chmod 600 cluster.key
    """
    from rookdb.cluster.key import new_cluster_key

    typer.echo(new_cluster_key())


@cluster_app.command("status")
def status(
    cluster: Annotated[
        str,
        typer.Option(
            "--cluster",
            help="etcd endpoints, comma-separated, e.g. http://127.0.0.1:2379,http://...:22379",
            envvar="ROOKDB_CLUSTER",
        ),
    ],
    name: Annotated[
        str, typer.Option("--cluster-name", help="The cluster's name in etcd.")
    ] = "default",
    as_json: JsonFlag = False,
) -> None:
    """Every node (tag, URL, up/down, last seen), the observer and etcd's health."""
    from rookdb.cluster.nodes import NodeRegistry
    from rookdb.cluster.topology import topology
    from rookdb.system.etcd import EtcdClient

    client = EtcdClient([e.strip() for e in cluster.split(",") if e.strip()])
    try:
        # A reader only: it never joins, so the key id is not needed.
        registry = NodeRegistry(client, cluster=name, tag="-", url="", key_id="")
        view = topology(registry, client)
    finally:
        client.close()
    if as_json:
        context.print_json(view)
    else:
        table = Table(title=f"cluster {name}", title_justify="left")
        for column in ("node", "url", "state", "last seen"):
            table.add_column(column)
        for node in view["nodes"]:
            table.add_row(node["tag"], node["url"], node["state"], node["last_seen"] or "-")
        Console().print(table)
        etcd = view["etcd"]
        typer.echo(f"observer: {view['observer'] or 'none elected'}")
        typer.echo(f"etcd: {'healthy' if etcd['healthy'] else 'NOT healthy: ' + etcd['error']}")
    if not view["etcd"]["healthy"]:
        raise ClusterUnavailable(view["etcd"]["error"] or "etcd is not healthy")
