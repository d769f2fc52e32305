"""The shop's use cases: messages, handlers and the ports they need; never a database.

The composition root registers the handlers with :func:`register_handlers`.
"""

from __future__ import annotations

from andamios._shop.application.handlers import register_handlers
from andamios._shop.application.messages import (
    AddProduct,
    GetOrder,
    OrderView,
    PlaceOrder,
    Restock,
    StockLevels,
    UnknownProduct,
)
from andamios._shop.application.ports import Notifications, ShopUnitOfWork

__all__ = [
    "AddProduct",
    "GetOrder",
    "Notifications",
    "OrderView",
    "PlaceOrder",
    "Restock",
    "ShopUnitOfWork",
    "StockLevels",
    "UnknownProduct",
    "register_handlers",
]
