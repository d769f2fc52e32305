"""The SQLAlchemy repository and unit of work beyond the contract, on a real DuckDB file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from tests.integration.duckdb._contract_mapping import contract_tables, open_database
from tests.integration.duckdb._parcels import Money, Parcel, Size, map_parcel, parcels

from andamios.adapters.duckdb import Database
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyRepository, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, F, InvalidSpecification
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import DuplicateError, MappingError, UnitOfWorkError
from andamios.testing.models import ContractUnitOfWork, Counter, Gadget

type Factory = UnitOfWorkFactory[ContractUnitOfWork]


class Depot(UnitOfWork):
    parcels: Repository[Parcel, UUID]


@dataclass(eq=False, kw_only=True)
class Stray(AggregateRoot[int]):
    """An aggregate nobody maps."""


@dataclass
class Setup:
    database: Database
    mapping: Mapping
    new_uow: Factory
    new_depot: UnitOfWorkFactory[Depot]


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    mapping = Mapping()
    gadgets, counters = contract_tables(mapping)
    mapping.map(Gadget, gadgets)
    mapping.map(Counter, counters)
    map_parcel(mapping, parcels(mapping))
    try:
        async with open_database("file", tmp_path, mapping) as database:
            yield Setup(
                database,
                mapping,
                SqlAlchemyUnitOfWork.factory(
                    ContractUnitOfWork, database=database, mapping=mapping
                ),
                SqlAlchemyUnitOfWork.factory(Depot, database=database, mapping=mapping),
            )
    finally:
        mapping.clear()


def _gadget(sku: str = "A-1", **fields: object) -> Gadget:
    return Gadget(sku=sku, name=sku.lower(), price=Decimal("1.00"), **fields)  # type: ignore[arg-type]


async def _store(new_uow: Factory, gadget: Gadget) -> Gadget:
    async with new_uow() as uow:
        await uow.gadgets.add(gadget)
        await uow.commit()
    return gadget


# -- the factory ------------------------------------------------------------------------------


async def test_the_factory_makes_units_of_work_of_the_shape(setup: Setup) -> None:
    uow = setup.new_uow()
    assert isinstance(uow, ContractUnitOfWork)
    assert isinstance(uow, SqlAlchemyUnitOfWork)
    assert isinstance(uow.gadgets, SqlAlchemyRepository)
    assert repr(setup.new_uow) == "<SqlAlchemyFactory of SqlAlchemyUnitOfWork[ContractUnitOfWork]>"
    assert uow.session.sync_session.expire_on_commit is False


async def test_the_factory_refuses_a_shape_with_an_unmapped_aggregate(setup: Setup) -> None:
    class Lost(UnitOfWork):
        strays: Repository[Stray, int]

    with pytest.raises(MappingError, match="Stray is not mapped"):
        SqlAlchemyUnitOfWork.factory(Lost, database=setup.database, mapping=setup.mapping)


async def test_a_repository_made_on_demand_needs_a_mapped_aggregate(setup: Setup) -> None:
    async with setup.new_uow() as uow:
        assert uow.repository(Parcel).aggregate_type is Parcel
        with pytest.raises(MappingError, match="Stray is not mapped"):
            uow.repository(Stray)


# -- value objects, renamed columns, another version column ---------------------------------


async def test_value_objects_round_trip_and_can_be_queried_inside(setup: Setup) -> None:
    parcel = Parcel(label="box", cost=Money(Decimal("4.50"), "EUR"), size=Size(2, 3))
    async with setup.new_depot() as uow:
        await uow.parcels.add(parcel)
        await uow.parcels.add(Parcel(label="bag", cost=Money(Decimal("9.00"), "USD")))
        await uow.commit()
    assert parcel.version == 1
    async with setup.new_depot() as uow:
        [cheap] = await uow.parcels.find(F("cost.amount") < 5)
        assert (cheap.label, cheap.cost, cheap.size) == (
            "box",
            Money(Decimal("4.50"), "EUR"),
            Size(2, 3),
        )
        found = await uow.parcels.find(order_by=F("cost.currency").desc())
        assert [p.label for p in found] == ["bag", "box"]
        with pytest.raises(InvalidSpecification, match="composite"):
            await uow.parcels.find(F("size.width") == 2)
        cheap.cost = Money(Decimal("5.00"), "EUR")
        await uow.commit()
        assert cheap.version == 2
    async with setup.new_depot() as uow:
        assert await uow.parcels.count(F("version") == 2) == 1
        assert (await uow.parcels.get(parcel.id)).cost.amount == Decimal("5.00")


# -- adds -------------------------------------------------------------------------------------


async def test_get_finds_an_added_aggregate_before_any_flush(setup: Setup) -> None:
    gadget = _gadget()
    async with setup.new_uow() as uow:
        await uow.gadgets.add(gadget)
        assert await uow.gadgets.get(gadget.id) is gadget
        assert isinstance(uow, SqlAlchemyUnitOfWork)
        assert uow.session.sync_session.identity_map.get((Gadget, (gadget.id,), None)) is None


async def test_adding_a_stored_aggregate_again_is_harmless(setup: Setup) -> None:
    gadget = _gadget()
    async with setup.new_uow() as uow:
        await uow.gadgets.add(gadget)
        await uow.commit()
        await uow.gadgets.add(gadget)
        gadget.quantity = 2
        await uow.commit()
    async with setup.new_uow() as uow:
        assert [(g.quantity, g.version) for g in await uow.gadgets.find()] == [(2, 2)]


async def test_two_new_objects_with_one_id_are_a_duplicate_at_once(setup: Setup) -> None:
    gadget = _gadget()
    async with setup.new_uow() as uow:
        await uow.gadgets.add(gadget)
        with pytest.raises(DuplicateError, match="already added in this unit of work"):
            await uow.gadgets.add(_gadget("A-2", id=gadget.id))


async def test_an_aggregate_of_another_open_unit_of_work_is_refused(setup: Setup) -> None:
    gadget = await _store(setup.new_uow, _gadget())
    async with setup.new_uow() as first, setup.new_uow() as second:
        loaded = await first.gadgets.get(gadget.id)
        with pytest.raises(UnitOfWorkError, match="belongs to another unit of work"):
            await second.gadgets.add(loaded)


async def test_an_aggregate_of_an_ended_unit_of_work_is_added_as_new(setup: Setup) -> None:
    gadget = await _store(setup.new_uow, _gadget())
    async with setup.new_uow() as uow:
        with pytest.raises(DuplicateError, match="Duplicate key"):  # noqa: PT012 - at the flush
            await uow.gadgets.add(gadget)
            await uow.gadgets.count()
    async with setup.new_uow() as uow:
        await uow.gadgets.remove(await uow.gadgets.get(gadget.id))
        await uow.commit()
    gadget.name = "back"
    async with setup.new_uow() as uow:
        await uow.gadgets.add(gadget)
        await uow.commit()
    assert gadget.version == 1
    async with setup.new_uow() as uow:
        stored = await uow.gadgets.get(gadget.id)
        assert (stored.name, stored.version) == ("back", 1)


# -- removes ----------------------------------------------------------------------------------


async def test_removing_twice_is_refused(setup: Setup) -> None:
    gadget = await _store(setup.new_uow, _gadget())
    async with setup.new_uow() as uow:
        loaded = await uow.gadgets.get(gadget.id)
        await uow.gadgets.remove(loaded)
        with pytest.raises(UnitOfWorkError, match="was not loaded"):
            await uow.gadgets.remove(loaded)
    async with setup.new_uow() as uow:
        loaded = await uow.gadgets.get(gadget.id)
        await uow.gadgets.remove(loaded)
        assert await uow.gadgets.count() == 0  # the DELETE is flushed
        with pytest.raises(UnitOfWorkError, match="was not loaded"):
            await uow.gadgets.remove(loaded)


@pytest.mark.parametrize("flushed", [False, True])
async def test_an_aggregate_removed_and_added_again_is_stored_anew(
    setup: Setup, flushed: bool
) -> None:
    gadget = await _store(setup.new_uow, _gadget())
    async with setup.new_uow() as uow:
        loaded = await uow.gadgets.get(gadget.id)
        loaded.quantity = 5
        await uow.commit()
        assert loaded.version == 2
        await uow.gadgets.remove(loaded)
        if flushed:
            assert await uow.gadgets.count() == 0
        loaded.name = "reborn"
        await uow.gadgets.add(loaded)
        assert await uow.gadgets.get(gadget.id) is loaded
        await uow.commit()
        assert loaded.version == 1  # a new row, as in the in-memory adapter
    async with setup.new_uow() as uow:
        stored = await uow.gadgets.get(gadget.id)
        assert (stored.name, stored.quantity, stored.version) == ("reborn", 5, 1)


async def test_removing_and_adding_again_then_rolling_back_restores_the_version(
    setup: Setup,
) -> None:
    gadget = await _store(setup.new_uow, _gadget())
    async with setup.new_uow() as uow:
        loaded = await uow.gadgets.get(gadget.id)
        loaded.quantity = 5
        await uow.gadgets.count()  # flushed: version 2 in this transaction
        await uow.gadgets.remove(loaded)
        await uow.gadgets.add(loaded)
        await uow.gadgets.count()
        assert loaded.version == 1
        await uow.rollback()
        assert (loaded.version, loaded.quantity) == (1, 5)
    async with setup.new_uow() as uow:
        assert (await uow.gadgets.get(gadget.id)).quantity == 0


# -- rollback keeps objects usable ------------------------------------------------------------


async def test_objects_stay_readable_after_rollback_and_after_the_block(setup: Setup) -> None:
    gadget = await _store(setup.new_uow, _gadget())
    async with setup.new_uow() as uow:
        loaded = await uow.gadgets.get(gadget.id)
        new = _gadget("B-2")
        await uow.gadgets.add(new)
        loaded.quantity = 7
        await uow.gadgets.count()  # flushed: loaded is at version 2 inside the transaction
        assert (loaded.version, new.version) == (2, 1)
        await uow.rollback()
        assert (loaded.quantity, loaded.version, new.version) == (7, 1, 0)
        again = await uow.gadgets.get(gadget.id)
        assert again is not loaded
        assert again.quantity == 0
    assert (loaded.quantity, again.name, new.sku) == (7, "a-1", "B-2")
