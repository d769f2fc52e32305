"""The composition root: one container, two adapters, injection, test overrides, clear errors.

``PersistenceContainer`` takes your unit-of-work shape and mapping, reads its settings from the
environment (``ANDAMIOS_ADAPTER``, ``ANDAMIOS_DATABASE__URL``, ...) and from code, opens the
database in ``init_resources()`` and closes it in ``shutdown_resources()``. The application code
below never imports a database or the container. Run it with
``uv run python examples/intermediate/09_containers.py``.
``...`` stands for the rest of a long line.

It prints::

    memory: TEA-01 4.50, POT-01 32.00 (InMemoryUnitOfWork[Catalogue]); database: None
    two units of work, one store: 2 = 2
    duckdb: TEA-01 4.50, POT-01 32.00 (SqlAlchemyUnitOfWork[Catalogue]); open: True
    overridden: InMemoryUnitOfWork[Catalogue]
    restored: SqlAlchemyUnitOfWork[Catalogue]
    after shutdown, open: False
    DatabaseError: the database is not started: 'await container.init_resources()' first ...
    ConfigurationError: database.url (ANDAMIOS_DATABASE__URL) is not set: the duckdb adapter ...
    ConfigurationError: invalid Andamios settings: adapter (ANDAMIOS_ADAPTER): Input should be ...
    ConfigurationError: database.url (ANDAMIOS_DATABASE__URL): 'sqlite:///catalogue.db' is not ...
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from dependency_injector.wiring import Provide, inject
from pydantic import Field

import andamios
from andamios.adapters.sqlalchemy import Mapping
from andamios.application import Command, MessageBus
from andamios.containers import PersistenceContainer
from andamios.domain import AggregateRoot, F
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import ConfigurationError, DatabaseError

# -- domain and ports ----------------------------------------------------------------------------


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[str]):  # the id is the SKU
    name: str
    price: Decimal


class Catalogue(UnitOfWork):
    products: Repository[Product, str]


# -- adapters: the mapping -----------------------------------------------------------------------

mapping = Mapping()
mapping.map(
    Product,
    sa.Table(
        "products",
        mapping.metadata,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    ),
)

# -- application: a command, its handler, and how to register it ---------------------------------


class AddProduct(Command):
    sku: str = Field(min_length=1)
    name: str
    price: Decimal = Field(gt=0)


async def add_product(command: AddProduct, uow: Catalogue) -> None:
    async with uow:
        await uow.products.add(Product(id=command.sku, name=command.name, price=command.price))
        await uow.commit()


def register(bus: MessageBus[Catalogue]) -> None:
    bus.register(AddProduct, add_product)


# -- an entry point, wired by the container ------------------------------------------------------


@inject
async def stock_and_list(
    bus: MessageBus[Catalogue] = Provide[PersistenceContainer.bus],
    new_uow: UnitOfWorkFactory[Catalogue] = Provide[PersistenceContainer.uow.provider],
) -> str:
    await bus.handle(AddProduct(sku="TEA-01", name="Green tea", price=Decimal("4.50")))
    await bus.handle(AddProduct(sku="POT-01", name="Teapot", price=Decimal("32.00")))
    async with new_uow() as uow:
        products = await uow.products.find(order_by=F("price"))
        kind = type(uow).__name__
    return f"{', '.join(f'{p.id} {p.price}' for p in products)} ({kind})"


def container_for(**config: object) -> PersistenceContainer:
    container = PersistenceContainer(unit_of_work=Catalogue, mapping=mapping, handlers=[register])
    container.config.from_dict(config)
    container.wire(modules=[sys.modules[__name__]])
    return container


async def main() -> None:
    # Tests: the memory adapter, no database; one store per container.
    memory = container_for(adapter="memory")
    await memory.init_resources()
    print(f"memory: {await stock_and_list()}; database: {await memory.database()}")
    async with memory.uow() as a, memory.uow() as b:
        print(
            f"two units of work, one store: {await a.products.count()} = {await b.products.count()}"
        )
    await memory.shutdown_resources()

    # Production: the default adapter is duckdb; the URL comes from code here (or from
    # ANDAMIOS_DATABASE__URL). create_tables is for demos and tests; production migrates.
    with tempfile.TemporaryDirectory() as directory:
        url = f"duckdb+async:///{Path(directory) / 'catalogue.duckdb'}"
        duckdb = container_for(database={"url": url, "create_tables": True})
        await duckdb.init_resources()
        database = duckdb.started_database()
        print(f"duckdb: {await stock_and_list()}; open: {database.is_started}")

        # A test can swap the adapter of an existing container for a while.
        with duckdb.config.adapter.override("memory"):
            print(f"overridden: {type(duckdb.uow()).__name__}")
        print(f"restored: {type(duckdb.uow()).__name__}")
        await duckdb.shutdown_resources()
        print(f"after shutdown, open: {database.is_started}")
        try:
            duckdb.uow()
        except DatabaseError as error:
            print(f"DatabaseError: {error}")

    # Misconfiguration fails at startup, naming the setting.
    for config in ({}, {"adapter": "postgres"}, {"database": {"url": "sqlite:///catalogue.db"}}):
        broken = container_for(**config)
        try:
            await broken.init_resources()
        except ConfigurationError as error:
            print(f"ConfigurationError: {error}")


if __name__ == "__main__":
    andamios.run(main())  # on uvloop
