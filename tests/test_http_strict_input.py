"""Input that used to be stored as something else is refused: bytes that are not UTF-8 in a
URL (two ids became the same U+FFFD id) and NaN or Infinity in a JSON body (stored as null)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

import rookdb
from rookdb import Instance
from rookdb.errors import InvalidInput
from rookdb.server import create_app
from rookdb.server.json_body import StrictJsonRoute

J = {"content-type": "application/json"}


def refused(response: httpx.Response, field: str | None = None) -> dict[str, object]:
    assert response.status_code == 400, (response.status_code, response.text)
    body = response.json()
    assert body["error"] == "invalid-input", body
    if field is not None:
        assert body.get("field") == field, body
    return dict(body)


@pytest.fixture
def shop(http: httpx.Client) -> httpx.Client:
    assert http.post("/databases", json={"name": "shop"}).status_code == 201
    assert http.put("/databases/shop/docs/users/1", json={"a": 1}).status_code == 200
    return http


def test_ids_and_names_that_are_not_utf8_are_refused(shop: httpx.Client) -> None:
    http = shop
    for path in ("x%FF", "x%FE", "users/%C3", "%ED%A0%80"):  # %ED%A0%80: an encoded surrogate
        body = refused(http.put(f"/databases/shop/docs/{path}", json={"n": 1}), "path")
        assert "UTF-8" in str(body["message"])
        refused(http.get(f"/databases/shop/docs/{path}"), "path")
    index = {"collection": "Users", "fields": ["a"]}
    refused(http.put("/databases/shop/indexes/by%FF", json=index), "path")
    url = "/databases/shop/attachments"
    refused(http.put(f"{url}?id=users/1&name=x%FF", content=b"x"), "name")
    refused(http.put(f"{url}?id=x%FE&name=a", content=b"x"), "id")
    refused(http.get(f"{url}/list?id=users%2F1%FF"), "id")
    # Nothing was stored under U+FFFD.
    assert [
        d["@metadata"]["@id"] for d in http.get("/databases/shop/docs").json()["documents"]
    ] == ["users/1"]
    assert http.get("/databases/shop/indexes").json() == {"indexes": []}
    assert http.get(f"{url}/list", params={"id": "users/1"}).json() == {"attachments": []}


def test_utf8_ids_and_names_still_work(shop: httpx.Client) -> None:
    http = shop
    assert http.put("/databases/shop/docs/caf%C3%A9", json={"n": 1}).json()["id"] == "café"
    # U+FFFD itself, sent as the UTF-8 it is, is an ordinary character.
    assert http.put("/databases/shop/docs/x%EF%BF%BD", json={"n": 2}).json()["id"] == "x\ufffd"
    assert http.get("/databases/shop/docs/caf%C3%A9").json()["n"] == 1
    put = http.put(
        "/databases/shop/attachments", params={"id": "café", "name": "naïve.txt"}, content=b"x"
    )
    assert put.status_code == 201 and put.json()["name"] == "naïve.txt"
    listed = http.get("/databases/shop/docs", params={"collection": "@empty", "page_size": "5"})
    assert listed.status_code == 200


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"])
def test_nan_and_infinity_in_a_document_are_refused(shop: httpx.Client, value: str) -> None:
    body = refused(
        shop.put("/databases/shop/docs/users/2", content=f'{{"a": {value}}}', headers=J), "body"
    )
    assert "JSON" in str(body["message"])
    batch = f'{{"operations": [{{"type": "put", "id": "users/3", "body": {{"a": {value}}}}}]}}'
    refused(shop.post("/databases/shop/batch", content=batch, headers=J), "body")
    assert shop.get("/databases/shop/docs/users/2").status_code == 404
    assert shop.get("/databases/shop/docs/users/3").status_code == 404


def test_other_json_that_is_not_json_is_refused(shop: httpx.Client) -> None:
    for text in (b'{"a": "\\ud800"}', b'{"a": "\xff"}'):  # a lone surrogate, a byte not UTF-8
        refused(shop.put("/databases/shop/docs/users/2", content=text, headers=J), "body")
    # Integers keep every digit (no float in between): one past 64 bits is refused, not rounded.
    big = shop.put("/databases/shop/docs/users/2", content=b'{"a": 100000000000000000001}')
    refused(big, "body")
    exact = shop.put("/databases/shop/docs/users/2", content=b'{"a": 18446744073709551615}')
    assert exact.status_code == 200
    assert shop.get("/databases/shop/docs/users/2").json()["a"] == 18446744073709551615
    string = shop.put("/databases/shop/docs/users/4", json={"id": "1" * 40, "n": 12345678901})
    assert string.status_code == 200
    assert shop.get("/databases/shop/docs/users/4").json()["id"] == "1" * 40


def _api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        inner = getattr(route, "original_router", None)  # FastAPI keeps included routers whole
        if inner is not None:
            yield from _api_routes(inner.routes)
        elif isinstance(route, APIRoute):
            yield route


def _json_body_routes(instance: Instance) -> list[APIRoute]:
    app = create_app(instance, services=[])
    return [route for route in _api_routes(app.routes) if route.body_field is not None]


def test_every_json_body_route_uses_the_strict_parser(instance: Instance) -> None:
    routes = _json_body_routes(instance)
    assert len(routes) >= 10
    assert [r.path for r in routes if not isinstance(r, StrictJsonRoute)] == []


def test_every_json_body_route_refuses_nan(shop: httpx.Client, instance: Instance) -> None:
    for route in _json_body_routes(instance):
        path = re.sub(r"\{db\}", "shop", route.path)
        path = re.sub(r"\{[a-z_]+(:path)?\}", "x", path)
        for method in route.methods:
            response = shop.request(method, path, content=b'{"a": NaN}', headers=J)
            body = refused(response, "body")
            assert "JSON" in str(body["message"]), (method, path, body)


@pytest.mark.parametrize("number", [float("nan"), float("inf"), -float("inf")])
def test_the_embedded_api_refuses_nan_and_infinity_too(db: rookdb.Database, number: float) -> None:
    # orjson would write them as null: the document would come back changed.
    for body in ({"a": number}, {"a": [1, {"b": number}]}, {"ok": None, "deep": [[number]]}):
        with pytest.raises(InvalidInput, match="NaN or Infinity") as refused:
            db.put("users/1", body)
        assert refused.value.field == "body"
        with pytest.raises(InvalidInput, match="NaN or Infinity"):
            db.bulk_insert([("users/2", body)])
    assert db.count() == 0
    assert db.put("users/3", {"a": None, "b": 1.5}).etag == 1
