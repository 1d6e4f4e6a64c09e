"""Global CLI options and the target they select: a data dir (embedded) or a server URL."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import typer

DEFAULT_DATA_DIR = "./rookdb-data"


@dataclass
class CliContext:
    data_dir: Path
    url: str | None
    quiet: bool = False

    def open_target(self) -> Any:
        """The instance the command works on: `Instance` (embedded) or `Client` (remote)."""
        if self.url:
            from rookdb.client import Client

            return Client(self.url)
        from rookdb.instance import Instance

        return Instance(self.data_dir)


def resolve(data_dir: Path | None, url: str | None, quiet: bool) -> CliContext:
    env_url = os.environ.get("ROOKDB_URL")
    if data_dir is not None and url is not None:
        raise typer.BadParameter("use either --data-dir or --url, not both")
    if data_dir is None and url is None and env_url:
        url = env_url
    if data_dir is None:
        data_dir = Path(os.environ.get("ROOKDB_DATA_DIR", DEFAULT_DATA_DIR))
    return CliContext(data_dir=data_dir, url=url, quiet=quiet)


def get(ctx: typer.Context) -> CliContext:
    """The CliContext set up by the main callback."""
    root = ctx.find_root()
    obj = root.obj
    if not isinstance(obj, CliContext):
        obj = resolve(None, None, False)
        root.obj = obj
    return obj


def print_json(value: object) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")
