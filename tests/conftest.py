"""Shared fixtures: a fresh data dir and instance per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import rookdb
from rookdb import Instance


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    inst = rookdb.open(tmp_path / "data")
    yield inst
    inst.close()


@pytest.fixture
def db(instance: Instance) -> rookdb.Database:
    return instance.create_database("shop")
