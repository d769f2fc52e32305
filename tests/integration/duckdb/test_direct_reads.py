"""The direct read path on DuckDB (ADR 0022): a read compiled once per shape, run on the driver.

From a unit of work's second statement on, ``get``, ``find``, ``first``, ``count`` and ``exists``
of a flat mapping run on the connection's worker thread without SQLAlchemy's execution. Nothing
observable may change: values converted by their column types, what a listener of SQLAlchemy's
statements sees, what a closed database says, a table with more columns than its mapping.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
import sqlalchemy as sa
from tests.integration.duckdb._contract_mapping import (
    DUCKDB_KINDS,
    contract_mapping,
    open_database,
)

from andamios.adapters.duckdb._direct import WorkerReader
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.adapters.sqlalchemy._direct import spec_shape
from andamios.domain import F, Spec
from andamios.ports.errors import DatabaseClosed, PersistenceError
from andamios.testing import RecordingHooks
from andamios.testing.models import Carrier, ContractUnitOfWork, Dimensions, Gadget, Shipment

type Opened = tuple[Any, Mapping]


@pytest.fixture(params=DUCKDB_KINDS)
async def opened(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opened]:
    """A DuckDB database (a file, in memory) with the contract tables, and the mapping."""
    with contract_mapping() as mapping:
        async with open_database(request.param, tmp_path, mapping) as database:
            yield database, mapping


def _factory(opened: Opened, **options: Any) -> Any:
    database, mapping = opened
    return SqlAlchemyUnitOfWork.factory(
        ContractUnitOfWork, database=database, mapping=mapping, **options
    )


def _compiled_shapes(mapping: Mapping, kind: type) -> int:
    return len(mapping.aggregate_mapping(kind).statements)


async def _store(opened: Opened, *gadgets: Gadget) -> None:
    async with _factory(opened)() as uow:
        await uow.gadgets.add_many(list(gadgets))
        await uow.commit()


def _gadget(sku: str, price: str = "1.00", quantity: int = 1) -> Gadget:
    return Gadget(sku=sku, name=sku.lower(), price=Decimal(price), quantity=quantity)


def _shipment(code: str) -> Shipment:
    return Shipment(
        code=code,
        amount=Decimal("12.50"),
        shipped_at=dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC),
        carrier=Carrier.POST,
        due=dt.date(2024, 5, 3),
        fragile=True,
        size=Dimensions(width_cm=30, height_cm=20),
    )


async def test_reads_after_the_first_statement_run_compiled_shapes(opened: Opened) -> None:
    _, mapping = opened
    stored = [_gadget("A-1", "1.00", 1), _gadget("A-2", "2.00", 2), _gadget("A-3", "3.00", 3)]
    await _store(opened, *stored)
    async with _factory(opened)() as uow:
        assert await uow.gadgets.exists(None)  # the first statement: through SQLAlchemy
        before = _compiled_shapes(mapping, Gadget)
        cheap = (F("price") < Decimal("2.50")) & ~(F("quantity") == 5)
        assert [g.sku for g in await uow.gadgets.find(cheap, order_by="sku")] == ["A-1", "A-2"]
        page = await uow.gadgets.find(None, order_by=F("sku").desc(), limit=1, offset=1)
        assert [g.sku for g in page] == ["A-2"]
        assert await uow.gadgets.count(F("quantity").between(2, 3)) == 2
        assert await uow.gadgets.exists(F("note").is_none() | (F("quantity") > 9))
        assert not await uow.gadgets.exists(F("quantity") > 9)
        again = await uow.gadgets.get(stored[2].id)
        assert again is not None
        assert again.sku == "A-3"
        assert await uow.gadgets.get_or_none(_gadget("B-1").id) is None
        # Each shape compiled once: the same shape with other values compiles nothing more.
        compiled = _compiled_shapes(mapping, Gadget)
        assert compiled > before
        assert await uow.gadgets.count(F("quantity").between(1, 1)) == 1
        assert _compiled_shapes(mapping, Gadget) == compiled
        # In the identity map: the same object, as any read returns it.
        assert await uow.gadgets.get(stored[0].id) is (await uow.gadgets.find(cheap))[0]


async def test_values_read_directly_are_converted_by_their_column_types(opened: Opened) -> None:
    shipment = _shipment("S-1")
    async with _factory(opened)() as uow:
        await uow.repository(Shipment).add(shipment)
        await uow.commit()
    async with _factory(opened)() as direct, _factory(opened, hooks=[RecordingHooks()])() as orm:
        shipments = direct.repository(Shipment)
        await shipments.exists(None)
        read = await shipments.get(shipment.id)
        [found] = await shipments.find(F("carrier") == Carrier.POST)
        expected = await orm.repository(Shipment).get(shipment.id)
        assert read is found
        assert read is not None
        assert expected is not None
        fields = ("code", "amount", "shipped_at", "carrier", "due", "fragile", "size", "version")
        assert {f: getattr(read, f) for f in fields} == {f: getattr(expected, f) for f in fields}
        assert read.carrier is Carrier.POST
        assert read.size == Dimensions(width_cm=30, height_cm=20)
        assert read.shipped_at == dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC)


async def test_a_query_after_a_change_flushes_it_first(opened: Opened) -> None:
    await _store(opened, _gadget("A-1", quantity=1))
    async with _factory(opened)() as uow:
        [gadget] = await uow.gadgets.find(None)
        gadget.quantity = 7
        assert await uow.gadgets.count(F("quantity") == 7) == 1
        assert [g.sku for g in await uow.gadgets.find(F("quantity") == 7)] == ["A-1"]


async def test_a_statement_listener_is_told_every_read(opened: Opened) -> None:
    database, _ = opened
    stored = _gadget("A-1")
    await _store(opened, stored)
    seen: list[str] = []

    def listen(*args: Any) -> None:
        seen.append(args[2])

    sa.event.listen(database.engine.sync_engine, "before_cursor_execute", listen)
    try:
        async with _factory(opened)() as uow:
            await uow.gadgets.exists(None)
            await uow.gadgets.get(stored.id)
            await uow.gadgets.find(F("quantity") > 0)
            await uow.gadgets.count(F("quantity") > 0)
    finally:
        sa.event.remove(database.engine.sync_engine, "before_cursor_execute", listen)
    assert len([sql for sql in seen if sql.lstrip().startswith("SELECT")]) == 4


async def test_the_hooks_are_told_every_direct_read(opened: Opened) -> None:
    _, mapping = opened
    stored = _gadget("A-1")
    await _store(opened, stored)
    hooks = RecordingHooks(statements=True)
    async with _factory(opened, hooks=[hooks])() as uow:
        await uow.gadgets.exists(None)
        before = _compiled_shapes(mapping, Gadget)
        await uow.gadgets.get(stored.id)
        assert await uow.gadgets.count(F("quantity") > 0) == 1
        assert _compiled_shapes(mapping, Gadget) > before  # read on the driver
    told = [event.statement for event in hooks.statements()]
    assert len(told) == 3
    assert all(sql.lstrip().startswith("SELECT") for sql in told)
    assert "FROM gadgets" in told[1]
    assert "count(*)" in told[2]


async def test_a_connection_with_execution_options_reads_through_sqlalchemy(
    opened: Opened,
) -> None:
    _, mapping = opened
    await _store(opened, _gadget("A-1"))
    async with _factory(opened)() as uow:
        session = cast("SqlAlchemyUnitOfWork", uow).session
        connection = await session.connection()
        await connection.execution_options(logging_token="orders")
        before = _compiled_shapes(mapping, Gadget)
        assert await uow.gadgets.count(F("sku") == "A-1") == 1
        assert _compiled_shapes(mapping, Gadget) == before


async def test_a_table_with_a_column_the_mapping_leaves_out(opened: Opened) -> None:
    database, _ = opened
    stored = [_gadget("A-1"), _gadget("A-2")]
    await _store(opened, *stored)
    async with database.engine.begin() as connection:
        await connection.execute(sa.text("ALTER TABLE gadgets ADD COLUMN extra INTEGER"))
    async with _factory(opened)() as uow:
        await uow.gadgets.exists(None)
        found = await uow.gadgets.get(stored[1].id)
        assert found is not None
        assert found.sku == "A-2"
        assert found.version == 1
        assert [g.sku for g in await uow.gadgets.find(None, order_by="sku")] == ["A-1", "A-2"]


async def test_a_database_closed_under_a_reading_unit_of_work(opened: Opened) -> None:
    database, _ = opened
    stored = _gadget("A-1")
    await _store(opened, stored)
    async with _factory(opened)() as uow:
        await uow.gadgets.exists(None)
        await database.close()
        with pytest.raises(DatabaseClosed, match="was closed while"):
            await uow.gadgets.get(stored.id)
        with pytest.raises(DatabaseClosed):
            await uow.gadgets.count(F("quantity") > 0)


async def test_an_invalidated_connection_is_not_read_directly(opened: Opened) -> None:
    await _store(opened, _gadget("A-1"))
    async with _factory(opened)() as uow:
        await uow.gadgets.exists(None)
        connection = await cast("SqlAlchemyUnitOfWork", uow).session.connection()
        await connection.invalidate()
        with pytest.raises(PersistenceError):
            await uow.gadgets.count(F("quantity") > 0)


def test_a_connection_of_another_driver_has_no_worker_to_read_on() -> None:
    engine = sa.create_engine("sqlite://")
    try:
        with engine.connect() as connection:
            assert WorkerReader().reader(connection) is None
    finally:
        engine.dispose()


def test_a_shape_keeps_the_nodes_and_the_values_go_in_binding_order() -> None:
    values: list[Any] = []
    spec = (F("price").between(1, 2) | F("note").is_none()) & ~(F("quantity") > 3)
    shape = spec_shape(spec, values)
    assert values == [1, 2, 3]
    other: list[Any] = []
    same = (F("price").between(5, 6) | F("note").is_none()) & ~(F("quantity") > 0)
    assert spec_shape(same, other) == shape
    assert other == [5, 6, 0]
    assert spec_shape(F("note").is_not_none(), []) != spec_shape(F("note").is_none(), [])
    assert spec_shape(None, []) == ()


@pytest.mark.parametrize(
    "spec",
    [
        F("sku").in_(["A", "B"]),
        F("name").contains("a"),
        F("lines").any(),
        F("quantity").is_none() & F("sku").in_(["A"]),
        ~F("sku").in_(["A"]),
    ],
    ids=["in", "match", "any", "and-with-in", "not-in"],
)
def test_a_spec_whose_sql_depends_on_its_values_has_no_shape(spec: Spec) -> None:
    assert spec_shape(spec, []) is None


class _Declining:
    """A database whose direct reader can run nothing: every other attribute is the DuckDB one's."""

    def __init__(self, database: Any) -> None:
        self._database = database

    def __getattr__(self, name: str) -> Any:
        return getattr(self._database, name)

    @property
    def direct_reader(self) -> _Declining:
        return self

    def reader(self, connection: sa.Connection) -> None:
        return None


async def test_a_database_whose_reader_declines_reads_through_sqlalchemy(
    opened: Opened,
) -> None:
    database, mapping = opened
    await _store(opened, _gadget("A-1"))
    async with _factory((_Declining(database), mapping))() as uow:
        await uow.gadgets.exists(None)
        before = _compiled_shapes(mapping, Gadget)
        assert await uow.gadgets.count(F("sku") == "A-1") == 1
        assert _compiled_shapes(mapping, Gadget) == before
