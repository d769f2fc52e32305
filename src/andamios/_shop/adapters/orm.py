"""The shop's tables and how its aggregates map onto them: the only module that sees SQLAlchemy.

An order's lines are a tuple of value objects that never change once placed, so they are kept
in one JSON text column rather than a child table.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from andamios._shop.domain import Order, OrderLine, OrderStatus, Product
from andamios.adapters.sqlalchemy import Mapping

__all__ = ["mapping", "orders", "products"]


class OrderLines(sa.types.TypeDecorator[tuple[OrderLine, ...]]):
    """A tuple of :class:`OrderLine` stored as JSON text: ``[["TEA-01", 2, "4.50"], ...]``."""

    impl = sa.String
    cache_ok = True

    def process_bind_param(
        self, value: tuple[OrderLine, ...] | None, dialect: sa.Dialect
    ) -> str | None:
        """The lines as JSON text (``None`` stays ``None``)."""
        if value is None:
            return None
        return json.dumps([[line.sku, line.quantity, str(line.unit_price)] for line in value])

    def process_result_value(
        self, value: Any | None, dialect: sa.Dialect
    ) -> tuple[OrderLine, ...] | None:
        """The lines read back from JSON text (``None`` stays ``None``)."""
        if value is None:
            return None
        return tuple(
            OrderLine(sku, quantity, Decimal(price)) for sku, quantity, price in json.loads(value)
        )


mapping = Mapping()

products = sa.Table(
    "products",
    mapping.metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("price", sa.Numeric(12, 2), nullable=False),
    sa.Column("stock", sa.Integer, nullable=False),
    sa.Column("reorder_level", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

orders = sa.Table(
    "orders",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("customer", sa.String, nullable=False),
    sa.Column("lines", OrderLines, nullable=False),
    sa.Column(
        "status",
        sa.Enum(OrderStatus, native_enum=False, values_callable=lambda e: [m.value for m in e]),
        nullable=False,
    ),
    sa.Column("reason", sa.String),
    sa.Column("version", sa.Integer, nullable=False),
)

mapping.map(Product, products)
mapping.map(Order, orders)
