"""Andamios quickstart: the north-star example, end to end.

A pure domain (a dataclass aggregate that records an event), a unit-of-work shape, the mapping
(the only part that sees SQLAlchemy), application code that never imports a database, and a
composition root choosing the adapter. Run it with ``uv run python examples/quickstart.py``:
it stores the products in a DuckDB file in a temporary directory. ``--memory`` runs the same
application code on the in-memory adapter.
With ``--memory`` it prints the same, but the last line is ``stored in memory``.

It prints::

    event: ProductRepriced 9.00
    event: ProductRepriced 12.00
    repriced 2 products
    POT-01 Teapot      32.00 v1
    TEA-02 Black tea   12.00 v2
    TEA-01 Green tea    9.00 v2
    stored in shop.duckdb on DuckDB
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import sqlalchemy as sa

from andamios.adapters.duckdb import Database
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, DomainEvent, F
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory

# -- domain: the user's model, standard library only -------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ProductRepriced(DomainEvent):
    product_id: UUID
    price: Decimal


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[UUID]):  # id (UUIDv7), version and events come from the base
    sku: str
    name: str
    price: Decimal

    def reprice(self, price: Decimal) -> None:
        self.price = price
        self.record(ProductRepriced(product_id=self.id, price=price))


# -- ports: the shape of the unit of work ------------------------------------------------------


class Shop(UnitOfWork):
    products: Repository[Product, UUID]


# -- adapters: the mapping, the only part that sees SQLAlchemy -----------------------------------

mapping = Mapping()
products = sa.Table(
    "products",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("sku", sa.String, nullable=False, unique=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("price", sa.Numeric(12, 2), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)
mapping.map(Product, products)  # the version column gives optimistic locking


# -- application: never imports a database -----------------------------------------------------


async def stock_catalogue(uow: Shop) -> None:
    async with uow:
        await uow.products.add_many(
            [
                Product(sku="TEA-01", name="Green tea", price=Decimal("4.50")),
                Product(sku="TEA-02", name="Black tea", price=Decimal("6.00")),
                Product(sku="POT-01", name="Teapot", price=Decimal("32.00")),
            ]
        )
        await uow.commit()


async def reprice_cheap(uow: Shop) -> int:
    async with uow:
        cheap = await uow.products.find(F("price") < 10, order_by=F("sku"))
        for product in cheap:
            product.reprice(product.price * 2)
        await uow.commit()  # changes saved, versions checked, events collected
    for event in uow.collect_events():
        print(f"event: {type(event).__name__} {event.price}")  # type: ignore[attr-defined]
    return len(cheap)


async def main(new_uow: UnitOfWorkFactory[Shop]) -> None:
    await stock_catalogue(new_uow())
    print(f"repriced {await reprice_cheap(new_uow())} products")
    async with new_uow() as uow:
        for product in await uow.products.find(order_by=F("price").desc()):
            print(f"{product.sku} {product.name:<10} {product.price:>6} v{product.version}")


# -- composition root: the only place that picks an adapter ------------------------------------


async def on_duckdb() -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "shop.duckdb"
        async with Database(f"duckdb+async:///{path}") as db:
            await db.create_all(mapping.metadata)  # dev and tests; production: migrations
            await main(SqlAlchemyUnitOfWork.factory(Shop, database=db, mapping=mapping))
        print(f"stored in {path.name} on DuckDB")


if __name__ == "__main__":
    if "--memory" in sys.argv:
        asyncio.run(main(InMemoryUnitOfWork.factory(Shop)))
        print("stored in memory")
    else:
        asyncio.run(on_duckdb())
