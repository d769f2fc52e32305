"""What happens in the shop: each event is recorded by an aggregate and dispatched after commit."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from andamios.domain import DomainEvent


@dataclass(frozen=True, kw_only=True)
class OrderPlaced(DomainEvent):
    order_id: UUID
    customer: str


@dataclass(frozen=True, kw_only=True)
class OrderConfirmed(DomainEvent):
    order_id: UUID
    customer: str
    total: Decimal


@dataclass(frozen=True, kw_only=True)
class OrderRejected(DomainEvent):
    order_id: UUID
    customer: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class StockLow(DomainEvent):
    sku: str
    stock: int
