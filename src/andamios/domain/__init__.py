"""The domain kernel (standard library only): entities, aggregates, values, events, specs.

Entities and aggregates are equal by type and id:

>>> from dataclasses import dataclass
>>> @dataclass(eq=False, kw_only=True)
... class Counter(AggregateRoot[int]):
...     value: int = 0
>>> Counter(id=1) == Counter(id=1, value=5)
True

Domain events
-------------

An event is a frozen dataclass an aggregate records (``self.record(...)``) and a unit of work
hands over after commit. It compares by its payload: the metadata, ``event_id`` (a UUIDv7) and
``occurred_at`` (aware, UTC), stays readable but takes no part in ``==`` or ``hash()``, so a test
asserts the events it expects as it would write them:

>>> from decimal import Decimal
>>> @dataclass(frozen=True, kw_only=True)
... class OutOfStock(DomainEvent):
...     sku: str
...     price: Decimal
>>> event = OutOfStock(sku="TEA-01", price=Decimal("4.50"))
>>> [event] == [OutOfStock(sku="TEA-01", price=Decimal("4.50"))]
True
>>> event.event_id == OutOfStock(sku="TEA-01", price=Decimal("4.50")).event_id
False

Where "the very same event" matters (a consumer dropping a redelivered message), compare
``event_id``. ``event.to_dict()`` gives the event in plain JSON types for a broker or a log:
the type name and the metadata apart from the payload (``data``), UUIDs and Decimals as strings,
datetimes in ISO 8601 with their offset, enums by value, value objects as dicts, collections as
lists; a value it cannot convert is a ``TypeError`` naming the field.

>>> import json
>>> message = event.to_dict()
>>> sorted(message), message["type"], message["data"]
(['data', 'event_id', 'occurred_at', 'type'], 'OutOfStock', {'sku': 'TEA-01', 'price': '4.50'})
>>> message["occurred_at"].endswith("+00:00") and json.loads(json.dumps(message)) == message
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from andamios.domain._errors import AndamiosError, InvalidSpecification, PersistenceError
from andamios.domain._events import DomainEvent
from andamios.domain._ids import uuid7, uuid7_time
from andamios.domain._lazy import lazy_names
from andamios.domain._model import AggregateRoot, Entity, ValueObject
from andamios.domain._spec import (
    And,
    AnyMatch,
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

if TYPE_CHECKING:
    from andamios.domain._query import (
        Aggregation,
        Avg,
        Count,
        Join,
        Max,
        Min,
        Output,
        ReadQuery,
        Sum,
    )

__all__ = [
    "AggregateRoot",
    "Aggregation",
    "And",
    "AndamiosError",
    "AnyMatch",
    "Avg",
    "Aware",
    "Between",
    "Bits",
    "Compare",
    "Count",
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
    "Join",
    "Match",
    "MatchKind",
    "Max",
    "MaxLength",
    "Min",
    "Naive",
    "Not",
    "Op",
    "Or",
    "Order",
    "OrderBy",
    "Output",
    "PersistenceError",
    "ReadQuery",
    "SoftDeletable",
    "Spec",
    "Sum",
    "Timestamped",
    "Unique",
    "UpdatedAt",
    "ValueObject",
    "normalize_order",
    "uuid7",
    "uuid7_time",
]

# The read models' query language: imported when a program first names it.
__getattr__ = lazy_names(
    __name__,
    dict.fromkeys(
        ("Aggregation", "Avg", "Count", "Join", "Max", "Min", "Output", "ReadQuery", "Sum"),
        "andamios.domain._query",
    ),
)
