"""The small domain the contract suites run against (pure dataclasses, like a user's)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from andamios.domain import AggregateRoot, DomainEvent
from andamios.ports import Repository, UnitOfWork

__all__ = ["ContractUnitOfWork", "Counter", "Gadget", "GadgetRenamed"]


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


class ContractUnitOfWork(UnitOfWork):
    """The unit-of-work shape every adapter under contract must fulfil."""

    gadgets: Repository[Gadget, UUID]
    counters: Repository[Counter, str]
