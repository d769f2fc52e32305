"""Names a package exports but imports on first use: what a program never touches costs it no
memory (issue 15: the read models' query language and planner are ~0.3 MiB a unit of work
reading by id never needs)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping

__all__ = ["lazy_names"]


def lazy_names(package: str, modules: Mapping[str, str]) -> Callable[[str], object]:
    """The ``__getattr__`` of ``package`` that imports each name of ``modules`` (a name to the
    module defining it) when it is first looked up, and keeps it there.

    ``__getattr__ = lazy_names(__name__, {"ReadQuery": "andamios.domain._query"})``; a type
    checker and the documentation see the names through an ``if TYPE_CHECKING:`` import.
    """

    def __getattr__(name: str) -> object:  # noqa: N807 - a module's own hook
        module = modules.get(name)
        if module is None:
            msg = f"module {package!r} has no attribute {name!r}"
            raise AttributeError(msg)
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
