"""CLI command: `rookdb serve`, the HTTP server (API, and the Studio once it lands)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from rookdb.cli import context


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
) -> None:
    """Serve a data dir over HTTP until Ctrl-C or SIGTERM."""
    from rookdb.server import serve as run_server

    target = data_dir if data_dir is not None else context.get(ctx).data_dir

    def announce(url: str) -> None:
        sys.stdout.write(f"rookdb serving {url} (data dir {target.resolve()})\n")
        sys.stdout.flush()

    run_server(target, host, port, node_tag, access_log=access_log, on_ready=announce)
