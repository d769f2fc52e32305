"""What happens in the shop: each event is recorded by an aggregate and dispatched after commit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from andamios.domain import DomainEvent

__all__ = ["OrderConfirmed", "OrderPlaced", "OrderRejected", "StockLow"]


@dataclass(frozen=True, kw_only=True)
class OrderPlaced(DomainEvent):
    """An order was placed: its stock is still to be reserved."""

    order_id: UUID
    customer: str


@dataclass(frozen=True, kw_only=True)
class OrderConfirmed(DomainEvent):
    """Every line of an order was reserved."""

    order_id: UUID
    customer: str
    total: Decimal


@dataclass(frozen=True, kw_only=True)
class OrderRejected(DomainEvent):
    """An order could not be served (``reason`` says why)."""

    order_id: UUID
    customer: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class StockLow(DomainEvent):
    """A reservation took a product's stock down to its reorder level."""

    sku: str
    stock: int
