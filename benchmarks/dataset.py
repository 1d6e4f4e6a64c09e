"""The benchmark data set: ~1 KB documents of varied text, the same for every system.

Bodies are drawn from a seeded generator so rookdb, PostgreSQL and the sqlite3
baseline back up exactly the same bytes, and the text compresses about as
much as real prose does (a run of one repeated character would flatter every
compressor and hide the cost of compression).
"""

from __future__ import annotations

import random

CITIES = ["Oslo", "Lyon", "Porto", "Turku", "Gdansk", "Ghent", "Bergen", "Kraków", "Leeds", "Cork"]


def _vocabulary(size: int = 2_000) -> list[str]:
    rng = random.Random(20261123)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choices(letters, k=rng.randint(3, 10))) for _ in range(size)]


WORDS = _vocabulary()


def document(i: int) -> dict[str, object]:
    """Document number `i`: about 1 KB of JSON."""
    rng = random.Random(i)
    return {
        "name": f"user {i}",
        "age": i % 90,
        "city": CITIES[i % len(CITIES)],
        "score": rng.random(),
        "bio": " ".join(rng.choices(WORDS, k=130)),
    }


def attachment(i: int, size: int = 10_240) -> bytes:
    """Attachment bytes that do not compress, like the photos they stand for."""
    return random.Random(-i - 1).randbytes(size)
