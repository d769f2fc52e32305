"""The domain kernel (standard library only): entities, aggregates, values, events, specs.

>>> from dataclasses import dataclass
>>> @dataclass(eq=False, kw_only=True)
... class Counter(AggregateRoot[int]):
...     value: int = 0
>>> Counter(id=1) == Counter(id=1, value=5)
True
"""

from __future__ import annotations

from andamios.domain._errors import AndamiosError, InvalidSpecification, PersistenceError
from andamios.domain._ids import uuid7, uuid7_time
from andamios.domain._model import AggregateRoot, DomainEvent, Entity, ValueObject
from andamios.domain._spec import (
    And,
    Between,
    Compare,
    F,
    Field,
    In,
    IsNone,
    Match,
    MatchKind,
    Not,
    Op,
    Or,
    Order,
    OrderBy,
    Spec,
    normalize_order,
)

__all__ = [
    "AggregateRoot",
    "And",
    "AndamiosError",
    "Between",
    "Compare",
    "DomainEvent",
    "Entity",
    "F",
    "Field",
    "In",
    "InvalidSpecification",
    "IsNone",
    "Match",
    "MatchKind",
    "Not",
    "Op",
    "Or",
    "Order",
    "OrderBy",
    "PersistenceError",
    "Spec",
    "ValueObject",
    "normalize_order",
    "uuid7",
    "uuid7_time",
]
