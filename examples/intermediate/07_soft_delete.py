"""Soft delete and audit timestamps, the same on DuckDB and in memory.

- ``SoftDeletable`` (a ``deleted_at`` field marked ``DeletedAt()``): ``remove`` stamps the field
  instead of deleting the row; ``get``, ``find``, ``count``, ``exists`` and ``stream`` leave such
  aggregates out unless asked with ``include_deleted=True``; ``restore`` brings one back.
- ``Timestamped`` (``created_at``/``updated_at``): stamped by the adapter from the unit of work's
  clock (the ``Clock`` port), never by the application. ``andamios.testing.FakeClock``, a clock
  that stands still until it is advanced, makes the times exact here (it comes with the
  ``testing`` extra, ``pip install 'andamios[testing]'``, as tests use it).
- An email that must be unique among live customers only: DuckDB has no partial index
  (``... WHERE deleted_at IS NULL``), but a unique index on a generated column does the same.

Run it with ``uv run python examples/intermediate/07_soft_delete.py``; ``--memory`` runs the
same code on the in-memory adapter, which keeps the email unique among live customers too:
the domain says so with ``Unique(live_only=True)``, and the mapping checks its table agrees.
Both print the same lines.

It prints::

    created at 09:00, updated at 09:00
    get after remove: NotFound
    live customers: 1
    with deleted: [('Ada', '10:00'), ('Bob', '-')]
    a second live bob@example.com: DuplicateError
    restored: deleted_at -, updated at 11:00, created at 09:00, v3
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

import sqlalchemy as sa

from andamios.adapters.duckdb import Database
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, F, Unique
from andamios.ports import Repository, SoftDeletable, Timestamped, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import DuplicateError, NotFound
from andamios.testing import FakeClock


# --8<-- [start:domain]
@dataclass(eq=False, kw_only=True)
class Customer(AggregateRoot[UUID], Timestamped, SoftDeletable):
    email: Annotated[str, Unique(live_only=True)]  # the live_email index below, on every adapter
    name: str


class Crm(UnitOfWork):
    customers: Repository[Customer, UUID]
    # --8<-- [end:domain]


# --8<-- [start:table]
mapping = Mapping()
customers = sa.Table(
    "customers",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("email", sa.String, nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deleted_at", sa.DateTime(timezone=True)),  # nullable: NULL means live
    # Unique among live rows: NULL for deleted ones, and NULLs never collide. DuckDB refuses
    # a UNIQUE constraint on a generated column and a partial index, but takes a unique index.
    sa.Column("live_email", sa.String, sa.Computed("CASE WHEN deleted_at IS NULL THEN email END")),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("uq_customers_live_email", "live_email", unique=True),
)
mapping.map(Customer, customers)
# --8<-- [end:table]


def hhmm(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%H:%M")


async def main(new_uow: UnitOfWorkFactory[Crm], clock: FakeClock) -> None:
    ada = Customer(email="ada@example.com", name="Ada")
    async with new_uow() as uow:
        await uow.customers.add(ada)
        await uow.customers.add(Customer(email="bob@example.com", name="Bob"))
        await uow.commit()
    print(f"created at {hhmm(ada.created_at)}, updated at {hhmm(ada.updated_at)}")

    # --8<-- [start:remove]
    clock.advance(timedelta(hours=1))
    async with new_uow() as uow:
        await uow.customers.remove(await uow.customers.get(ada.id))
        await uow.commit()

    async with new_uow() as uow:
        try:
            await uow.customers.get(ada.id)
        except NotFound:
            print("get after remove: NotFound")
        print(f"live customers: {await uow.customers.count()}")
        everyone = await uow.customers.find(include_deleted=True, order_by=F("name"))
        print(f"with deleted: {[(c.name, hhmm(c.deleted_at)) for c in everyone]}")
    # --8<-- [end:remove]

    # --8<-- [start:live-unique]
    async with new_uow() as uow:  # every adapter keeps live emails unique
        await uow.customers.add(Customer(email="bob@example.com", name="Bob again"))
        try:
            await uow.commit()
        except DuplicateError:
            print("a second live bob@example.com: DuplicateError")
    # --8<-- [end:live-unique]

    # --8<-- [start:restore]
    clock.advance(timedelta(hours=1))
    async with new_uow() as uow:
        deleted = await uow.customers.get(ada.id, include_deleted=True)
        await uow.customers.restore(deleted)
        await uow.commit()
    print(
        f"restored: deleted_at {hhmm(deleted.deleted_at)}, updated at "
        f"{hhmm(deleted.updated_at)}, created at {hhmm(deleted.created_at)}, v{deleted.version}"
    )
    # --8<-- [end:restore]


async def run(memory: bool) -> None:
    # --8<-- [start:clock]
    clock = FakeClock(datetime(2026, 5, 4, 9, 0, tzinfo=UTC))  # stands still until advanced
    # --8<-- [end:clock]
    if memory:
        await main(InMemoryUnitOfWork.factory(Crm, clock=clock), clock)
        return
    async with Database("duckdb+async:///:memory:") as database:
        await database.create_all(mapping.metadata)
        new_uow = SqlAlchemyUnitOfWork.factory(Crm, database=database, mapping=mapping, clock=clock)
        await main(new_uow, clock)


if __name__ == "__main__":
    asyncio.run(run("--memory" in sys.argv))
