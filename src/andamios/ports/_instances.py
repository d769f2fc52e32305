"""How adapters build an aggregate without calling its ``__init__`` (as when loading it).

An adapter that instruments classes (SQLAlchemy's imperative mapping does) needs instances
to be born with its bookkeeping attached, or setting a field fails. It registers a blank-instance
factory here, and every other adapter (the in-memory one, in the same process) uses it, so one
domain class can be mapped to DuckDB and still be stored in memory by tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

__all__ = ["new_blank", "register_blank_factory", "unregister_blank_factory"]

_factories: dict[type, Callable[[], Any]] = {}


def register_blank_factory(cls: type, factory: Callable[[], Any]) -> None:
    """Make :func:`new_blank` build ``cls`` instances with ``factory``."""
    _factories[cls] = factory


def unregister_blank_factory(cls: type) -> None:
    """Forget the factory of ``cls`` (when its mapping is cleared)."""
    _factories.pop(cls, None)


def new_blank[T](cls: type[T]) -> T:
    """An instance of ``cls`` whose ``__init__`` did not run, ready for its fields to be set."""
    factory = _factories.get(cls)
    return cast("T", factory()) if factory is not None else cls.__new__(cls)
