"""Documents over HTTP against a real uvicorn server: CRUD, concurrency, bad input, batches."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from rookdb import Instance
from rookdb.server import ServerThread

J = {"content-type": "application/json"}


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    """The response is a JSON error with this status and code, and no traceback."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body


@pytest.fixture
def shop(http: httpx.Client) -> str:
    assert http.post("/databases", json={"name": "shop"}).status_code == 201
    return "/databases/shop"


def test_health_and_openapi(http: httpx.Client) -> None:
    assert http.get("/health").json() == {"status": "ok"}
    spec = http.get("/openapi.json").json()
    assert spec["info"]["title"] == "rookdb"
    for path in (
        "/databases",
        "/databases/{db}/docs/{doc_id}",
        "/databases/{db}/attachments",
        "/databases/{db}/queries",
        "/databases/{db}/changes",
        "/databases/{db}/batch",
    ):
        assert path in spec["paths"], path
    assert "swagger" in http.get("/docs").text.lower()


def test_databases_create_list_show_delete(http: httpx.Client, instance: Instance) -> None:
    created = http.post("/databases", json={"name": "shop"})
    assert created.status_code == 201
    assert created.json()["name"] == "shop" and created.json()["documents"] == 0
    assert [d["name"] for d in http.get("/databases").json()["databases"]] == ["shop"]
    assert http.get("/databases/shop").json()["last_etag"] == 0
    assert_error(http.post("/databases", json={"name": "shop"}), 409, "already-exists")
    assert http.delete("/databases/shop").json()["deleted"] is True
    assert instance.database_names() == []
    assert_error(http.get("/databases/shop"), 404, "not-found")
    assert_error(http.delete("/databases/shop"), 404, "not-found")


def test_database_name_with_path_characters_is_refused(
    http: httpx.Client, instance: Instance
) -> None:
    body = assert_error(http.post("/databases", json={"name": "../x"}), 400, "invalid-input")
    assert body["field"] == "name"
    assert_error(http.post("/databases", json={"name": 5}), 400, "invalid-input")
    assert_error(http.post("/databases", json={}), 400, "invalid-input")
    assert instance.database_names() == []
    assert not (instance.data_dir.parent / "x.rookdb").exists()


def test_put_get_delete_document(http: httpx.Client, shop: str) -> None:
    put = http.put(f"{shop}/docs/users/1", json={"name": "Ann", "age": 31})
    assert put.status_code == 200
    result = put.json()
    assert result["id"] == "users/1" and result["etag"] == 1
    assert put.headers["etag"] == '"1"'

    got = http.get(f"{shop}/docs/USERS/1")  # ids are case-insensitive
    assert got.status_code == 200
    assert got.headers["etag"] == '"1"'
    doc = got.json()
    assert doc["name"] == "Ann" and doc["age"] == 31
    meta = doc["@metadata"]
    assert meta["@id"] == "users/1" and meta["@collection"] == "Users" and meta["@etag"] == 1
    assert meta["@change-vector"] and meta["@last-modified"].endswith("Z")

    assert http.delete(f"{shop}/docs/users/1").json() == {"id": "users/1", "deleted": True}
    assert http.delete(f"{shop}/docs/users/1").json()["deleted"] is False
    missing = assert_error(http.get(f"{shop}/docs/users/1"), 404, "not-found")
    assert "users/1" in str(missing["message"])


def test_ids_with_special_characters_round_trip(http: httpx.Client, shop: str) -> None:
    for doc_id in ("orders/2026/11/a b", "weird?id#x", "per%cent", "ünïcode/1"):
        encoded = quote(doc_id, safe="/")
        put = http.put(f"{shop}/docs/{encoded}", json={"v": doc_id})
        assert put.status_code == 200, (doc_id, put.text)
        assert put.json()["id"] == doc_id
        assert http.get(f"{shop}/docs/{encoded}").json()["v"] == doc_id


def test_list_get_many_collections_identities(http: httpx.Client, shop: str) -> None:
    for i in range(5):
        http.put(f"{shop}/docs/users/{i}", json={"n": i})
    http.put(f"{shop}/docs/orders/1", json={"total": 3})
    assert http.put(f"{shop}/docs/people|", json={"n": 99}).json()["id"] == "people/1"
    page = http.get(f"{shop}/docs", params={"collection": "Users", "start": 1, "page_size": 2})
    assert [d["@metadata"]["@id"] for d in page.json()["documents"]] == ["users/1", "users/2"]
    many = http.post(f"{shop}/docs/get", json={"ids": ["users/3", "nope/1", "orders/1"]})
    results = many.json()["results"]
    assert results[0]["n"] == 3 and results[1] is None and results[2]["total"] == 3
    assert http.get(f"{shop}/collections").json()["collections"] == {
        "Orders": 1,
        "People": 1,
        "Users": 5,
    }
    assert http.get(f"{shop}/identities").json()["identities"] == {"people": 1}
    assert_error(http.get(f"{shop}/docs", params={"page_size": 0}), 400, "invalid-input")


def test_optimistic_concurrency(http: httpx.Client, shop: str, instance: Instance) -> None:
    etag = http.put(f"{shop}/docs/users/1", json={"v": 1}).json()["etag"]
    stale = http.put(f"{shop}/docs/users/1", json={"v": 2}, headers={"If-Match": '"999"'})
    body = assert_error(stale, 409, "concurrency-conflict")
    assert "999" in str(body["message"])
    stale_q = http.put(f"{shop}/docs/users/1", json={"v": 2}, params={"expected_etag": 998})
    assert_error(stale_q, 409, "concurrency-conflict")
    create_only = http.put(f"{shop}/docs/users/1", json={"v": 2}, headers={"If-None-Match": "*"})
    assert_error(create_only, 409, "concurrency-conflict")
    assert instance.database("shop").get("users/1").body == {"v": 1}  # nothing written
    ok = http.put(f"{shop}/docs/users/1", json={"v": 2}, headers={"If-Match": f'"{etag}"'})
    assert ok.status_code == 200
    stale_delete = http.delete(f"{shop}/docs/users/1", headers={"If-Match": f'"{etag}"'})
    assert_error(stale_delete, 409, "concurrency-conflict")
    assert_error(
        http.put(f"{shop}/docs/users/1", json={}, headers={"If-Match": "yesterday"}),
        400,
        "invalid-input",
    )


@pytest.mark.parametrize(
    ("path", "content", "field"),
    [
        ("users/1", b'{"name": ', "body"),  # invalid JSON
        ("users/1", b"[1, 2]", "body"),  # not an object
        ("users/1", b"", "body"),  # no body
        ("", b"{}", "id"),  # empty id
        ("x" * 600, b"{}", "id"),  # over-long id
    ],
)
def test_bad_document_input_is_400_and_writes_nothing(
    http: httpx.Client, shop: str, instance: Instance, path: str, content: bytes, field: str
) -> None:
    response = http.put(f"{shop}/docs/{path}", content=content, headers=J)
    body = assert_error(response, 400, "invalid-input")
    assert body["field"] == field
    assert instance.database("shop").last_etag == 0


def test_unknown_database_and_endpoint(http: httpx.Client) -> None:
    body = assert_error(http.get("/databases/nope/docs/users/1"), 404, "not-found")
    assert "nope" in str(body["message"])
    assert_error(http.put("/databases/nope/docs/users/1", json={}), 404, "not-found")
    assert_error(http.get("/no/such/endpoint"), 404, "not-found")
    assert_error(http.patch("/databases"), 405, "method-not-allowed")
    assert_error(http.get("/databases/..%2Fx/docs/a"), 404, "not-found")


def test_batch_is_atomic(http: httpx.Client, shop: str, instance: Instance) -> None:
    http.put(f"{shop}/docs/users/1", json={"v": 1})
    failing = http.post(
        f"{shop}/batch",
        json={
            "operations": [
                {"type": "put", "id": "users/2", "body": {"v": 2}},
                {"type": "delete", "id": "users/1"},
                {"type": "put", "id": "users/3", "body": {"v": 3}, "expected_etag": 77},
            ]
        },
    )
    assert_error(failing, 409, "concurrency-conflict")
    db = instance.database("shop")
    assert db.get("users/2") is None and db.get("users/1") is not None
    assert db.last_etag == 1

    ok = http.post(
        f"{shop}/batch",
        json={
            "operations": [
                {"type": "put", "id": "users/2", "body": {"v": 2}},
                {"type": "delete", "id": "users/1"},
            ]
        },
    )
    assert ok.status_code == 200
    results = ok.json()["results"]
    assert results[0] == {"type": "put", "id": "users/2", "etag": 2, "deleted": False}
    assert results[1]["deleted"] is True
    assert db.get("users/1") is None

    bad = http.post(f"{shop}/batch", json={"operations": [{"type": "upsert", "id": "a"}]})
    assert assert_error(bad, 400, "invalid-input")["field"] == "operations.0.type"


def test_indexes_and_queries(http: httpx.Client, shop: str) -> None:
    for i in range(10):
        http.put(
            f"{shop}/docs/users/{i}", json={"age": 20 + i, "city": "Oslo" if i % 2 else "Rome"}
        )
    unindexed = http.post(
        f"{shop}/queries",
        json={"collection": "Users", "where": [{"field": "age", "op": ">", "value": 25}]},
    )
    assert "age" in str(assert_error(unindexed, 400, "invalid-input")["message"])
    index = http.put(
        f"{shop}/indexes/users-by-age", json={"collection": "Users", "fields": ["age"]}
    )
    assert index.json()["fields"] == ["age"]
    assert http.get(f"{shop}/indexes/users-by-age").json()["collection"] == "Users"
    assert [i["name"] for i in http.get(f"{shop}/indexes").json()["indexes"]] == ["users-by-age"]
    result = http.post(
        f"{shop}/queries",
        json={
            "collection": "Users",
            "where": [{"field": "age", "op": ">=", "value": 25}],
            "order_by": "-age",
            "page_size": 3,
        },
    ).json()
    assert result["total"] == 5
    assert [d["age"] for d in result["documents"]] == [29, 28, 27]
    bad_op = http.post(
        f"{shop}/queries",
        json={"collection": "Users", "where": [{"field": "age", "op": "~", "value": 1}]},
    )
    assert_error(bad_op, 400, "invalid-input")
    assert http.delete(f"{shop}/indexes/users-by-age").json()["deleted"] is True
    assert http.delete(f"{shop}/indexes/users-by-age").json()["deleted"] is False
    assert_error(http.get(f"{shop}/indexes/users-by-age"), 404, "not-found")


def test_json_body_limit_is_413(instance: Instance) -> None:
    instance.create_database("shop")
    with ServerThread(instance, max_json_body=1024) as server, httpx.Client() as http:
        big = {"blob": "x" * 2000}
        response = http.put(f"{server.url}/databases/shop/docs/a/1", json=big)
        assert_error(response, 413, "payload-too-large")

        def chunked() -> object:
            yield b'{"blob": "'
            for _ in range(10):
                yield b"y" * 500
            yield b'"}'

        streamed = http.put(f"{server.url}/databases/shop/docs/a/2", content=chunked(), headers=J)
        assert_error(streamed, 413, "payload-too-large")
        assert instance.database("shop").last_etag == 0


def test_unexpected_error_is_500_without_details(
    live_server: ServerThread, http: httpx.Client
) -> None:
    def explode() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    live_server.app.add_api_route("/explode", explode)
    response = http.get("/explode")
    body = assert_error(response, 500, "internal-error")
    assert "secret" not in response.text and "RuntimeError" not in str(body)
