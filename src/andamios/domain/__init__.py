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
from andamios.domain._values import (
    Aware,
    Bits,
    CreatedAt,
    DeletedAt,
    Digits,
    MaxLength,
    Naive,
    SoftDeletable,
    Timestamped,
    Unique,
    UpdatedAt,
)

__all__ = [
    "AggregateRoot",
    "And",
    "AndamiosError",
    "Aware",
    "Between",
    "Bits",
    "Compare",
    "CreatedAt",
    "DeletedAt",
    "Digits",
    "DomainEvent",
    "Entity",
    "F",
    "Field",
    "In",
    "InvalidSpecification",
    "IsNone",
    "Match",
    "MatchKind",
    "MaxLength",
    "Naive",
    "Not",
    "Op",
    "Or",
    "Order",
    "OrderBy",
    "PersistenceError",
    "SoftDeletable",
    "Spec",
    "Timestamped",
    "Unique",
    "UpdatedAt",
    "ValueObject",
    "normalize_order",
    "uuid7",
    "uuid7_time",
]
