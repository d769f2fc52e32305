"""Read-only units of work: they read as any other, refuse every write, and save nothing.

Alike on memory, DuckDB (a file and in memory) and PostgreSQL, where a read-only unit of work
reads from the database's replica (``replica_url``) when it has one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests._postgresql import POSTGRESQL_URL, schema_database
from tests.integration.duckdb._contract_mapping import (
    DATABASE_KINDS,
    contract_mapping,
    open_database,
)

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork
from andamios.ports import UnitOfWorkFactory
from andamios.ports.errors import UnitOfWorkError
from andamios.testing.models import ContractUnitOfWork, Gadget, Ticket

type Factory = UnitOfWorkFactory[ContractUnitOfWork]


def _gadget(sku: str) -> Gadget:
    return Gadget(sku=sku, name=sku.lower(), price=Decimal("1.00"), quantity=1)


@pytest.fixture(params=("adapter-memory", *DATABASE_KINDS))
async def factories(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Factory, Factory]]:
    """A writing factory and a read-only one over the same data."""
    if request.param == "adapter-memory":
        writer = InMemoryUnitOfWork.factory(ContractUnitOfWork)
        yield (
            writer,
            InMemoryUnitOfWork.factory(ContractUnitOfWork, store=writer.store, read_only=True),
        )
        return
    with contract_mapping() as mapping:
        async with open_database(request.param, tmp_path, mapping) as database:
            make: Any = SqlAlchemyUnitOfWork.factory
            yield (
                make(ContractUnitOfWork, database=database, mapping=mapping),
                make(ContractUnitOfWork, database=database, mapping=mapping, read_only=True),
            )


async def test_a_read_only_unit_of_work_reads_and_refuses_every_write(
    factories: tuple[Factory, Factory],
) -> None:
    writer, reader = factories
    async with writer() as uow:
        await uow.gadgets.add(_gadget("A-1"))
        await uow.commit()
    async with reader() as uow:
        assert uow.read_only
        [found] = await uow.gadgets.find()
        assert found.sku == "A-1"
        for refused, what in (
            (uow.gadgets.add(_gadget("B-2")), "add"),
            (uow.gadgets.add_many([_gadget("C-3")]), "add_many"),
            (uow.gadgets.remove(found), "remove"),
            (uow.repository(Ticket).restore(Ticket(title="t")), "restore"),
        ):
            with pytest.raises(UnitOfWorkError, match=f"is read-only: {what} is refused"):
                await refused
        await uow.commit()  # nothing changed: it ends the transaction
        found.quantity = 9
        with pytest.raises(UnitOfWorkError, match="is read-only and holds changed aggregates"):
            await uow.commit()
        assert await uow.gadgets.count() == 1
    async with writer() as uow:
        [stored] = await uow.gadgets.find()
        assert not uow.read_only
    assert (stored.quantity, stored.version) == (1, 1)


async def test_a_read_only_unit_of_work_reads_from_the_replica() -> None:
    with contract_mapping() as mapping:
        async with schema_database(mapping.metadata, replica_url=POSTGRESQL_URL) as database:
            reader = SqlAlchemyUnitOfWork.factory(
                ContractUnitOfWork, database=database, mapping=mapping, read_only=True
            )
            writer = SqlAlchemyUnitOfWork.factory(
                ContractUnitOfWork, database=database, mapping=mapping
            )
            async with writer() as uow:
                await uow.gadgets.add(_gadget("A-1"))
                assert getattr(uow, "session").bind is database.engine  # noqa: B009
                await uow.commit()
            async with reader() as uow:
                assert getattr(uow, "session").bind is database.replica  # noqa: B009
                assert [g.sku for g in await uow.gadgets.find()] == ["A-1"]
