"""Bulk operations: load 100,000 aggregates, query them, change many of them at once.

``add_many`` (and any commit that writes many aggregates of one type) takes the Arrow bulk path
on DuckDB: one columnar ``INSERT ... SELECT`` instead of a statement per row; a commit that
changes many loaded aggregates sends one ``UPDATE ... FROM`` that still checks every version.
The aggregates stay in the unit of work's identity map, so they can be changed right away.

Run it with ``uv run python examples/intermediate/06_bulk_operations.py`` (a DuckDB file in a
temporary directory); ``--rows N`` loads N products instead of 100,000.
The lines below are those of ``--rows 2000``, as the tests run it; the timings (the lines in
parentheses, such as ``  (add_many + commit: 62 ms)``) vary and are left out.

It prints::

    added 2,000 products with add_many, versions [1]
    same object from get(): True
    cheapest tea: ['SKU-0000000', 'SKU-0001000', 'SKU-0000005']
    tea products: 400
    repriced 400 tea products, versions [2]
    streamed tea products, total price 21934.00
    refused by DataError on field 'sku'
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated
from uuid import UUID

import sqlalchemy as sa

from andamios.adapters.duckdb import Database
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, F
from andamios.ports import Digits, MaxLength, Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import DataError

CATEGORIES = ("tea", "coffee", "cocoa", "herbs", "spices")


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[UUID]):
    sku: Annotated[str, MaxLength(16)]
    category: str
    price: Annotated[Decimal, Digits(10, 2)]

    def reprice(self, percent: int) -> None:
        self.price = (self.price * (100 + percent) / 100).quantize(Decimal("0.01"))


class Shop(UnitOfWork):
    products: Repository[Product, UUID]


mapping = Mapping()
mapping.map(
    Product,
    sa.Table(
        "products",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("sku", sa.String(16), nullable=False),
        sa.Column("category", sa.String, nullable=False),
        sa.Column("price", sa.Numeric(10, 2), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    ),
)


@contextmanager
def timed(what: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    print(f"  ({what}: {(time.perf_counter() - started) * 1000:.0f} ms)")


async def main(new_uow: UnitOfWorkFactory[Shop], rows: int) -> None:
    products = [
        Product(sku=f"SKU-{n:07}", category=CATEGORIES[n % 5], price=Decimal(n % 1000 + 1) / 10)
        for n in range(rows)
    ]
    async with new_uow() as uow:
        with timed("add_many + commit"):
            await uow.products.add_many(products)
            await uow.commit()
        versions = sorted({p.version for p in products})
        print(f"added {rows:,} products with add_many, versions {versions}")
        # Still in the identity map: the same object comes back, no query needed.
        print(f"same object from get(): {await uow.products.get(products[7].id) is products[7]}")

    async with new_uow() as uow:
        with timed("find"):
            cheapest = await uow.products.find(
                F("category") == "tea", order_by=[F("price"), F("sku")], limit=3
            )
        print(f"cheapest tea: {[p.sku for p in cheapest]}")
        with timed("count"):
            teas = await uow.products.count(F("category") == "tea")
        print(f"tea products: {teas:,}")

    async with new_uow() as uow:
        with timed("load every tea"):
            tea = await uow.products.find(F("category") == "tea")
        with timed("reprice + commit (one bulk UPDATE, versions checked)"):
            for product in tea:
                product.reprice(10)
            await uow.commit()
        print(f"repriced {len(tea):,} tea products, versions {sorted({p.version for p in tea})}")

    async with new_uow() as uow:
        with timed("stream"):
            total = Decimal(0)
            async for product in uow.products.stream(F("category") == "tea", batch_size=5000):
                total += product.price
        print(f"streamed tea products, total price {total}")

    try:
        async with new_uow() as uow:
            await uow.products.add_many(
                Product(sku=f"TOO-LONG-SKU-{n:07}", category="tea", price=Decimal(1))
                for n in range(100)
            )
            await uow.commit()
    except DataError as error:
        print(f"refused by {type(error).__name__} on field {error.field!r}")


async def run(rows: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        async with Database(f"duckdb+async:///{Path(directory) / 'bulk.duckdb'}") as db:
            await db.create_all(mapping.metadata)
            await main(SqlAlchemyUnitOfWork.factory(Shop, database=db, mapping=mapping), rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Bulk operations on DuckDB")
    parser.add_argument("--rows", type=int, default=100_000, help="how many products to load")
    asyncio.run(run(parser.parse_args().rows))
