"""Modelling a domain: entities, aggregate roots, value objects, enums, mixins, events and ids.

Everything here is standard-library Python; no adapter is involved. The one import from
``andamios.ports`` is the ``Timestamped`` mixin: two plain ``datetime | None`` fields that every
adapter stamps when it stores the aggregate (the user never sets them).
Run it with ``uv run python examples/basic/02_models.py``.

It prints::

    total: 41.00 EUR
    version before it is stored: 0
    value objects compare by value: True
    entities compare by identity: True
    pending events: ['OrderPlaced']
    status: PLACED; stamps before it is stored: None
    events are not part of the repr: True
    uuid7 ids sort by creation time: True, version 7
    an id knows when it was made: True
    the aggregate protects its rules: a placed order cannot change
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NewType
from uuid import UUID

from andamios.domain import AggregateRoot, DomainEvent, Entity, ValueObject, uuid7, uuid7_time
from andamios.ports import Timestamped

# --8<-- [start:ids]
#: A distinct id type for orders: a UUID to the database, its own type to the type checker.
OrderId = NewType("OrderId", UUID)


# --8<-- [end:ids]
# --8<-- [start:enum]
class Status(enum.Enum):
    """Enums are stored by the SQL mapping with ``sa.Enum(Status, native_enum=False)``."""

    DRAFT = "draft"
    PLACED = "placed"


# --8<-- [end:enum]
# --8<-- [start:value]
@dataclass(frozen=True)
class Money(ValueObject):
    """A value: equal to any other Money with the same amount and currency."""

    amount: Decimal
    currency: str = "EUR"

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)


# --8<-- [end:value]
# --8<-- [start:entity]
@dataclass(eq=False, kw_only=True)
class OrderLine(Entity[UUID]):
    """An entity inside the order aggregate: identity by id, fields may change."""

    sku: str
    quantity: int
    unit_price: Money


# --8<-- [end:entity]
# --8<-- [start:event]
@dataclass(frozen=True, kw_only=True)
class OrderPlaced(DomainEvent):
    order_id: UUID
    total: Money


# --8<-- [end:event]
# --8<-- [start:aggregate]
@dataclass(eq=False, kw_only=True)
class Order(AggregateRoot[OrderId], Timestamped):
    """The consistency boundary: every change to lines goes through the root."""

    id: OrderId = field(default_factory=lambda: OrderId(uuid7()))
    customer: str
    lines: list[OrderLine] = field(default_factory=list)
    status: Status = Status.DRAFT

    @property
    def placed(self) -> bool:
        return self.status is Status.PLACED

    def add_line(self, sku: str, quantity: int, unit_price: Money) -> None:
        if self.placed:
            raise ValueError("a placed order cannot change")
        self.lines.append(OrderLine(sku=sku, quantity=quantity, unit_price=unit_price))

    @property
    def total(self) -> Money:
        total = Money(Decimal("0.00"))
        for line in self.lines:
            total = total + Money(line.unit_price.amount * line.quantity)
        return total

    def place(self) -> None:
        self.status = Status.PLACED
        self.record(OrderPlaced(order_id=self.id, total=self.total))


# --8<-- [end:aggregate]
def main() -> None:
    order = Order(customer="ada")
    order.add_line("TEA-01", 2, Money(Decimal("4.50")))
    order.add_line("POT-01", 1, Money(Decimal("32.00")))
    order.place()

    print(f"total: {order.total.amount} {order.total.currency}")
    print(f"version before it is stored: {order.version}")
    print(f"value objects compare by value: {Money(Decimal(1)) == Money(Decimal(1))}")
    same_id = Order(id=order.id, customer="someone else")
    print(f"entities compare by identity: {order == same_id}")
    print(f"pending events: {[type(e).__name__ for e in order.pending_events]}")
    print(f"status: {order.status.name}; stamps before it is stored: {order.created_at}")
    print(f"events are not part of the repr: {'events' not in repr(order)}")
    first, second = uuid7(), uuid7()
    print(f"uuid7 ids sort by creation time: {first < second}, version {first.version}")
    print(f"an id knows when it was made: {uuid7_time(first) > 1.7e9}")
    try:
        order.add_line("CUP-01", 1, Money(Decimal("3.00")))
    except ValueError as error:
        print(f"the aggregate protects its rules: {error}")


if __name__ == "__main__":
    main()
