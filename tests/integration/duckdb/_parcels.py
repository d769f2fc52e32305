"""A small aggregate with value objects, mapped with renamed and composite columns."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import composite

from andamios.adapters.sqlalchemy import Mapping
from andamios.domain import AggregateRoot, ValueObject

__all__ = ["Money", "Parcel", "Point", "Size", "map_parcel", "parcels"]


@dataclass(frozen=True)
class Money(ValueObject):
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Size(ValueObject):
    width: int
    height: int


class Point:
    """A value stored in two columns that is not a dataclass (a composite SQLAlchemy accepts)."""

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __composite_values__(self) -> tuple[int, int]:
        return self.x, self.y


@dataclass(eq=False, kw_only=True)
class Parcel(AggregateRoot[UUID]):
    label: str
    cost: Money
    size: Size | None = None
    spot: Point | None = None


def parcels(mapping: Mapping, *extra: sa.Column[Any]) -> sa.Table:
    return sa.Table(
        "parcels",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("cost_amount", sa.Numeric(10, 2), nullable=False),
        sa.Column("cost_currency", sa.String(3), nullable=False),
        sa.Column("size", sa.PickleType),
        sa.Column("spot_x", sa.Integer),
        sa.Column("spot_y", sa.Integer),
        sa.Column("row_version", sa.Integer, nullable=False),
        *extra,
    )


def map_parcel(mapping: Mapping, table: sa.Table, **properties: Any) -> None:
    mapping.map(
        Parcel,
        table,
        version_column="row_version",
        properties={
            "label": table.c.title,
            "cost": composite(Money, table.c.cost_amount, table.c.cost_currency),
            "spot": composite(Point, table.c.spot_x, table.c.spot_y),
            **properties,
        },
    )
