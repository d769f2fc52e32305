"""Building blocks of a domain model: entities, aggregate roots and value objects.

Events, which aggregates record, live in :mod:`andamios.domain._events`.

They are plain dataclasses so a domain stays pure Python: adapters map them from the outside
(imperative mapping) and never ask the domain to inherit from a database class.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from andamios.domain._events import DomainEvent
from andamios.domain._ids import uuid7

__all__ = ["AggregateRoot", "Entity", "ValueObject"]

# Pending events live outside the dataclass fields, so they are never compared, printed,
# copied by ``dataclasses.replace``/``asdict`` or mapped to a column.
_EVENTS_ATTRIBUTE = "_andamios_pending_events"
#: Where a unit of work that holds the aggregate weakly (a stream) asks to hear of a recorded event.
_RECORDED_ATTRIBUTE = "_andamios_on_record"


@dataclass(eq=False, kw_only=True)
class Entity[ID]:
    """An object defined by its identity: equal to another of the same type with the same id.

    ``id`` defaults to a new UUIDv7; pass one explicitly for other id types.
    Subclasses should be declared ``@dataclass(eq=False, kw_only=True)`` so the identity
    semantics below are kept (a generated ``__eq__`` would compare every field).
    """

    id: ID = field(default_factory=cast("Callable[[], Any]", uuid7))

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return bool(self.id == other.id)

    def __hash__(self) -> int:
        return hash((type(self), self.id))


@dataclass(eq=False, kw_only=True)
class AggregateRoot[ID](Entity[ID]):
    """The entry point of a consistency boundary: the unit a repository stores and loads.

    ``version`` is 0 until the aggregate is first stored, 1 after its first commit, and grows by
    one with each committed change; adapters use it for optimistic locking. Domain events recorded
    with :meth:`record` wait here until a unit of work collects them after commit.
    """

    version: int = 0

    def record(self, event: DomainEvent) -> None:
        """Record a domain event, to be published after the unit of work commits."""
        if not isinstance(cast("object", event), DomainEvent):
            msg = f"record() takes a DomainEvent, got {type(event).__name__}"
            raise TypeError(msg)
        self._pending_events().append(event)
        listener = self.__dict__.get(_RECORDED_ATTRIBUTE)
        if listener is not None:
            listener(self)

    @property
    def pending_events(self) -> tuple[DomainEvent, ...]:
        """The events recorded and not yet collected, oldest first."""
        return tuple(self._pending_events())

    def pull_events(self) -> list[DomainEvent]:
        """Return the recorded events, oldest first, and forget them."""
        events = self._pending_events()
        pulled = list(events)
        events.clear()
        return pulled

    def _pending_events(self) -> list[DomainEvent]:
        # Created lazily: adapters build aggregates without calling __init__ when they load them.
        events: list[DomainEvent] | None = self.__dict__.get(_EVENTS_ATTRIBUTE)
        if events is None:
            events = []
            object.__setattr__(self, _EVENTS_ATTRIBUTE, events)
        return events


@dataclass(frozen=True)
class ValueObject:
    """An immutable value, equal to another with the same fields (e.g. ``Money``, ``Address``).

    Subclasses must be frozen dataclasses too: ``@dataclass(frozen=True)``.
    """
