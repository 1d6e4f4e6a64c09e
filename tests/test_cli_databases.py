"""`rookdb db ...` and `rookdb index ...` through the real typer app on a real data dir."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import rookdb
from rookdb.cli.main import app
from rookdb.errors import AlreadyExists, InvalidInput, NotFound

Run = Callable[..., Result]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def run(data_dir: Path) -> Run:
    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(app, ["--data-dir", str(data_dir), *args], input=input)

    return invoke


def test_create_then_list_shows_the_database(run: Run, data_dir: Path) -> None:
    created = run("db", "create", "shop")
    assert created.exit_code == 0, created.output
    assert "created database 'shop'" in created.stdout

    listed = run("db", "list")
    assert listed.exit_code == 0
    assert "shop" in listed.stdout
    assert "documents" in listed.stdout and "last etag" in listed.stdout

    with rookdb.open(data_dir) as instance:
        assert instance.database_names() == ["shop"]


def test_list_json_is_machine_readable(run: Run) -> None:
    run("db", "create", "shop")
    run("db", "create", "crm")
    run("put", "shop", "users/1", '{"name": "Ann"}')

    out = run("db", "list", "--json")
    assert out.exit_code == 0
    infos = {info["name"]: info for info in json.loads(out.stdout)}
    assert set(infos) == {"shop", "crm"}
    assert infos["shop"]["documents"] == 1
    assert infos["shop"]["last_etag"] == 1
    assert infos["crm"]["documents"] == 0
    assert infos["shop"]["size_bytes"] > 0


def test_list_empty_says_how_to_start(run: Run) -> None:
    out = run("db", "list")
    assert out.exit_code == 0
    assert "rookdb db create" in out.stdout
    assert json.loads(run("db", "list", "--json").stdout) == []


def test_create_twice_is_a_conflict(run: Run) -> None:
    assert run("db", "create", "shop").exit_code == 0
    again = run("db", "create", "shop")
    assert again.exit_code == 1
    assert isinstance(again.exception, AlreadyExists)
    assert "'shop' already exists" in str(again.exception)


@pytest.mark.parametrize("name", ["../x", "a/b", "", "-lead", "x" * 65])
def test_bad_database_name_is_refused_and_nothing_is_created(
    run: Run, data_dir: Path, name: str
) -> None:
    out = run("db", "create", "--", name)
    assert out.exit_code == 1
    assert isinstance(out.exception, InvalidInput)
    assert "is not allowed" in str(out.exception)
    assert not (data_dir.parent / "x.rookdb").exists()
    with rookdb.open(data_dir) as instance:
        assert instance.database_names() == []


def test_delete_with_yes_removes_it(run: Run, data_dir: Path) -> None:
    run("db", "create", "shop")
    out = run("db", "delete", "shop", "--yes")
    assert out.exit_code == 0, out.output
    assert "deleted database 'shop'" in out.stdout
    with rookdb.open(data_dir) as instance:
        assert instance.database_names() == []
    assert not list((data_dir / "databases").glob("shop*"))


def test_delete_without_yes_and_no_terminal_refuses(run: Run, data_dir: Path) -> None:
    run("db", "create", "shop")
    out = run("db", "delete", "shop", input="y\n")
    assert out.exit_code == 1
    assert isinstance(out.exception, InvalidInput)
    assert "--yes" in str(out.exception)
    with rookdb.open(data_dir) as instance:
        assert instance.database_names() == ["shop"]


def test_delete_unknown_database(run: Run) -> None:
    out = run("db", "delete", "nope", "--yes")
    assert out.exit_code == 1
    assert isinstance(out.exception, NotFound)
    assert "database 'nope' does not exist" in str(out.exception)


def test_quiet_silences_chatter(data_dir: Path) -> None:
    out = CliRunner().invoke(app, ["--data-dir", str(data_dir), "--quiet", "db", "create", "shop"])
    assert out.exit_code == 0
    assert out.stdout == ""


def test_index_create_list_and_query_uses_it(run: Run) -> None:
    run("db", "create", "shop")
    run("put", "shop", "users/1", '{"name": "Ann", "age": 31, "address": {"city": "Oslo"}}')
    created = run("index", "create", "shop", "UsersByAge", "Users", "age", "address.city")
    assert created.exit_code == 0, created.output
    assert "UsersByAge" in created.stdout

    listed = json.loads(run("index", "list", "shop", "--json").stdout)
    assert listed == [
        {
            "name": "UsersByAge",
            "collection": "Users",
            "fields": ["age", "address.city"],
            "etag": listed[0]["etag"],
        }
    ]
    table = run("index", "list", "shop")
    assert "UsersByAge" in table.stdout and "address.city" in table.stdout

    found = run("query", "shop", "Users", "--where", "address.city=Oslo", "--json")
    assert [d["@metadata"]["@id"] for d in json.loads(found.stdout)["documents"]] == ["users/1"]


def test_index_with_bad_field_path_is_refused(run: Run) -> None:
    run("db", "create", "shop")
    out = run("index", "create", "shop", "Bad", "Users", "a b")
    assert out.exit_code == 1
    assert isinstance(out.exception, InvalidInput)
    assert "'a b'" in str(out.exception)
    assert json.loads(run("index", "list", "shop", "--json").stdout) == []


def test_index_needs_at_least_one_field(run: Run) -> None:
    run("db", "create", "shop")
    out = run("index", "create", "shop", "NoFields", "Users")
    assert out.exit_code == 2


def test_index_delete(run: Run) -> None:
    run("db", "create", "shop")
    run("index", "create", "shop", "UsersByAge", "Users", "age")
    assert run("index", "delete", "shop", "UsersByAge").exit_code == 0
    assert json.loads(run("index", "list", "shop", "--json").stdout) == []
    again = run("index", "delete", "shop", "UsersByAge")
    assert again.exit_code == 1
    assert isinstance(again.exception, NotFound)


def test_index_on_unknown_database(run: Run) -> None:
    out = run("index", "list", "nope")
    assert out.exit_code == 1
    assert isinstance(out.exception, NotFound)


@pytest.mark.parametrize(
    "command", [["db"], ["db", "create"], ["db", "list"], ["db", "delete"], ["index", "create"]]
)
def test_help_has_an_example(run: Run, command: list[str]) -> None:
    out = run(*command, "--help")
    assert out.exit_code == 0
    if command != ["db"]:
        assert "Example: rookdb" in out.stdout
