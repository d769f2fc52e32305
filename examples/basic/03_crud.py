"""Create, read, update and delete aggregates through a unit of work, on DuckDB.

Run it with ``uv run python examples/basic/03_crud.py`` (a DuckDB file in a temporary directory);
``--memory`` runs the same code on the in-memory adapter.
Both print the same lines (the id is new on every run).

It prints::

    created Ada, version 1
    read ada@example.com; same object on a second get: True
    4 customers stored
    updated: vip=True, version 2
    deleted: Customer with id UUID('...') not found
    3 customers left
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import sqlalchemy as sa

from andamios.adapters.duckdb import Database
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import NotFound


@dataclass(eq=False, kw_only=True)
class Customer(AggregateRoot[UUID]):
    email: str
    name: str
    vip: bool = False


class Crm(UnitOfWork):
    customers: Repository[Customer, UUID]


mapping = Mapping()
mapping.map(
    Customer,
    sa.Table(
        "customers",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("email", sa.String, nullable=False, unique=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("vip", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    ),
)


async def main(new_uow: UnitOfWorkFactory[Crm]) -> None:
    # Create: add, then commit. Nothing is stored without commit().
    ada = Customer(email="ada@example.com", name="Ada")
    async with new_uow() as uow:
        await uow.customers.add(ada)
        await uow.customers.add_many(
            [Customer(email=f"user{n}@example.com", name=f"User {n}") for n in range(3)]
        )
        await uow.commit()
    print(f"created {ada.name}, version {ada.version}")

    # Read: get raises NotFound, get_or_none returns None.
    async with new_uow() as uow:
        loaded = await uow.customers.get(ada.id)
        print(f"read {loaded.email}; same object on a second get: "
              f"{loaded is await uow.customers.get(ada.id)}")  # fmt: skip
        print(f"{await uow.customers.count()} customers stored")

    # Update: change the loaded aggregate; commit saves it. There is no update() to forget.
    async with new_uow() as uow:
        customer = await uow.customers.get(ada.id)
        customer.vip = True
        await uow.commit()
    print(f"updated: vip={customer.vip}, version {customer.version}")

    # Delete: remove an aggregate this unit of work loaded.
    async with new_uow() as uow:
        await uow.customers.remove(await uow.customers.get(ada.id))
        await uow.commit()
    async with new_uow() as uow:
        try:
            await uow.customers.get(ada.id)
        except NotFound as error:
            print(f"deleted: {error}")
        print(f"{await uow.customers.count()} customers left")


async def on_duckdb() -> None:
    with tempfile.TemporaryDirectory() as directory:
        async with Database(f"duckdb+async:///{Path(directory) / 'crm.duckdb'}") as db:
            await db.create_all(mapping.metadata)
            await main(SqlAlchemyUnitOfWork.factory(Crm, database=db, mapping=mapping))


if __name__ == "__main__":
    if "--memory" in sys.argv:
        asyncio.run(main(InMemoryUnitOfWork.factory(Crm)))
    else:
        asyncio.run(on_duckdb())
