"""The shop's model: products and orders, and the events they record (standard library only)."""

from __future__ import annotations

from andamios._shop.domain.events import OrderConfirmed, OrderPlaced, OrderRejected, StockLow
from andamios._shop.domain.model import Order, OrderLine, OrderStatus, OutOfStock, Product

__all__ = [
    "Order",
    "OrderConfirmed",
    "OrderLine",
    "OrderPlaced",
    "OrderRejected",
    "OrderStatus",
    "OutOfStock",
    "Product",
    "StockLow",
]
