"""The committed state that the in-memory units of work of one factory share."""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from andamios.adapters.memory._pool import POOL_SIZE, POOL_TIMEOUT, TransactionPool
from andamios.adapters.memory._unique import UniqueIndex
from andamios.domain import AggregateRoot
from andamios.ports.spi import aggregate_fields, new_blank

__all__ = ["InMemoryStore", "StoredRow", "capture_state", "copy_value", "live_state", "structural"]

type Tables = Mapping[type[AggregateRoot[Any]], Mapping[object, StoredRow]]


@dataclass(frozen=True, slots=True)
class StoredRow:
    """One committed aggregate: its version and a private deep copy of its fields."""

    version: int
    state: Mapping[str, object]


def copy_value(value: object) -> object:
    """A deep copy of a field's value that copies dataclasses (child entities) field by field.

    A child entity of a class another adapter instruments (SQLAlchemy) carries that adapter's
    bookkeeping (``_sa_instance_state``), which ``copy.deepcopy`` would copy along with it: the
    copy is built blank (:func:`~andamios.ports._instances.new_blank`) and gets the fields only.
    Lists (also instrumented ones) are copied as plain lists.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        twin = new_blank(type(value))
        for each in dataclasses.fields(value):
            object.__setattr__(twin, each.name, copy_value(getattr(value, each.name)))
        return twin
    if isinstance(value, list):
        return [copy_value(item) for item in value]
    try:
        return copy.deepcopy(value)
    except (TypeError, copy.Error):
        # Not copyable (a memoryview, a lock): kept as it is; the commit's value check refuses
        # what no adapter can store, with the same DataError as DuckDB's.
        return value


def live_state(aggregate: AggregateRoot[Any]) -> dict[str, object]:
    """An aggregate's dataclass fields except ``version``, as they are (not copied)."""
    return {
        name: getattr(aggregate, name)
        for name in aggregate_fields(type(aggregate))
        if name != "version"
    }


def capture_state(aggregate: AggregateRoot[Any]) -> dict[str, object]:
    """A deep copy of an aggregate's dataclass fields except ``version`` (no aliasing)."""
    return {name: copy_value(value) for name, value in live_state(aggregate).items()}


def structural(value: object) -> object:
    """A comparable form of a value that ignores custom ``__eq__`` (entities compare by id).

    Dirty checking needs it: a child entity whose fields changed still equals its old self.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value),
            tuple(structural(getattr(value, f.name)) for f in dataclasses.fields(value)),
        )
    if isinstance(value, list):
        # Any list as a list: a copy is a plain list (copy_value), the live value may be
        # another adapter's instrumented one.
        return (list, tuple(structural(item) for item in value))
    if isinstance(value, tuple):
        return (type(value), tuple(structural(item) for item in value))
    if isinstance(value, dict):
        return (dict, tuple((key, structural(item)) for key, item in value.items()))
    if isinstance(value, (set, frozenset)):
        return (type(value), frozenset(structural(item) for item in value))
    return value


class InMemoryStore:
    """Committed aggregates by type and id, replaced copy-on-write at each commit.

    A unit of work reads from the tables object it captured at its transaction's first read
    (snapshot isolation, as DuckDB's MVCC gives) and publishes a new one when it commits.

    As a SQL database's pool bounds the transactions open at once, at most ``pool_size`` units
    of work hold a transaction of this store at once, from their first read (or their commit's
    writes) to their commit or rollback; another waits at most ``pool_timeout`` seconds for one
    to end, then gets the SQL adapters' ``OperationalError`` naming both settings. The defaults
    are DuckDB's and PostgreSQL's (5 and 30 s).
    """

    def __init__(self, *, pool_size: int = POOL_SIZE, pool_timeout: float = POOL_TIMEOUT) -> None:
        self._tables: Tables = MappingProxyType({})
        self.lock = threading.Lock()
        #: The unique keys of the committed rows, kept by each commit (under :attr:`lock`).
        self.unique = UniqueIndex()
        #: The transactions open at once (see the class docstring).
        self.pool = TransactionPool(pool_size, pool_timeout)

    @property
    def tables(self) -> Tables:
        """The current committed state (immutable; taken as a transaction's snapshot)."""
        return self._tables

    def publish(self, tables: Tables) -> None:
        """Replace the committed state; the caller holds :attr:`lock`."""
        self._tables = tables

    def count(self, aggregate_type: type[AggregateRoot[Any]]) -> int:
        """How many aggregates of a type are committed."""
        return len(self._tables.get(aggregate_type, {}))

    def clear(self) -> None:
        """Forget everything (for tests between cases)."""
        with self.lock:
            self._tables = MappingProxyType({})
            self.unique.clear()
