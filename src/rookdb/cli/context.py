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
    api_key: str | None = None
    ca_file: Path | None = None

    def open_target(self) -> Any:
        """The instance the command works on: `Instance` (embedded) or `Client` (remote)."""
        if self.url:
            return self.client()
        from rookdb.instance import Instance

        return Instance(self.data_dir)

    def client(self) -> Any:
        """A `rookdb.Client` for --url, with the API key and CA file given."""
        from rookdb.client import Client

        assert self.url is not None
        return Client(self.url, api_key=self.api_key, ca_file=self.ca_file)


def resolve(
    data_dir: Path | None,
    url: str | None,
    quiet: bool,
    api_key: str | None = None,
    ca_file: Path | None = None,
) -> CliContext:
    env_url = os.environ.get("ROOKDB_URL")
    if data_dir is not None and url is not None:
        raise typer.BadParameter("use either --data-dir or --url, not both")
    if data_dir is None and url is None and env_url:
        url = env_url
    if data_dir is None:
        data_dir = Path(os.environ.get("ROOKDB_DATA_DIR", DEFAULT_DATA_DIR))
    api_key = api_key or os.environ.get("ROOKDB_API_KEY") or None
    env_ca = os.environ.get("ROOKDB_CA_FILE")
    ca_file = ca_file or (Path(env_ca) if env_ca else None)
    return CliContext(data_dir, url, quiet, api_key, ca_file)


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
