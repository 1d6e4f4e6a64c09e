"""Global CLI options and the target they select: a data dir (embedded) or a server URL."""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import typer

from rookdb.errors import InvalidInput, StorageError

DEFAULT_DATA_DIR = "./rookdb-data"
# The largest whole number SQLite and the JSON stores keep: the bound of integer options.
INT64_MAX = 2**63 - 1


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
        return self.instance()

    def instance(self) -> Any:
        """The data dir's `Instance` (the folder is created when missing)."""
        from rookdb.instance import Instance

        path = usable_data_dir(self.data_dir)
        try:
            return Instance(path)
        except sqlite3.DatabaseError as exc:
            raise damaged_data_dir(path, exc) from exc

    def client(self) -> Any:
        """A `rookdb.Client` for --url, with the API key and CA file given."""
        from rookdb.client import Client

        assert self.url is not None
        return Client(self.url, api_key=self.api_key, ca_file=self.ca_file)


def get(ctx: typer.Context) -> CliContext:
    """The CliContext set up by the main callback."""
    root = ctx.find_root()
    obj = root.obj
    if not isinstance(obj, CliContext):
        obj = resolve(None, None, False)
        root.obj = obj
    return obj


@contextmanager
def open_target(ctx: typer.Context) -> Iterator[Any]:
    """The selected data dir (`Instance`) or server (`Client`), closed when the command ends."""
    target = get(ctx).open_target()
    try:
        yield target
    finally:
        target.close()


@contextmanager
def open_database(ctx: typer.Context, name: str) -> Iterator[Any]:
    """One existing database of the selected target; NotFound names it when missing."""
    with open_target(ctx) as target:
        yield target.database(name)


def usable_data_dir(path: Path) -> Path:
    """`path`, created when missing; InvalidInput saying why it cannot be a data dir."""
    # Checked here, at the edge: an Instance given a file would fail deep inside
    # (NotADirectoryError from a subfolder) with nothing naming the option.
    hint = "choose a folder with --data-dir or $ROOKDB_DATA_DIR"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        message = f"data dir {path} is a file, not a folder; {hint}"
        raise InvalidInput(message, field="data_dir") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = getattr(exc, "strerror", None) or str(exc)
        message = f"cannot use {path} as the data dir: {reason}; {hint}"
        raise InvalidInput(message, field="data_dir") from None
    return path


def damaged_data_dir(path: Path, exc: sqlite3.DatabaseError) -> StorageError:
    """The error for a data dir whose SQLite files cannot be opened."""
    return StorageError(
        f"cannot open the data dir {path}: {exc} (a damaged file, or a folder that is "
        "not a rookdb data dir)"
    )


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


def print_json(value: object) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")
