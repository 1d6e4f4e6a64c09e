"""Integers beyond 64 bits: a position or an etag is a 400 naming it; a query value compares.

SQLite keeps integers in 64 bits. A `start`, `since_etag` or expected etag
past that can never mean anything stored, so it is refused where it comes in
(not a 500 from deep in the driver, nor a change feed cut off mid-stream). A
query value is data compared with data: a huge number compares by value.
"""

from __future__ import annotations

import httpx
import pytest

import rookdb
from rookdb.errors import InvalidInput

HUGE = 10**23
TOO_BIG = 2**63  # one past the largest integer SQLite stores
LARGEST = 2**63 - 1
J = {"content-type": "application/json"}


def refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid-input" and body["field"] == field, body


@pytest.fixture
def shop(http: httpx.Client) -> httpx.Client:
    assert http.post("/databases", json={"name": "shop"}).status_code == 201
    for i, age in enumerate([3, 40, 2**62]):
        assert http.put(f"/databases/shop/docs/users/{i}", json={"age": age}).status_code == 200
    index = {"collection": "Users", "fields": ["age"]}
    assert http.put("/databases/shop/indexes/by-age", json=index).status_code == 200
    return http


@pytest.mark.parametrize("value", [HUGE, TOO_BIG])
def test_positions_and_etags_past_64_bits_are_400_naming_the_parameter(
    shop: httpx.Client, value: int
) -> None:
    http = shop
    refused(http.get("/databases/shop/docs", params={"start": value}), "start")
    refused(http.get("/databases/shop/docs", params={"page_size": value}), "page_size")
    refused(http.get("/databases/shop/changes", params={"since_etag": value}), "since_etag")
    query = f'{{"collection": "Users", "start": {value}}}'
    refused(http.post("/databases/shop/queries", content=query, headers=J), "start")
    query = f'{{"collection": "Users", "page_size": {value}}}'
    refused(http.post("/databases/shop/queries", content=query, headers=J), "page_size")
    put = http.put("/databases/shop/docs/users/0", params={"expected_etag": value}, json={})
    refused(put, "expected_etag")
    put = http.put("/databases/shop/docs/users/0", headers={"If-Match": f'"{value}"'}, json={})
    refused(put, "If-Match")
    batch = f'{{"operations": [{{"type": "delete", "id": "users/0", "expected_etag": {value}}}]}}'
    refused(
        http.post("/databases/shop/batch", content=batch, headers=J), "operations.0.expected_etag"
    )
    # Nothing changed.
    assert http.get("/databases/shop/docs/users/0").json()["age"] == 3


def test_the_largest_64_bit_values_are_served(shop: httpx.Client) -> None:
    http = shop
    assert http.get("/databases/shop/docs", params={"start": LARGEST}).json() == {"documents": []}
    changes = http.get("/databases/shop/changes", params={"since_etag": LARGEST})
    assert changes.status_code == 200 and changes.text == ""
    query = f'{{"collection": "Users", "start": {LARGEST}}}'
    answer = http.post("/databases/shop/queries", content=query, headers=J)
    assert answer.status_code == 200 and answer.json()["documents"] == []


@pytest.mark.parametrize(
    ("op", "value", "ids"),
    [
        ("<", HUGE, ["users/0", "users/1", "users/2"]),
        (">", -HUGE, ["users/0", "users/1", "users/2"]),
        (">", HUGE, []),
        ("==", HUGE, []),
        ("in", [HUGE, 40], ["users/1"]),
        (">=", 2**62, ["users/2"]),
    ],
)
def test_a_huge_query_value_compares_by_value(
    shop: httpx.Client, op: str, value: object, ids: list[str]
) -> None:
    where = f'[{{"field": "age", "op": "{op}", "value": {value}}}]'.replace("'", "")
    body = f'{{"collection": "Users", "where": {where}}}'
    answer = shop.post("/databases/shop/queries", content=body, headers=J)
    assert answer.status_code == 200, answer.text
    assert [d["@metadata"]["@id"] for d in answer.json()["documents"]] == ids


def test_a_number_past_the_float_range_is_no_json_number_we_read(shop: httpx.Client) -> None:
    # 10**400 overflows every float: the body is refused, as 1e400 is.
    body = (
        f'{{"collection": "Users", "where": [{{"field": "age", "op": "<", "value": {10**400}}}]}}'
    )
    refused(shop.post("/databases/shop/queries", content=body, headers=J), "body")


def test_studio_page_number_past_64_bits_is_not_a_500(shop: httpx.Client) -> None:
    page = shop.get("/studio/databases/shop", params={"page": HUGE})
    assert page.status_code == 400, page.status_code
    assert "start" in page.text


def test_embedded_api_refuses_the_same_values(db: rookdb.Database) -> None:
    db.put("users/1", {"age": 3})
    db.create_index("by-age", "Users", ["age"])
    for call, field in [
        (lambda: db.list_documents(start=HUGE), "start"),
        (lambda: db.changes(HUGE), "since_etag"),
        (lambda: db.query("Users", start=HUGE), "start"),
        (lambda: db.set_identity("users", HUGE), "value"),
    ]:
        with pytest.raises(InvalidInput) as error:
            call()
        assert error.value.field == field
    assert db.query("Users", [("age", "<", HUGE)]).total == 1
    with pytest.raises(InvalidInput, match="NaN"):
        db.query("Users", [("age", "<", float("nan"))])


@pytest.mark.parametrize("etag", ['"²"', '"' + "1" * 5000 + '"', 'W/"-1"'])
def test_if_match_that_is_no_etag_is_400(shop: httpx.Client, etag: str) -> None:
    header = {"If-Match": etag.encode("latin-1")}
    refused(shop.put("/databases/shop/docs/users/0", headers=header, json={}), "If-Match")


def test_thousands_of_digits_are_400_not_500(shop: httpx.Client) -> None:
    digits = "9" * 5000
    refused(shop.get("/databases/shop/docs", params={"start": digits}), "start")
    refused(shop.get("/databases/shop/changes", params={"since_etag": digits}), "since_etag")
    body = f'{{"collection": "Users", "where": [{{"field": "age", "op": "<", "value": {digits}}}]}}'
    answer = shop.post("/databases/shop/queries", content=body, headers=J)
    assert answer.status_code in (200, 400), answer.text
