"""Value objects, enums, NewType ids and custom column types, mapped without touching the domain.

- a value object in several columns: SQLAlchemy ``composite()`` (specs reach inside it with
  dotted paths: ``F("price.amount")``);
- a value object in one JSON column: :class:`andamios.adapters.sqlalchemy.JsonValue`, which
  serialises it with a pydantic ``TypeAdapter`` in the adapter (the domain class stays a plain
  frozen dataclass);
- an enum: ``sa.Enum(Kind, native_enum=False)``; a ``NewType`` id: the column of its base type;
- any other type: the extension point is a SQLAlchemy ``TypeDecorator`` converting between the
  domain's value and a type the database stores (``EmailColumn`` below).

Run it with ``uv run python examples/advanced/02_custom_types.py``; ``--memory`` runs the same
code on the in-memory adapter, which stores the domain values as they are.
On memory it prints the same lines but the last, which reads what DuckDB's column holds.

It prints::

    price: 32.00 EUR, kind: POT
    size from JSON: Dimensions(width_cm=18, height_cm=14, weight_g=Decimal('850.5'))
    over 10: ['Teapot']
    teas: ['Green tea']
    without dimensions: 1
    repriced to 29.90, version 2
    emails as stored: ['pots@example.com', 'tea@example.com']
"""

from __future__ import annotations

import asyncio
import enum
import sys
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NewType
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import composite

from andamios.adapters.duckdb import Database
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import JsonValue, Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, F, ValueObject, uuid7
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory

# -- domain: standard library only ----------------------------------------------------------

ProductId = NewType("ProductId", UUID)


class Kind(enum.Enum):
    TEA = "tea"
    POT = "pot"


@dataclass(frozen=True)
class Money(ValueObject):
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Email(ValueObject):
    address: str

    def __post_init__(self) -> None:
        if "@" not in self.address:
            raise ValueError(f"not an email address: {self.address!r}")


@dataclass(frozen=True)
class Dimensions(ValueObject):
    width_cm: int
    height_cm: int
    weight_g: Decimal


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[ProductId]):
    name: str
    kind: Kind
    price: Money
    supplier: Email
    size: Dimensions | None = None


class Catalogue(UnitOfWork):
    products: Repository[Product, ProductId]


# -- adapters: the mapping ------------------------------------------------------------------


# --8<-- [start:email-column]
class EmailColumn(sa.TypeDecorator[Email]):
    """The extension point: an Email value object stored as a plain (lower-case) string."""

    impl = sa.String(254)
    cache_ok = True

    def process_bind_param(self, value: Email | None, dialect: sa.Dialect) -> str | None:
        return None if value is None else value.address.lower()

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Email | None:
        return None if value is None else Email(value)


# --8<-- [end:email-column]


mapping = Mapping()
products = sa.Table(
    "products",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("kind", sa.Enum(Kind, native_enum=False), nullable=False),
    sa.Column("price_amount", sa.Numeric(10, 2), nullable=False),
    sa.Column("price_currency", sa.String(3), nullable=False),
    sa.Column("supplier", EmailColumn, nullable=False),
    sa.Column("size", JsonValue(Dimensions)),
    sa.Column("version", sa.Integer, nullable=False),
)
mapping.map(
    Product,
    products,
    properties={"price": composite(Money, products.c.price_amount, products.c.price_currency)},
)


# -- application ----------------------------------------------------------------------------


async def main(new_uow: UnitOfWorkFactory[Catalogue]) -> None:
    teapot = Product(
        id=ProductId(uuid7()),
        name="Teapot",
        kind=Kind.POT,
        price=Money(Decimal("32.00"), "EUR"),
        supplier=Email("Pots@Example.com"),
        size=Dimensions(18, 14, Decimal("850.5")),
    )
    async with new_uow() as uow:
        await uow.products.add(teapot)
        await uow.products.add(
            Product(
                id=ProductId(uuid7()),
                name="Green tea",
                kind=Kind.TEA,
                price=Money(Decimal("4.50"), "EUR"),
                supplier=Email("tea@example.com"),
            )
        )
        await uow.commit()

    async with new_uow() as uow:
        loaded = await uow.products.get(teapot.id)
        print(f"price: {loaded.price.amount} {loaded.price.currency}, kind: {loaded.kind.name}")
        print(f"size from JSON: {loaded.size}")
        dear = await uow.products.find(F("price.amount") > 10)
        print(f"over 10: {[p.name for p in dear]}")
        teas = await uow.products.find(F("kind") == Kind.TEA)
        print(f"teas: {[p.name for p in teas]}")
        print(f"without dimensions: {await uow.products.count(F('size').is_none())}")
        loaded.price = Money(Decimal("29.90"), "EUR")
        await uow.commit()
        print(f"repriced to {loaded.price.amount}, version {loaded.version}")


async def run(memory: bool) -> None:
    if memory:
        await main(InMemoryUnitOfWork.factory(Catalogue))
        return
    async with Database("duckdb+async:///:memory:") as database:
        await database.create_all(mapping.metadata)
        await main(SqlAlchemyUnitOfWork.factory(Catalogue, database=database, mapping=mapping))
        async with database.engine.connect() as connection:
            stored = (await connection.execute(sa.text("SELECT supplier FROM products"))).all()
        print(f"emails as stored: {sorted(row[0] for row in stored)}")


if __name__ == "__main__":
    asyncio.run(run("--memory" in sys.argv))
