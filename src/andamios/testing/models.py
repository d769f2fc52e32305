"""The small domain the contract suites run against (pure dataclasses, like a user's)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from andamios.domain import AggregateRoot, DomainEvent, Entity, ValueObject
from andamios.ports import (
    Aware,
    Digits,
    MaxLength,
    Repository,
    SoftDeletable,
    Timestamped,
    UnitOfWork,
)

__all__ = [
    "Basket",
    "BasketLine",
    "BasketNote",
    "Carrier",
    "ContractUnitOfWork",
    "Counter",
    "Dimensions",
    "Gadget",
    "GadgetRenamed",
    "ItemAdded",
    "Shipment",
    "Ticket",
    "make_gadgets",
]


@dataclass(frozen=True, kw_only=True)
class GadgetRenamed(DomainEvent):
    """A gadget got a new name."""

    gadget_id: UUID
    name: str


@dataclass(eq=False, kw_only=True)
class Gadget(AggregateRoot[UUID]):
    """An aggregate with one field of each common column type, several of them nullable."""

    sku: str
    name: str
    price: Decimal
    quantity: int = 0
    weight: float | None = None
    note: str | None = None
    active: bool = True
    released: date | None = None

    def rename(self, name: str) -> None:
        """Change the name and record it."""
        self.name = name
        self.record(GadgetRenamed(gadget_id=self.id, name=name))


@dataclass(eq=False, kw_only=True)
class Counter(AggregateRoot[str]):
    """An aggregate with a string id, for read-modify-write races."""

    value: int = 0


class Carrier(enum.Enum):
    """How a shipment travels (stored as an enum)."""

    POST = "post"
    COURIER = "courier"


@dataclass(frozen=True)
class Dimensions(ValueObject):
    """A value object stored whole (as JSON by the SQL mapping)."""

    width_cm: int
    height_cm: int


@dataclass(eq=False, kw_only=True)
class Shipment(AggregateRoot[UUID]):
    """An aggregate whose fields declare storage constraints, for the bulk path's contract.

    Not declared on :class:`ContractUnitOfWork`: reach it with ``uow.repository(Shipment)``.
    """

    code: Annotated[str, MaxLength(12)]
    amount: Annotated[Decimal, Digits(8, 2)]
    shipped_at: Annotated[datetime, Aware()] | None = None
    carrier: Carrier = Carrier.POST
    due: date | None = None
    fragile: bool = False
    size: Dimensions | None = None


@dataclass(eq=False, kw_only=True)
class Ticket(AggregateRoot[UUID], Timestamped, SoftDeletable):
    """An aggregate with audit timestamps and soft delete, for the audit contract.

    Not declared on :class:`ContractUnitOfWork`: reach it with ``uow.repository(Ticket)``.
    """

    title: str
    done: bool = False


@dataclass(frozen=True, kw_only=True)
class ItemAdded(DomainEvent):
    """A line was added to a basket."""

    basket_id: UUID
    sku: str


@dataclass(eq=False, kw_only=True)
class BasketLine(Entity[UUID]):
    """A child entity of :class:`Basket` (one of many, kept in ``position`` order)."""

    position: int
    sku: str
    quantity: int = 1


@dataclass(eq=False, kw_only=True)
class BasketNote(Entity[UUID]):
    """The one optional child entity of :class:`Basket`."""

    text: str


@dataclass(eq=False, kw_only=True)
class Basket(AggregateRoot[UUID]):
    """An aggregate with child entities, for the children contract.

    Not declared on :class:`ContractUnitOfWork`: reach it with ``uow.repository(Basket)``.
    """

    owner: str
    lines: list[BasketLine] = field(default_factory=list)
    note: BasketNote | None = None

    def add_item(self, sku: str, quantity: int = 1) -> BasketLine:
        """Append a line after the last one and record it."""
        position = max((line.position for line in self.lines), default=0) + 1
        line = BasketLine(position=position, sku=sku, quantity=quantity)
        self.lines.append(line)
        self.record(ItemAdded(basket_id=self.id, sku=sku))
        return line


def make_gadgets() -> list[Gadget]:
    """Six gadgets covering NULLs, ties, case and LIKE metacharacters."""
    return [
        Gadget(sku="A-1", name="Anvil", price=Decimal("10.00"), quantity=3, weight=2.5,
               note="heavy", released=date(2024, 1, 5)),
        Gadget(sku="B-2", name="bolt", price=Decimal("0.50"), quantity=100, weight=None,
               note=None, released=date(2024, 3, 1)),
        Gadget(sku="C-3", name="Crate 50%", price=Decimal("25.00"), quantity=0, weight=7.0,
               note="50% off", active=False, released=None),
        Gadget(sku="D-4", name="drill", price=Decimal("99.99"), quantity=3, weight=1.25,
               note="a_b", released=date(2023, 12, 24)),
        Gadget(sku="E-5", name="Eraser", price=Decimal("0.50"), quantity=7, weight=None,
               note="AxB", released=None),
        Gadget(sku="F-6", name="fan", price=Decimal("49.00"), quantity=None or 0, weight=3.0,
               note=None, active=False, released=date(2024, 1, 5)),
    ]  # fmt: skip


class ContractUnitOfWork(UnitOfWork):
    """The unit-of-work shape every adapter under contract must fulfil."""

    gadgets: Repository[Gadget, UUID]
    counters: Repository[Counter, str]
