"""What the use cases need from the outside world: a unit of work and a way to notify people."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from andamios._shop.domain import Order, Product
from andamios.ports import Repository, UnitOfWork

__all__ = ["Notifications", "ShopUnitOfWork"]


class ShopUnitOfWork(UnitOfWork):
    """One transaction over the shop's two aggregates."""

    products: Repository[Product, str]
    orders: Repository[Order, UUID]


class Notifications(Protocol):
    """Sends a short message to someone (a customer, or ``purchasing``)."""

    async def send(self, to: str, message: str) -> None:
        """Send ``message`` to ``to``."""
        ...
