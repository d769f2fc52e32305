"""A specialized repository: domain queries written once, in the ports layer, served by every
adapter (cosmicpython's ``get_by_batchref``).

- ``Products(Repository[Product, str])`` adds ``get_by_batchref``, built on the public methods
  (``first``, ``find``, ``count``) and a spec over the product's child entities:
  ``F("batches").any(F("reference") == ref)`` -- a product with a batch of that reference.
  It imports no database: it lives beside the unit-of-work shape.
- ``Allocation.products: Products`` is all a shape says; each adapter builds a ``Products``
  bound to its own implementation (a class that is both), so mypy sees ``get_by_batchref`` at
  the call site and ``uow.repository(Product)`` is the same object.
- ``~F("batches").any(...)`` is ``NOT EXISTS``: true for a product with no batches at all; an
  ``eta`` of ``None`` is SQL's NULL inside ``any()`` too (``F("eta") <= day`` never matches it).
- A specialized repository may not replace what the adapter implements (``_find``, ...), nor
  take constructor arguments of its own: a ``MappingError`` says so when the factory is made.

Run it with ``uv run python examples/intermediate/01_repositories.py`` (a DuckDB file in a
temporary directory); ``--memory`` runs the same code on the in-memory adapter. It prints::

    uow.products is a Products: True, and uow.repository(Product) is it: True
    get_by_batchref('batch-002'): LAMP v1, batches ['batch-002', 'batch-003']
    get_by_batchref('batch-404'): None
    arriving by 2026-03-01: ['LAMP']
    in stock without an arrival date: ['SOFA']
    without any batch: ['TABLE']
    after allocating from batch-002: LAMP v2, 7 left in batch-002
    overriding _find: MappingError: Overriding defines _find, which the Repository port implements

To prove ``Products`` on every adapter, test it with the pytest plugin's fixtures: a test that
asks for ``uow_factory`` runs once per adapter (``andamios_adapter`` names it), see
``docs/guides/testing.md``, "Proving your own adapter or repository".
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import sqlalchemy as sa

from andamios.adapters.duckdb import Database
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Child, Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, Entity, F
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import MappingError

# -- domain: standard library only ------------------------------------------------------------


@dataclass(eq=False, kw_only=True)
class Batch(Entity[UUID]):
    reference: str
    eta: date | None  # None: in the warehouse already
    available: int


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[str]):  # the id is the SKU
    batches: list[Batch] = field(default_factory=list)

    def allocate(self, reference: str, quantity: int) -> Batch:
        batch = next(batch for batch in self.batches if batch.reference == reference)
        batch.available -= quantity
        return batch


# -- ports: the application's view, no database import ------------------------------------------


class Products(Repository[Product, str]):
    """The domain queries of products, for every adapter."""

    async def get_by_batchref(self, reference: str) -> Product | None:
        return await self.first(F("batches").any(F("reference") == reference))

    async def arriving_by(self, day: date) -> list[Product]:
        return await self.find(F("batches").any(F("eta") <= day), order_by="id")

    async def in_stock_now(self) -> list[Product]:
        here = F("eta").is_none() & (F("available") > 0)
        return await self.find(F("batches").any(here), order_by="id")

    async def without_batches(self) -> list[Product]:
        return await self.find(~F("batches").any(F("available") >= 0), order_by="id")


class Allocation(UnitOfWork):
    products: Products  # each adapter builds a Products bound to its implementation


# -- adapters: the mapping ----------------------------------------------------------------------

mapping = Mapping()
products = sa.Table(
    "products",
    mapping.metadata,
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)
batches = sa.Table(
    "batches",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("product_id", sa.String, sa.ForeignKey("products.id"), nullable=False),
    sa.Column("reference", sa.String, nullable=False, unique=True),
    sa.Column("eta", sa.Date),
    sa.Column("available", sa.Integer, nullable=False),
)
mapping.map(Product, products, children={"batches": Child(Batch, batches, order_by="reference")})


# -- application: talks to the ports only -------------------------------------------------------


def describe(product: Product) -> str:
    return f"{product.id} v{product.version}, batches {[b.reference for b in product.batches]}"


def names(found: list[Product]) -> list[str]:
    return [product.id for product in found]


async def main(new_uow: UnitOfWorkFactory[Allocation]) -> None:
    async with new_uow() as uow:
        await uow.products.add_many(
            [
                Product(
                    id="LAMP",
                    batches=[
                        Batch(reference="batch-002", eta=date(2026, 2, 1), available=10),
                        Batch(reference="batch-003", eta=date(2026, 6, 1), available=5),
                    ],
                ),
                Product(
                    id="SOFA",
                    batches=[Batch(reference="batch-001", eta=None, available=3)],
                ),
                Product(id="TABLE"),
            ]
        )
        await uow.commit()

    async with new_uow() as uow:
        specialized = isinstance(uow.products, Products)
        same = uow.repository(Product) is uow.products
        print(
            f"uow.products is a Products: {specialized}, and uow.repository(Product) is it: {same}"
        )
        lamp = await uow.products.get_by_batchref("batch-002")
        print(f"get_by_batchref('batch-002'): {describe(lamp) if lamp else None}")
        print(f"get_by_batchref('batch-404'): {await uow.products.get_by_batchref('batch-404')}")
        print(f"arriving by 2026-03-01: {names(await uow.products.arriving_by(date(2026, 3, 1)))}")
        print(f"in stock without an arrival date: {names(await uow.products.in_stock_now())}")
        print(f"without any batch: {names(await uow.products.without_batches())}")
        if lamp is not None:
            lamp.allocate("batch-002", 3)  # what a domain query returned is tracked
        await uow.commit()

    async with new_uow() as uow:
        again = await uow.products.get_by_batchref("batch-002")
        left = (
            next(b.available for b in again.batches if b.reference == "batch-002") if again else 0
        )
        version = again.version if again else 0
        print(f"after allocating from batch-002: LAMP v{version}, {left} left in batch-002")


class Overriding(Repository[Product, str]):
    async def _find(self, *args: Any) -> list[Product]:  # would replace the adapter's own
        return []


class Broken(UnitOfWork):
    products: Overriding


def refused(make: Any) -> None:
    try:
        make()
    except MappingError as error:
        said = str(error).partition(":")[0]
        print(f"overriding _find: MappingError: {said}")


# -- composition root: the only place that picks an adapter ------------------------------------


async def run(argv: list[str]) -> None:
    if "--memory" in argv:
        await main(InMemoryUnitOfWork.factory(Allocation))
        refused(lambda: InMemoryUnitOfWork.factory(Broken))
        return
    with tempfile.TemporaryDirectory() as directory:
        url = f"duckdb+async:///{Path(directory) / 'allocation.duckdb'}"
        async with Database(url) as database:
            await database.create_all(mapping.metadata)
            await main(SqlAlchemyUnitOfWork.factory(Allocation, database=database, mapping=mapping))
            refused(
                lambda: SqlAlchemyUnitOfWork.factory(Broken, database=database, mapping=mapping)
            )


if __name__ == "__main__":
    asyncio.run(run(sys.argv))
