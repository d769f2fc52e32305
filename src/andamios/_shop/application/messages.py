"""Commands and queries: validated where they enter, typed by what their handler returns."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import Field

from andamios.application import ApplicationError, Command, Query

__all__ = [
    "AddProduct",
    "GetOrder",
    "OrderView",
    "PlaceOrder",
    "Restock",
    "Sku",
    "StockLevels",
    "UnknownProduct",
]

Sku = Annotated[str, Field(min_length=1, max_length=32)]


class UnknownProduct(ApplicationError, LookupError):
    """An order names a product the shop does not sell."""


class AddProduct(Command):
    """Start selling a product."""

    sku: Sku
    name: str = Field(min_length=1)
    price: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    stock: int = Field(default=0, ge=0)
    reorder_level: int = Field(default=0, ge=0)


class Restock(Command[int]):  # returns the new stock
    """Add units to a product's stock; returns the new stock."""

    sku: Sku
    quantity: int = Field(gt=0)


class PlaceOrder(Command[UUID]):  # returns the new order's id
    """Order quantities of products; returns the new order's id."""

    customer: str = Field(min_length=1)
    items: dict[Sku, Annotated[int, Field(gt=0)]] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class OrderView:
    """What a customer sees of an order."""

    id: UUID
    customer: str
    status: str
    total: Decimal
    reason: str | None


class GetOrder(Query[OrderView]):
    """Look an order up."""

    order_id: UUID


class StockLevels(Query[dict[str, int]]):  # SKU -> units in stock, by SKU
    """The stock of every product."""

    pass
