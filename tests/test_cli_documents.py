"""`rookdb put/get/delete/docs/query/attachment` through the real typer app on a real data dir."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

import rookdb
from rookdb.cli.documents import parse_condition
from rookdb.cli.main import app
from rookdb.errors import ConcurrencyConflict, InvalidInput, NotFound

Run = Callable[..., Result]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def run(data_dir: Path) -> Run:
    def invoke(*args: str, input: str | bytes | None = None) -> Result:
        return CliRunner().invoke(app, ["--data-dir", str(data_dir), *args], input=input)

    with rookdb.open(data_dir) as instance:
        instance.create_database("shop")
    return invoke


def ids(out: Result) -> list[str]:
    return [d["@metadata"]["@id"] for d in json.loads(out.stdout)["documents"]]


# -- put / get / delete ----------------------------------------------------------
def test_put_prints_id_and_etag_and_get_prints_metadata(run: Run) -> None:
    put = run("put", "shop", "users/1", '{"name": "Ann", "age": 31}')
    assert put.exit_code == 0, put.output
    assert put.stdout.strip() == "users/1 etag 1"

    got = run("get", "shop", "users/1")
    assert got.exit_code == 0
    doc = json.loads(got.stdout)
    assert doc["name"] == "Ann" and doc["age"] == 31
    meta = doc["@metadata"]
    assert meta["@id"] == "users/1"
    assert meta["@collection"] == "Users"
    assert meta["@etag"] == 1
    assert meta["@last-modified"] and meta["@change-vector"]


def test_put_json_output(run: Run) -> None:
    out = run("put", "shop", "orders/7", '{"total": 3}', "--json")
    result = json.loads(out.stdout)
    assert result["id"] == "orders/7"
    assert result["etag"] == 1
    assert result["change_vector"]


def test_put_from_stdin_with_identity(run: Run, data_dir: Path) -> None:
    first = run("put", "shop", "users|", "-", input='{"name": "Ann"}')
    second = run("put", "shop", "users|", "-", input='{"name": "Bob"}\n')
    assert first.stdout.split()[0] == "users/1"
    assert second.stdout.split()[0] == "users/2"
    with rookdb.open(data_dir) as instance:
        doc = instance.database("shop").get("users/2")
        assert doc is not None and doc.body == {"name": "Bob"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"name": "Ann"', "not valid JSON"),
        ("name: Ann", "not valid JSON"),
        ("", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('"text"', "must be a JSON object"),
    ],
)
def test_put_invalid_json_writes_nothing(run: Run, data_dir: Path, text: str, problem: str) -> None:
    out = run("put", "shop", "users/1", text)
    assert out.exit_code == 1
    assert isinstance(out.exception, InvalidInput)
    assert problem in str(out.exception)
    assert "users/1" in str(out.exception)
    with rookdb.open(data_dir) as instance:
        db = instance.database("shop")
        assert db.count() == 0
        assert db.last_etag == 0


def test_put_invalid_json_from_stdin(run: Run) -> None:
    out = run("put", "shop", "users/1", "-", input="{oops}")
    assert out.exit_code == 1
    assert "not valid JSON" in str(out.exception)


def test_put_with_expected_etag(run: Run) -> None:
    run("put", "shop", "users/1", '{"v": 1}')
    stale = run("put", "shop", "users/1", '{"v": 2}', "--expected-etag", "7")
    assert stale.exit_code == 1
    assert isinstance(stale.exception, ConcurrencyConflict)
    fresh = run("put", "shop", "users/1", '{"v": 3}', "--expected-etag", "1")
    assert fresh.exit_code == 0, fresh.output
    assert json.loads(run("get", "shop", "users/1").stdout)["v"] == 3
    must_be_new = run("put", "shop", "users/1", '{"v": 4}', "--expected-etag", "0")
    assert must_be_new.exit_code == 1


def test_get_missing_document(run: Run) -> None:
    out = run("get", "shop", "users/404")
    assert out.exit_code == 1
    assert isinstance(out.exception, NotFound)
    assert str(out.exception) == "document 'users/404' does not exist"
    assert out.stdout == ""


@pytest.mark.parametrize("command", [["get", "nope", "users/1"], ["put", "nope", "a", "{}"]])
def test_unknown_database(run: Run, command: list[str]) -> None:
    out = run(*command)
    assert out.exit_code == 1
    assert isinstance(out.exception, NotFound)
    assert "database 'nope' does not exist" in str(out.exception)


def test_bad_database_name_on_document_commands(run: Run) -> None:
    out = run("put", "../x", "users/1", "{}")
    assert out.exit_code == 1
    assert isinstance(out.exception, InvalidInput)
    assert "'../x'" in str(out.exception)


def test_delete_then_get_is_missing(run: Run) -> None:
    run("put", "shop", "users/1", '{"name": "Ann"}')
    out = run("delete", "shop", "users/1")
    assert out.exit_code == 0, out.output
    assert "deleted users/1" in out.stdout
    assert run("get", "shop", "users/1").exit_code == 1
    again = run("delete", "shop", "users/1")
    assert again.exit_code == 1
    assert isinstance(again.exception, NotFound)


def test_delete_with_wrong_expected_etag_keeps_the_document(run: Run) -> None:
    run("put", "shop", "users/1", '{"name": "Ann"}')
    out = run("delete", "shop", "users/1", "--expected-etag", "9")
    assert out.exit_code == 1
    assert isinstance(out.exception, ConcurrencyConflict)
    assert run("get", "shop", "users/1").exit_code == 0


# -- docs --------------------------------------------------------------------------
def test_docs_lists_pages_and_collections(run: Run) -> None:
    for i in range(5):
        run("put", "shop", f"users/{i}", json.dumps({"n": i}))
    run("put", "shop", "orders/1", '{"total": 1}')

    everything = json.loads(run("docs", "shop", "--json").stdout)
    assert len(everything) == 6

    users = json.loads(run("docs", "shop", "--collection", "Users", "--json").stdout)
    assert {d["@metadata"]["@id"] for d in users} == {f"users/{i}" for i in range(5)}

    page = json.loads(
        run("docs", "shop", "-c", "Users", "--start", "3", "--page-size", "10", "--json").stdout
    )
    assert len(page) == 2

    table = run("docs", "shop", "-c", "Orders")
    assert table.exit_code == 0
    assert "orders/1" in table.stdout and '{"total":1}' in table.stdout


def test_docs_bad_paging_is_usage_error(run: Run) -> None:
    assert run("docs", "shop", "--page-size", "0").exit_code == 2
    assert run("docs", "shop", "--start", "-1").exit_code == 2


# -- query -------------------------------------------------------------------------
@pytest.fixture
def people(run: Run) -> Run:
    for i, (name, age, city) in enumerate(
        [("Ann", 31, "Oslo"), ("Bob", 25, "Rome"), ("Cid", 40, "Oslo"), ("Dee", 30, "Lima")], 1
    ):
        run("put", "shop", f"users/{i}", json.dumps({"name": name, "age": age, "city": city}))
    run("index", "create", "shop", "Users/ByAgeCity", "Users", "age", "city", "name")
    return run


def test_query_conditions_and_order(people: Run) -> None:
    out = people("query", "shop", "Users", "--where", "age>=30", "--order-by", "-age", "--json")
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["total"] == 3
    assert ids(out) == ["users/3", "users/1", "users/4"]

    both = people("query", "shop", "Users", "-w", "age >= 30", "-w", "city = Oslo", "--json")
    assert ids(both) == ["users/1", "users/3"]

    assert ids(people("query", "shop", "Users", "-w", "age==25", "--json")) == ["users/2"]
    assert ids(people("query", "shop", "Users", "-w", "age!=25", "--json")) == [
        "users/1",
        "users/3",
        "users/4",
    ]
    assert ids(people("query", "shop", "Users", "-w", "age<30", "--json")) == ["users/2"]
    assert ids(people("query", "shop", "Users", "-w", "age<=30", "--json")) == [
        "users/2",
        "users/4",
    ]
    assert ids(people("query", "shop", "Users", "-w", "age>39", "--json")) == ["users/3"]
    assert ids(people("query", "shop", "Users", "-w", 'name="Bob"', "--json")) == ["users/2"]
    assert ids(people("query", "shop", "Users", "-w", 'city in ["Rome", "Lima"]', "--json")) == [
        "users/2",
        "users/4",
    ]


def test_query_paging_and_named_index(people: Run) -> None:
    out = people(
        "query",
        "shop",
        "Users",
        "--index",
        "Users/ByAgeCity",
        "--order-by",
        "age",
        "--start",
        "1",
        "--page-size",
        "2",
        "--json",
    )
    result = json.loads(out.stdout)
    assert result["total"] == 4
    assert result["index"] == "Users/ByAgeCity"
    assert ids(out) == ["users/4", "users/1"]


def test_query_table_output(people: Run) -> None:
    out = people("query", "shop", "Users", "-w", "city=Oslo")
    assert out.exit_code == 0
    assert "users/1" in out.stdout and "users/3" in out.stdout and "users/2" not in out.stdout
    assert "2 of 2" in out.stdout


def test_query_on_unindexed_field_names_it(people: Run) -> None:
    out = people("query", "shop", "Users", "--where", "email=a@b.c")
    assert out.exit_code == 1
    assert isinstance(out.exception, InvalidInput)
    assert "'email' is not indexed" in str(out.exception)


@pytest.mark.parametrize("bad", ["age", ">=30", "age=>30", "age ~ 3", "city in Oslo"])
def test_query_bad_condition_is_usage_error(people: Run, bad: str) -> None:
    out = people("query", "shop", "Users", "--where", bad)
    assert out.exit_code == 2
    assert "--where" in out.output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("age>=30", ("age", ">=", 30)),
        ("age = 30", ("age", "==", 30)),
        ("name=Ann", ("name", "==", "Ann")),
        ('name="30"', ("name", "==", "30")),
        ("active==true", ("active", "==", True)),
        ("deleted!=null", ("deleted", "!=", None)),
        ("price<9.5", ("price", "<", 9.5)),
        ("address.city>M", ("address.city", ">", "M")),
        ("note=a=b", ("note", "==", "a=b")),
        ("tags in [1, 2]", ("tags", "in", [1, 2])),
    ],
)
def test_parse_condition(text: str, expected: tuple[str, str, object]) -> None:
    assert parse_condition(text) == expected


# -- attachments -------------------------------------------------------------------
def test_attachment_round_trip_through_files(run: Run, tmp_path: Path) -> None:
    run("put", "shop", "users/1", '{"name": "Ann"}')
    content = bytes(range(256)) * 4096 + b"tail"  # 1 MiB + 4: more than one stream chunk
    source = tmp_path / "photo.png"
    source.write_bytes(content)

    put = run("attachment", "put", "shop", "users/1", "photo", str(source), "--json")
    assert put.exit_code == 0, put.output
    info = json.loads(put.stdout)
    assert info["size"] == len(content)
    assert info["content_type"] == "image/png"
    assert info["name"] == "photo" and info["document_id"] == "users/1"

    target = tmp_path / "out" / "copy.png"
    target.parent.mkdir()
    got = run("attachment", "get", "shop", "users/1", "photo", "-o", str(target))
    assert got.exit_code == 0, got.output
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(content).digest()
    assert not (target.parent / "copy.png.part").exists()

    listed = json.loads(run("attachment", "list", "shop", "users/1", "--json").stdout)
    assert [(a["name"], a["size"]) for a in listed] == [("photo", len(content))]
    assert "photo" in run("attachment", "list", "shop", "users/1").stdout


def test_attachment_from_stdin_to_stdout(run: Run) -> None:
    run("put", "shop", "users/1", "{}")
    put = run(
        "attachment",
        "put",
        "shop",
        "users/1",
        "notes",
        "-",
        "--content-type",
        "text/plain",
        input=b"hello\x00world",
    )
    assert put.exit_code == 0, put.output
    assert "text/plain" in put.stdout
    got = run("attachment", "get", "shop", "users/1", "notes")
    assert got.exit_code == 0
    assert got.stdout_bytes == b"hello\x00world"


def test_attachment_default_content_type_is_binary(run: Run, tmp_path: Path) -> None:
    run("put", "shop", "users/1", "{}")
    blob = tmp_path / "blob"
    blob.write_bytes(b"x")
    info = json.loads(run("attachment", "put", "shop", "users/1", "b", str(blob), "--json").stdout)
    assert info["content_type"] == "application/octet-stream"


def test_attachment_delete_and_missing_cases(run: Run, tmp_path: Path) -> None:
    run("put", "shop", "users/1", "{}")
    run("attachment", "put", "shop", "users/1", "a", "-", input=b"abc")
    assert run("attachment", "delete", "shop", "users/1", "a").exit_code == 0
    assert json.loads(run("attachment", "list", "shop", "users/1", "--json").stdout) == []

    for command in (
        ["attachment", "delete", "shop", "users/1", "a"],
        ["attachment", "get", "shop", "users/1", "a"],
        ["attachment", "list", "shop", "users/404"],
    ):
        out = run(*command)
        assert out.exit_code == 1, command
        assert isinstance(out.exception, NotFound), command

    missing_doc = run("attachment", "put", "shop", "users/404", "a", "-", input=b"x")
    assert isinstance(missing_doc.exception, NotFound)
    assert "users/404" in str(missing_doc.exception)

    no_file = run("attachment", "put", "shop", "users/1", "a", str(tmp_path / "nope.bin"))
    assert no_file.exit_code == 1
    assert isinstance(no_file.exception, InvalidInput)
    assert "nope.bin" in str(no_file.exception)

    run("attachment", "put", "shop", "users/1", "kept", "-", input=b"abc")
    no_dir = run("attachment", "get", "shop", "users/1", "kept", "-o", str(tmp_path / "no/x.bin"))
    assert no_dir.exit_code == 1
    assert isinstance(no_dir.exception, InvalidInput)
    assert "no/x.bin" in str(no_dir.exception)

    failed_get = tmp_path / "never.bin"
    run("attachment", "get", "shop", "users/1", "a", "-o", str(failed_get))
    assert not failed_get.exists()
    assert not (tmp_path / "never.bin.part").exists()


@pytest.mark.parametrize(
    "command",
    [
        ["put"],
        ["get"],
        ["delete"],
        ["docs"],
        ["query"],
        ["attachment", "put"],
        ["attachment", "get"],
        ["attachment", "list"],
        ["attachment", "delete"],
    ],
)
def test_help_has_an_example(run: Run, command: list[str]) -> None:
    out = run(*command, "--help")
    assert out.exit_code == 0
    assert "Example: rookdb" in out.stdout


@pytest.mark.parametrize(
    ("doc_id", "problem"),
    [("", "must not be empty"), ("   ", "must not be empty"), ("x" * 513, "at most 512")],
)
def test_bad_document_ids_are_refused(run: Run, data_dir: Path, doc_id: str, problem: str) -> None:
    for command in (["put", "shop", doc_id, "{}"], ["get", "shop", doc_id]):
        out = run(*command)
        assert out.exit_code == 1, command
        assert isinstance(out.exception, InvalidInput)
        assert problem in str(out.exception)
    with rookdb.open(data_dir) as instance:
        assert instance.database("shop").last_etag == 0
