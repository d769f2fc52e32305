"""The committed state that the in-memory units of work of one factory share."""

from __future__ import annotations

import copy
import dataclasses
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from andamios.domain import AggregateRoot
from andamios.ports._introspection import aggregate_fields

__all__ = ["InMemoryStore", "StoredRow", "capture_state", "structural"]

type Tables = Mapping[type[AggregateRoot[Any]], Mapping[object, StoredRow]]


@dataclass(frozen=True, slots=True)
class StoredRow:
    """One committed aggregate: its version and a private deep copy of its fields."""

    version: int
    state: Mapping[str, object]


def capture_state(aggregate: AggregateRoot[Any]) -> dict[str, object]:
    """A deep copy of an aggregate's dataclass fields except ``version`` (no aliasing)."""
    return {
        name: copy.deepcopy(getattr(aggregate, name))
        for name in aggregate_fields(type(aggregate))
        if name != "version"
    }


def structural(value: object) -> object:
    """A comparable form of a value that ignores custom ``__eq__`` (entities compare by id).

    Dirty checking needs it: a child entity whose fields changed still equals its old self.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value),
            tuple(structural(getattr(value, f.name)) for f in dataclasses.fields(value)),
        )
    if isinstance(value, (list, tuple)):
        return (type(value), tuple(structural(item) for item in value))
    if isinstance(value, dict):
        return (dict, tuple((key, structural(item)) for key, item in value.items()))
    if isinstance(value, (set, frozenset)):
        return (type(value), frozenset(structural(item) for item in value))
    return value


class InMemoryStore:
    """Committed aggregates by type and id, replaced copy-on-write at each commit.

    A unit of work reads from the tables object it captured when its transaction began
    (snapshot isolation, as DuckDB's MVCC gives) and publishes a new one when it commits.
    """

    def __init__(self) -> None:
        self._tables: Tables = MappingProxyType({})
        self.lock = threading.Lock()

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
