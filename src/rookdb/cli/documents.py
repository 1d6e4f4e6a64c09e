"""CLI commands for documents: put, get, delete, docs and query."""

from __future__ import annotations

import re
import sys
from typing import Annotated, Any

import orjson
import typer

from rookdb.cli import context
from rookdb.cli.context import open_database
from rookdb.cli.options import DatabaseArg, JsonFlag
from rookdb.cli.output import as_json, console, say
from rookdb.errors import InvalidInput, NotFound

# Two-character operators first so that `age>=30` is not read as `age>` `=30`.
_CONDITION = re.compile(
    r"^\s*(?P<field>[A-Za-z_][A-Za-z0-9_.]*)\s*(?P<op>==|!=|<=|>=|=|<|>|\s+in\s+)\s*(?P<value>.*?)\s*$"
)
_PREVIEW_CHARS = 60

Start = Annotated[int, typer.Option("--start", min=0, help="Skip this many results.")]
PageSize = Annotated[
    int, typer.Option("--page-size", min=1, max=10_000, help="Return at most this many.")
]


def parse_condition(text: str) -> tuple[str, str, Any]:
    """`field op value` as a query condition; the value is JSON when it parses, else a string."""
    match = _CONDITION.match(text)
    if match is None:
        raise typer.BadParameter(
            f"{text!r} is not a condition: write FIELD OP VALUE, "
            "with OP one of = == != < <= > >= in (e.g. 'age>=30', 'name=Ann')",
            param_hint="--where",
        )
    op = match["op"].strip()
    raw = match["value"]
    if raw[:1] in ("=", "<", ">", "!"):
        # Most likely a mistyped operator such as `age=>30`; quoted JSON says "I mean the text".
        raise typer.BadParameter(
            f"{text!r}: the value starts with an operator character; "
            f"write it as a JSON string if you mean the text (e.g. '{match['field']}=\"{raw}\"')",
            param_hint="--where",
        )
    try:
        value: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = raw
    if op == "in" and not isinstance(value, list):
        raise typer.BadParameter(
            f"{text!r}: 'in' needs a JSON list, e.g. 'status in [\"new\", \"paid\"]'",
            param_hint="--where",
        )
    return match["field"], "==" if op == "=" else op, value


def parse_document(doc_id: str, text: str) -> dict[str, Any]:
    """A document body from JSON text; InvalidInput says what is wrong with it."""
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(
            f"document {doc_id!r} is not valid JSON: {exc}; nothing was written", field="body"
        ) from exc
    if not isinstance(body, dict):
        raise InvalidInput(
            f'document {doc_id!r} must be a JSON object such as {{"name": "Ann"}}, '
            f"not a {type(body).__name__}; nothing was written",
            field="body",
        )
    return body


def _preview(document: dict[str, Any]) -> str:
    body = {k: v for k, v in document.items() if k != "@metadata"}
    text = orjson.dumps(body).decode()
    return text if len(text) <= _PREVIEW_CHARS else text[: _PREVIEW_CHARS - 1] + "…"


def _print_documents(documents: list[dict[str, Any]], footer: str | None) -> None:
    from rich.table import Table  # only listings draw tables: `get` starts without rich

    table = Table("id", "collection", "etag", "body", caption=footer)
    for doc in documents:
        meta = doc["@metadata"]
        table.add_row(meta["@id"], meta["@collection"], str(meta["@etag"]), _preview(doc))
    console().print(table)


# -- documents ---------------------------------------------------------------------
def put(
    ctx: typer.Context,
    database: DatabaseArg,
    doc_id: Annotated[
        str, typer.Argument(metavar="ID", help="Document id; 'users|' takes the next identity.")
    ],
    body: Annotated[
        str, typer.Argument(metavar="JSON", help="The document as JSON, or - for stdin.")
    ],
    expected_etag: Annotated[
        int | None,
        typer.Option(
            "--expected-etag", help="Only write if the stored etag is this (0: must not exist)."
        ),
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Create or replace a document; prints its id and new etag.

    Example: rookdb put shop users/1 '{"name": "Ann", "age": 31}'

    From stdin, with the next identity: echo '{"name": "Bob"}' | rookdb put shop 'users|' -
    """
    text = sys.stdin.read() if body == "-" else body
    document = parse_document(doc_id, text)
    with open_database(ctx, database) as db:
        result = as_json(db.put(doc_id, document, expected_etag=expected_etag))
    if json:
        context.print_json(result)
    else:
        typer.echo(f"{result['id']} etag {result['etag']}")


def get(
    ctx: typer.Context,
    database: DatabaseArg,
    doc_id: Annotated[str, typer.Argument(metavar="ID")],
) -> None:
    """Print a document as JSON, `@metadata` included; exit 1 when it does not exist.

    Example: rookdb get shop users/1
    """
    with open_database(ctx, database) as db:
        document = db.get(doc_id)
    if document is None:
        raise NotFound(f"document {doc_id!r} does not exist")
    context.print_json(as_json(document))


def delete(
    ctx: typer.Context,
    database: DatabaseArg,
    doc_id: Annotated[str, typer.Argument(metavar="ID")],
    expected_etag: Annotated[
        int | None, typer.Option("--expected-etag", help="Only delete if the stored etag is this.")
    ] = None,
) -> None:
    """Delete a document and its attachments (a tombstone remains for backups).

    Example: rookdb delete shop users/1
    """
    with open_database(ctx, database) as db:
        if not db.delete(doc_id, expected_etag=expected_etag):
            raise NotFound(f"document {doc_id!r} does not exist")
    say(ctx, f"deleted {doc_id}")


def docs(
    ctx: typer.Context,
    database: DatabaseArg,
    collection: Annotated[
        str | None, typer.Option("--collection", "-c", help="Only this collection.")
    ] = None,
    start: Start = 0,
    page_size: PageSize = 100,
    json: JsonFlag = False,
) -> None:
    """List documents, optionally of one collection, in pages.

    Example: rookdb docs shop --collection Users --page-size 20
    """
    with open_database(ctx, database) as db:
        documents = [
            as_json(d) for d in db.list_documents(collection, start=start, page_size=page_size)
        ]
    if json:
        context.print_json(documents)
    else:
        plural = "" if len(documents) == 1 else "s"
        _print_documents(documents, f"{len(documents)} document{plural} from #{start}")


def query(
    ctx: typer.Context,
    database: DatabaseArg,
    collection: str,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            "-w",
            help="A condition on an indexed field, e.g. 'age>=30'; repeat to AND them.",
        ),
    ] = None,
    index: Annotated[
        str | None, typer.Option("--index", help="Use this index (default: any that fits).")
    ] = None,
    start: Start = 0,
    page_size: PageSize = 100,
    order_by: Annotated[
        str | None,
        typer.Option("--order-by", help="An indexed field; prefix with - for descending."),
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Query a collection by conditions on indexed fields.

    Values are JSON when they parse (30, true, null, "30"), else plain strings.

    Example: rookdb query shop Users --where 'age>=30' --where 'city=Oslo' --order-by -age
    """
    conditions = [parse_condition(text) for text in where or []]
    with open_database(ctx, database) as db:
        result = db.query(
            collection,
            conditions,
            start=start,
            page_size=page_size,
            index=index,
            order_by=order_by,
        )
    documents = [as_json(d) for d in _field(result, "documents")]
    total = _field(result, "total")
    if json:
        context.print_json(
            {"total": total, "index": _field(result, "index"), "documents": documents}
        )
    else:
        _print_documents(documents, f"{len(documents)} of {total} from #{start}")


def _field(result: Any, name: str) -> Any:
    # Embedded queries return a QueryResult, remote ones may return its JSON.
    return result[name] if isinstance(result, dict) else getattr(result, name)


def register(app: typer.Typer) -> None:
    """Add put, get, delete, docs and query to the root app."""
    app.command("put")(put)
    app.command("get")(get)
    app.command("delete")(delete)
    app.command("docs")(docs)
    app.command("query")(query)
