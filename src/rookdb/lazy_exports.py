"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A package's ``__init__`` names what it exports and which submodule each name
lives in; a name is imported the first time it is asked for
(``from rookdb.storage import Database`` or ``rookdb.storage.Database``) and
then kept on the package. So importing one submodule never runs its siblings,
no package is part of an import cycle through its own ``__init__``, and the
CLI starts without loading layers a command does not use.

Each package imports the same names under ``if TYPE_CHECKING:`` and installs
the ``__getattr__`` in the ``else:`` branch: mypy and editors see the real
names (and a misspelt one is an error, which a visible module ``__getattr__``
would hide); ``tests/test_import_layers.py`` checks that both lists agree.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence


def lazy_exports(package: str, origins: Mapping[str, Sequence[str]]) -> Callable[[str], object]:
    """A module ``__getattr__`` for `package` giving each name in ``origins[submodule]``."""
    where = {name: f"{package}.{module}" for module, names in origins.items() for name in names}

    def __getattr__(name: str) -> object:
        module = where.get(name)
        if module is None:
            # Also how `from package import submodule` learns to import the submodule.
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
