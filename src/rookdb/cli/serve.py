"""CLI command: `rookdb serve`, the HTTP server (API, and the Studio once it lands)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from rookdb.cli import context
from rookdb.errors import InvalidInput


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("serve")(serve)


def serve(
    ctx: typer.Context,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Data dir to serve (default: the global --data-dir)."),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port to listen on (0: any free).")
    ] = 8080,
    node_tag: Annotated[
        str, typer.Option("--node-tag", help="This node's tag in a cluster (A, B, C ...).")
    ] = "A",
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request.")] = False,
    auth: Annotated[
        bool,
        typer.Option(
            "--auth/--open",
            help="Require API keys (default), or serve without them: --open is allowed on "
            "a loopback address only.",
        ),
    ] = True,
    tls_cert: Annotated[
        Path | None, typer.Option("--tls-cert", help="Serve https with this certificate (PEM).")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option("--tls-key", help="The private key of --tls-cert (PEM).")
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster",
            help="Join a cluster: its etcd endpoints, comma-separated "
            "(e.g. http://127.0.0.1:2379,http://127.0.0.1:22379). Without it: a single node.",
            envvar="ROOKDB_CLUSTER",
        ),
    ] = None,
    advertise_url: Annotated[
        str | None,
        typer.Option(
            "--advertise-url", help="In a cluster: the URL other nodes reach this node at."
        ),
    ] = None,
    cluster_key_file: Annotated[
        Path | None,
        typer.Option(
            "--cluster-key-file",
            help="In a cluster: the key file every node has a copy of (`rookdb cluster key`).",
        ),
    ] = None,
    cluster_name: Annotated[
        str, typer.Option("--cluster-name", help="In a cluster: its name in etcd.")
    ] = "default",
) -> None:
    """Serve a data dir over HTTP until Ctrl-C or SIGTERM.

    API keys are required unless --open is given (loopback only); the first
    start prints an admin key once.

    With --cluster the node joins a cluster on etcd (see README "Cluster"):
    it refuses to start, saying why, when etcd does not answer, the key file is
    not the cluster's, or a live node already has its tag.

    Example: rookdb serve --data-dir /var/lib/rookdb --host 0.0.0.0 --tls-cert c.pem --tls-key k.pem
    """
    from rookdb.cluster.member import ClusterOptions
    from rookdb.server import Tls
    from rookdb.server import serve as run_server
    from rookdb.server.auth import is_loopback
    from rookdb.server.run import check_open_allowed

    check_open_allowed(host, auth)  # refused before the data dir is created
    options = None
    if cluster is not None:
        options = ClusterOptions.parse(
            cluster,
            node_tag=node_tag,
            advertise_url=advertise_url,
            key_file=cluster_key_file,
            name=cluster_name,
        )
    elif advertise_url is not None or cluster_key_file is not None:
        raise InvalidInput(
            "--advertise-url and --cluster-key-file are for a cluster node: add --cluster URLS",
            field="cluster",
        )
    target = context.usable_data_dir(
        data_dir if data_dir is not None else context.get(ctx).data_dir
    )
    tls = Tls.from_options(tls_cert, tls_key)

    def announce(url: str) -> None:
        mode = "API keys required" if auth else "open: no authentication, loopback only"
        where = f"node {options.node_tag} of cluster {options.name}; " if options else ""
        sys.stdout.write(f"rookdb serving {url} ({where}data dir {target.resolve()}; {mode})\n")
        sys.stdout.flush()
        if tls is None and not is_loopback(host):
            sys.stderr.write(
                f"warning: serving {host} without TLS: API keys and data cross the network "
                "in clear text (use --tls-cert and --tls-key)\n"
            )

    def show_admin_key(key: str) -> None:
        sys.stdout.write(
            "rookdb: created the first admin API key; it is shown only this once, keep it:\n"
            f"  {key}\n"
            "  (log into the Studio with it; `rookdb keys create` makes more)\n"
        )
        sys.stdout.flush()

    run_server(
        target,
        host,
        port,
        node_tag,
        access_log=access_log,
        on_ready=announce,
        auth=auth,
        tls=tls,
        on_admin_key=show_admin_key,
        cluster=options,
    )
