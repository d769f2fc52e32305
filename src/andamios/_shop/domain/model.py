"""Products, which hold stock, and orders, which reserve it: two aggregates, two consistency rules.

A product never sells stock it does not have; an order is confirmed only when every line could
be reserved, and then it cannot change any more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Self
from uuid import UUID

from andamios._shop.domain.events import OrderConfirmed, OrderPlaced, OrderRejected, StockLow
from andamios.domain import AggregateRoot, ValueObject

__all__ = ["Order", "OrderLine", "OrderStatus", "OutOfStock", "Product"]


class OutOfStock(ValueError):
    """A product cannot supply the quantity asked for."""


class OrderStatus(StrEnum):
    """Where an order is: placed, then confirmed or rejected (for good)."""

    PLACED = "placed"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


@dataclass(frozen=True)
class OrderLine(ValueObject):
    """A quantity of one product at the price it had when the order was placed."""

    sku: str
    quantity: int
    unit_price: Decimal

    @property
    def subtotal(self) -> Decimal:
        """The line's price: unit price times quantity."""
        return self.unit_price * self.quantity


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[str]):  # the id is the SKU
    """A product the shop sells, and its stock; its id is the SKU."""

    name: str
    price: Decimal
    stock: int = 0
    reorder_level: int = 0

    def shortage(self, quantity: int) -> str | None:
        """Why ``quantity`` cannot be reserved, or ``None`` if it can."""
        if quantity > self.stock:
            return f"not enough {self.id}: {self.stock} left, {quantity} wanted"
        return None

    def reserve(self, quantity: int) -> None:
        """Take ``quantity`` out of the stock (:class:`OutOfStock` if it is short)."""
        reason = self.shortage(quantity)
        if reason is not None:
            raise OutOfStock(reason)
        before, self.stock = self.stock, self.stock - quantity
        if self.stock <= self.reorder_level < before:
            self.record(StockLow(sku=self.id, stock=self.stock))

    def restock(self, quantity: int) -> None:
        """Add ``quantity`` to the stock."""
        self.stock += quantity


@dataclass(eq=False, kw_only=True)
class Order(AggregateRoot[UUID]):  # the id is a UUIDv7, made by the base class
    """A customer's order of one or more lines; its id is a UUIDv7."""

    customer: str
    lines: tuple[OrderLine, ...]
    status: OrderStatus = OrderStatus.PLACED
    reason: str | None = None

    @classmethod
    def place(cls, customer: str, lines: Iterable[OrderLine]) -> Self:
        """A new order of ``lines`` (at least one), which records :class:`OrderPlaced`."""
        order = cls(customer=customer, lines=tuple(lines))
        if not order.lines:
            raise ValueError("an order needs at least one line")
        order.record(OrderPlaced(order_id=order.id, customer=customer))
        return order

    @property
    def total(self) -> Decimal:
        """The sum of the lines' subtotals."""
        return sum((line.subtotal for line in self.lines), Decimal("0.00"))

    def confirm(self) -> None:
        """Confirm a placed order (every line was reserved)."""
        self._settle(OrderStatus.CONFIRMED)
        self.record(OrderConfirmed(order_id=self.id, customer=self.customer, total=self.total))

    def reject(self, reason: str) -> None:
        """Reject a placed order, saying why."""
        self._settle(OrderStatus.REJECTED)
        self.reason = reason
        self.record(OrderRejected(order_id=self.id, customer=self.customer, reason=reason))

    def _settle(self, status: OrderStatus) -> None:
        if self.status is not OrderStatus.PLACED:
            raise ValueError(f"order {self.id} is already {self.status}")
        self.status = status
