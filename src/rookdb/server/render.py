"""How the HTTP API writes JSON: orjson bodies, documents with `@metadata`, etag headers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from fastapi import Response

from rookdb.errors import InvalidInput
from rookdb.storage.model import MAX_INTEGER


class JSONBody(Response):
    """A JSON response encoded with orjson (fast, and strict about non-JSON values)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def json_response(
    value: Any, status_code: int = 200, headers: Mapping[str, str] | None = None
) -> JSONBody:
    """A JSON response with the given status and headers."""
    return JSONBody(value, status_code=status_code, headers=headers)


def etag_header(etag: int) -> str:
    """An etag as an HTTP entity tag: the number in double quotes."""
    return f'"{etag}"'


def parse_etag(value: str, header: str) -> int:
    """The etag number in an `If-Match` value: `"42"`, `W/"42"` or a bare `42`."""
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    # isdigit() alone also takes '²', which int() refuses; int() refuses thousands of
    # digits too: check the length before converting.
    digits = text.isascii() and text.isdigit() and len(text) <= len(str(MAX_INTEGER))
    if not digits or int(text) > MAX_INTEGER:
        raise InvalidInput(
            f'{header} must be a document etag such as "42", not {value!r}', field=header
        )
    return int(text)


def expected_etag(
    if_match: str | None, if_none_match: str | None, query_value: int | None
) -> int | None:
    """The expected etag: `If-Match`, `If-None-Match: *` (must not exist) or `?expected_etag=`."""
    candidates: list[int] = []
    if if_match is not None:
        candidates.append(parse_etag(if_match, "If-Match"))
    if if_none_match is not None:
        if if_none_match.strip() != "*":
            raise InvalidInput(
                "If-None-Match only supports '*' (the document must not exist yet)",
                field="If-None-Match",
            )
        candidates.append(0)
    if query_value is not None:
        candidates.append(query_value)
    if len(set(candidates)) > 1:
        raise InvalidInput(
            "If-Match, If-None-Match and expected_etag disagree; send only one",
            field="expected_etag",
        )
    return candidates[0] if candidates else None
