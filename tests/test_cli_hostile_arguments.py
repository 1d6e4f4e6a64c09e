"""Every CLI command, fed hostile arguments, ends with one `error:` line and exit 1 or 2.

The command tree is walked from the Typer app, so a new command is covered
without touching this file. Commands run in-process through `rookdb.cli.main.run`
(the same function the `rookdb` executable calls, error handling included)
inside click's isolation, on a data dir and against a real server (--url).
`serve`, which would keep running on a benign argument, and the invocations
named in issue 13 run as real processes in test_cli_errors.py.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

import rookdb
from rookdb.cli.main import app, run
from rookdb.server import ServerThread

HUGE = "99999999999999999999"
HOSTILE_VALUES = [
    HUGE,
    "1e400",
    "",
    "a\x00b",
    "http://[::1",
    "ftp://u:pw-Hostile@127.0.0.1:99999/x",
    "../../x",
    "\u202e💥\ufeff",
    '{"kind": ',
    "x" * 5000,
]
# Not a valid value of any parameter: every command given these in all parameters fails.
NEVER_VALID = ["", "a\x00b", "http://[::1", '{"kind": ', "\u202e💥\ufeff", "x" * 5000]
# Never "ok" for these: the env must not point the CLI at a real server, key or data dir.
CLEAN_ENV: dict[str, str | None] = {k: None for k in os.environ if k.startswith("ROOKDB_")}


@dataclass
class Outcome:
    args: list[str]
    code: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return f"rookdb {self.args!r} -> {self.code}\nstdout: {self.stdout}\nstderr: {self.stderr}"


def invoke(args: list[str], input: str = "") -> Outcome:
    """`rookdb ARGS` in-process, through the executable's own entry function."""
    with CliRunner().isolation(input=input, env=CLEAN_ENV) as (out, err, _):
        code = run(args)
        sys.stdout.flush()
        sys.stderr.flush()
        stdout = out.getvalue().decode(errors="replace")
        stderr = err.getvalue().decode(errors="replace")
    return Outcome(args, code, stdout, stderr)


def commands() -> Iterator[tuple[list[str], Any]]:
    """(path, click command) of every leaf command of the `rookdb` app."""

    def walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
        children = getattr(command, "commands", None)
        if children:
            for name, child in sorted(children.items()):
                yield from walk(child, [*path, name])
        else:
            yield path, command

    root = get_command(app)
    root.load_all()  # the root builds a command when it runs; the walk needs them all
    yield from walk(root, [])


def in_process_commands() -> list[tuple[list[str], Any]]:
    # `serve` with benign arguments would serve until stopped: it has its own test below.
    return [(path, command) for path, command in commands() if path != ["serve"]]


def assert_clean_failure(outcome: Outcome, *, codes: tuple[int, ...] = (1, 2)) -> None:
    text = outcome.stdout + outcome.stderr
    assert "Traceback" not in text, outcome
    assert "error: unexpected" not in text, outcome  # the safety net caught a missed case
    assert outcome.code in codes, outcome
    if outcome.code:
        lines = outcome.stderr.strip().splitlines()
        assert lines and lines[-1].startswith("error: "), outcome


# Options given a benign value even when not required, so that a command gets far
# enough (a task needs a schedule and a destination) for the hostile value to matter.
GIVEN_OPTIONS = {"full_cron", "to_local", "s3_bucket", "aws_access_key", "aws_secret_key"}


# -- the world a benign argument points at -------------------------------------------
@dataclass
class World:
    data_dir: Path
    a_file: Path
    run_folder: Path
    backup_file: Path
    task_id: str
    tmp: Path
    server_url: str
    dead_etcd: str = "http://127.0.0.1:9"  # loopback, nothing listens: refused at once

    def benign(self, path: list[str], name: str) -> str:
        """A value for parameter `name` of command `path` that lets the command go on."""
        command = " ".join(path)
        by_command = {
            ("db create", "name"): "other",
            ("db delete", "name"): "other",
            ("index create", "name"): "ByAge",
            ("index delete", "name"): "ByAge",
            ("attachment put", "file"): str(self.a_file),
            ("export", "file"): str(self.tmp / "export.rookdb"),
            ("import", "file"): str(self.backup_file),
            ("import", "database"): "imported",
            ("restore", "database"): "restored",
            ("keys revoke", "key_id"): "0000",
            ("backup tasks create", "database"): "shop",
            ("cluster status", "cluster"): self.dead_etcd,
        }
        if (command, name) in by_command:
            return by_command[command, name]
        return {
            "database": "shop",
            "doc_id": "users/1",
            "name": "photo",
            "body": '{"age": 31}',
            "collection": "Users",
            "fields": "age",
            "source": str(self.run_folder),
            "task_id": self.task_id,
            "to": str(self.tmp / "more-backups"),
            "interval_minutes": "15",
            "role": "reader",
            "config": json.dumps({"kind": "local", "path": str(self.tmp / "probe")}),
            "full_cron": "0 2 * * *",
            "to_local": str(self.tmp / "task-backups"),
            "s3_bucket": "bucket",
            "aws_access_key": "AKIA",
            "aws_secret_key": "secret",
            "endpoint_url": "http://127.0.0.1:9",
        }.get(name, "x")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("hostile")
    data_dir = tmp / "data"
    with rookdb.open(data_dir) as instance:
        db = instance.create_database("shop")
        db.put("users/1", {"age": 31})
    a_file = tmp / "a-file"
    a_file.write_text("not a folder")
    backups = tmp / "backups"
    assert invoke(["--data-dir", str(data_dir), "-q", "backup", "run", "shop", "--to",
                   str(backups)]).code == 0  # fmt: skip
    [run_folder] = [p for p in backups.iterdir() if p.is_dir()]
    backup_file = next(p for p in run_folder.iterdir() if p.is_file())
    created = invoke(["--data-dir", str(data_dir), "backup", "tasks", "create", "shop",
                      "--full-cron", "0 2 * * *", "--to-local", str(tmp / "task-backups"),
                      "--json"])  # fmt: skip
    assert created.code == 0, created
    # The same commands with --url: a real server over its own data dir, the same task.
    served = rookdb.open(tmp / "served")
    served.create_database("shop").put("users/1", {"age": 31})
    server = ServerThread(served).start()
    # Relative hostile paths ("../../x") land inside this folder, never in the repo.
    cwd = tmp / "cwd" / "deeper" / "still"
    cwd.mkdir(parents=True)
    old = Path.cwd()
    os.chdir(cwd)
    try:
        yield World(data_dir, a_file, run_folder, backup_file,
                    json.loads(created.stdout)["id"], tmp, server.url)  # fmt: skip
    finally:
        os.chdir(old)
        server.stop()
        served.close()


def arguments(world: World, path: list[str], command: Any, hostile: dict[str, str]) -> list[str]:
    """The command line: `hostile` values where given, benign ones for the other required."""
    args = list(path)
    for param in command.params:
        if param.name == "help" or getattr(param, "is_flag", False):
            continue
        value = hostile.get(param.name)
        if param.param_type_name == "argument":
            if value is None and not param.required:
                continue
            args.append(value if value is not None else world.benign(path, param.name))
        elif value is not None or param.required or param.name in GIVEN_OPTIONS:
            args += [param.opts[0], value if value is not None else world.benign(path, param.name)]
    return args


# -- the tests -----------------------------------------------------------------------
COMMANDS = {" ".join(path): command for path, command in in_process_commands()}


def value_names(command: Any) -> list[str]:
    """The parameters of a command that take a value (not --help, not flags)."""
    return [p.name for p in command.params if p.name != "help" and not getattr(p, "is_flag", False)]


def check_all(outcomes: Iterator[Outcome], codes: tuple[int, ...]) -> None:
    failures = []
    for outcome in outcomes:
        try:
            assert_clean_failure(outcome, codes=codes)
        except AssertionError:
            failures.append(str(outcome)[:600])
    assert not failures, f"{len(failures)} bad outcome(s):\n" + "\n\n".join(failures[:10])


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_hostile_arguments_and_options(world: World, name: str) -> None:
    """Each parameter in turn gets each hostile value; the others are benign."""
    path, command = name.split(), COMMANDS[name]
    # A hostile value may still be a fine one for this parameter (a name with an
    # emoji): success is allowed here; a traceback or the safety net is not.
    check_all(
        (
            invoke([*target, "-q", *arguments(world, path, command, {param: value})])
            for target in (["--data-dir", str(world.data_dir)], ["--url", world.server_url])
            for param in value_names(command)
            for value in HOSTILE_VALUES
        ),
        codes=(0, 1, 2),
    )


@pytest.mark.parametrize("name", sorted(n for n, c in COMMANDS.items() if value_names(c)))
def test_hostile_everything_fails(world: World, name: str) -> None:
    """Every parameter hostile; a data dir that is a file, a bad URL, an empty data dir: 1 or 2."""
    path, command = name.split(), COMMANDS[name]
    contexts = [
        ["--data-dir", str(world.a_file)],
        ["--data-dir", str(world.a_file / "below")],
        ["--url", "http://[::1"],
        ["--url", "ftp://127.0.0.1:21"],
    ]
    takes_arguments = any(p.param_type_name == "argument" for p in command.params)

    def outcomes() -> Iterator[Outcome]:
        for n, value in enumerate(NEVER_VALID):
            args = arguments(world, path, command, dict.fromkeys(value_names(command), value))
            for context in contexts:
                yield invoke([*context, *args])
            if takes_arguments:
                empty = world.tmp / f"empty-{'-'.join(path)}-{n}"
                yield invoke(["--data-dir", str(empty), *args])
                yield invoke(["--url", world.server_url, *args])

    check_all(outcomes(), codes=(1, 2))
