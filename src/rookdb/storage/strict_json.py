"""Strict JSON for documents that arrive as text (the HTTP API, bulk inserts).

Python's json module takes `NaN`, `Infinity` and `-Infinity` (JSON has none:
a document `{"a": NaN}` was stored as null), lone surrogate escapes, and
`1e400` as infinity. orjson refuses all of them, but turns an integer past
64 bits into a float, silently changing it; so a text holding a long run of
digits is read again by the json module, for exact integers, once orjson has
vouched for the rest. (Storage then refuses integers it cannot keep.)
"""

from __future__ import annotations

import json
from typing import Any

import orjson

# Any integer orjson would turn into a float has at least 19 digits. Found by turning
# every digit into "0" and looking for 19 of them in a row: two C loops over the bytes,
# where a regular expression took ~40 us per kilobyte.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19


def parse_json(text: bytes) -> Any:
    """A JSON text as Python values; `json.JSONDecodeError` when it is not strict JSON."""
    value = orjson.loads(text)
    if _LONG_NUMBER in text.translate(_DIGITS_TO_ZERO):
        return json.loads(text)
    return value
