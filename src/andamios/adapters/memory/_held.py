"""What an in-memory transaction holds of each aggregate, and whether it changed since.

Every flush asks every aggregate a transaction holds whether it changed since the last one
(:meth:`Held.dirty`), so the question is cheap: a field holding an immutable value changes only
by being replaced, and is compared by identity; only fields holding mutable values (children,
lists, dicts, sets) are compared by structure (:func:`same`), without building anything.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import operator
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from andamios.adapters.memory._store import live_state, structural
from andamios.domain import AggregateRoot
from andamios.ports.spi import aggregate_fields, version_written

__all__ = ["Held", "Loaded", "check_version", "same"]


#: Values that change only by being replaced: a field holding one is compared by identity.
_IMMUTABLE: frozenset[type] = frozenset(
    {str, int, float, bool, bytes, Decimal, UUID, date, datetime, time, timedelta, type(None)}
)


def _mutable(value: object) -> bool:
    """Whether ``value`` may change in place (a list, a child entity, a dict, a set...)."""
    return type(value) not in _IMMUTABLE and not isinstance(value, enum.Enum)


type _Reader = Callable[[object], tuple[object, ...]]


def _reader(aggregate: object) -> tuple[tuple[str, ...], _Reader]:
    """The stored fields of ``aggregate``'s type, ``version`` first, and what reads them."""
    kind: type = type(aggregate)
    return _reader_of(kind)


@functools.cache
def _reader_of(kind: type) -> tuple[tuple[str, ...], _Reader]:
    names = ("version", *(name for name in aggregate_fields(kind) if name != "version"))
    return names, operator.attrgetter(*names)


def same(live: object, basis: object) -> bool:
    """Whether a live value still equals its stored or flushed copy, structurally.

    As :func:`~andamios.adapters.memory._store.structural` compares (child entities by their
    fields, not their ``__eq__``; any list as a list), without building anything: it runs at
    every flush for every value that may change in place, and most leaves are the very objects
    the copy shares (a copy shares immutable values).
    """
    if live is basis:
        return True
    kind: type = type(live)
    if kind in _IMMUTABLE:
        return live == basis  # as structural() compares them: 0 == 0.0, the JSON text too
    if isinstance(live, list):
        return isinstance(basis, list) and len(live) == len(basis) and all(map(same, live, basis))
    if dataclasses.is_dataclass(live) and not isinstance(live, type):
        return type(basis) is kind and all(
            same(getattr(live, name), getattr(basis, name)) for name in aggregate_fields(kind)
        )
    return structural(live) == structural(basis)


class Held:
    """An aggregate this transaction holds, and its state as last stored or flushed (``basis``).

    :meth:`dirty` compares the aggregate with its basis cheaply, as it runs at every flush
    for every aggregate held: a field holding an immutable value changes only by being
    replaced, so it is compared by identity with the value the aggregate held at the basis;
    only the fields holding mutable values (children, lists, dicts) are compared by structure
    (:func:`same`), and a replaced field makes the whole state compared.
    """

    __slots__ = ("_deep", "_read", "_seen", "aggregate", "basis", "stamps")

    def __init__(self, aggregate: AggregateRoot[Any], basis: dict[str, object]) -> None:
        self.aggregate = aggregate
        #: The audit fields this transaction's flushes stamped, with the values they had.
        self.stamps: dict[str, object] = {}
        self.settle(basis)

    def settle(self, basis: dict[str, object]) -> None:
        """``basis`` is what is stored or flushed of the aggregate as it is now."""
        names, self._read = _reader(self.aggregate)
        self.basis = basis
        self._seen = values = self._read(self.aggregate)
        #: The fields that may change in place, by position: compared at every flush.
        self._deep = tuple(
            (index, name) for index, name in enumerate(names) if _mutable(values[index])
        )

    def version_assigned(self) -> bool:
        """Whether the application assigned the version (a new aggregate's is Andamios' own)."""
        return False

    def dirty(self) -> bool:
        """Whether the aggregate differs from its basis (compared, nothing copied)."""
        values = self._read(self.aggregate)
        if not all(map(operator.is_, values, self._seen)):
            if self.version_assigned():
                return True  # the flush refuses it
            if structural(live_state(self.aggregate)) != structural(self.basis):
                return True
            self.settle(self.basis)  # replaced by equal values: nothing to write
            return False
        basis = self.basis
        return not all(same(values[index], basis[name]) for index, name in self._deep)

    def stamp(self, names: Iterable[str], moment: object) -> None:
        """Set the audit fields ``names`` to ``moment``, remembering what a rollback restores."""
        for name in names:
            self.stamps.setdefault(name, getattr(self.aggregate, name))
            object.__setattr__(self.aggregate, name, moment)

    def unstamp(self) -> None:
        """Put back the audit values this transaction's flushes replaced."""
        for name, value in self.stamps.items():
            object.__setattr__(self.aggregate, name, value)
        self.stamps = {}


class Loaded(Held):
    """A stored aggregate this transaction loaded: its stored version, and whether a flush of
    this transaction wrote it (its version is then one more, as a SQL flush makes it)."""

    __slots__ = ("version", "written")

    def __init__(
        self, aggregate: AggregateRoot[Any], version: int, state: dict[str, object]
    ) -> None:
        super().__init__(aggregate, state)
        self.version = version
        self.written = False

    @property
    def expected(self) -> int:
        """The version the aggregate holds: the stored one, one more once written."""
        return self.version + 1 if self.written else self.version

    def version_assigned(self) -> bool:
        """Whether the application assigned the version."""
        return self.aggregate.version != self.expected

    def write(self, state: dict[str, object]) -> None:
        """A flush wrote ``state``: the first write of the transaction versions the aggregate."""
        if not self.written:
            self.written = True
            object.__setattr__(self.aggregate, "version", self.version + 1)
        self.settle(state)

    def undo(self) -> None:
        """The transaction rolled back: the stored version and audit values again."""
        if self.written:
            self.written = False
            object.__setattr__(self.aggregate, "version", self.version)
        self.unstamp()

    def stored(self) -> None:
        """The written state was committed: one version more."""
        self.version += 1
        self.written = False
        self.stamps = {}


def check_version(aggregate: AggregateRoot[Any], loaded: int) -> None:
    """The version belongs to Andamios: a domain that writes it is told so, in every adapter."""
    if aggregate.version != loaded:
        raise version_written(aggregate, loaded)
