"""``stream()`` on SQL databases: one statement read in batches, nothing kept alive, and pages
once anything else runs in the unit of work (the results: the repository contract)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.integration.duckdb._contract_mapping import (
    DATABASE_KINDS,
    contract_mapping,
    open_database,
)

from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork
from andamios.domain import F
from andamios.testing import RecordingHooks
from andamios.testing.models import ContractUnitOfWork, Gadget, GadgetRenamed

pytestmark = pytest.mark.asyncio


@pytest.fixture
def hooks() -> RecordingHooks:
    return RecordingHooks(statements=True)


@pytest.fixture(params=DATABASE_KINDS)
async def new_uow(
    request: pytest.FixtureRequest, tmp_path: Path, hooks: RecordingHooks
) -> AsyncIterator[Any]:
    with contract_mapping() as mapping:
        async with open_database(request.param, tmp_path, mapping) as database:
            factory = SqlAlchemyUnitOfWork.factory(
                ContractUnitOfWork, database=database, mapping=mapping, hooks=[hooks]
            )
            async with factory() as uow:
                await uow.gadgets.add_many(
                    Gadget(sku=f"S-{n:03}", name="bulk", price=Decimal(n)) for n in range(25)
                )
                await uow.commit()
            hooks.clear()
            yield factory


def _selects(hooks: RecordingHooks) -> int:
    return sum(e.statement.lstrip().upper().startswith("SELECT") for e in hooks.statements())


async def test_a_stream_is_one_statement_told_batch_by_batch(
    new_uow: Any, hooks: RecordingHooks
) -> None:
    async with new_uow() as uow:
        skus = [g.sku async for g in uow.gadgets.stream(order_by="sku", batch_size=10)]
    assert skus == [f"S-{n:03}" for n in range(25)]
    assert _selects(hooks) == 1
    streamed = [e for e in hooks.outline() if e[:2] == ("operation", "stream")]
    assert [e[3] for e in streamed] == [10, 10, 5]


async def test_a_stream_keeps_alive_only_what_changed(new_uow: Any) -> None:
    held: list[weakref.ref[Gadget]] = []
    async with new_uow() as uow:
        async for gadget in uow.gadgets.stream(order_by="sku", batch_size=10):
            held.append(weakref.ref(gadget))
            if gadget.sku == "S-003":
                gadget.price = Decimal(99)  # kept by the unit of work until it is written
        del gadget
        gc.collect()
        alive = [gadget for ref in held if (gadget := ref()) is not None]
        # Only the changed one (a stream of a million rows holds none of them).
        assert [g.sku for g in alive] == ["S-003"]
        del alive
        await uow.commit()
    async with new_uow() as uow:
        assert (await uow.gadgets.find(F("sku") == "S-003"))[0].price == Decimal(99)


async def test_an_event_recorded_on_a_streamed_aggregate_dropped_since_is_published(
    new_uow: Any,
) -> None:
    async with new_uow() as uow:
        stream = uow.gadgets.stream(order_by="sku", batch_size=10)
        first = await anext(aiter(stream))
        first.record(GadgetRenamed(gadget_id=first.id, name="told"))
        del first
        await stream.aclose()
        gc.collect()
        await uow.commit()
        events = [e.name for e in uow.collect_events() if isinstance(e, GadgetRenamed)]
    assert events == ["told"]


async def test_a_stream_goes_on_by_pages_once_something_else_ran(
    new_uow: Any, hooks: RecordingHooks
) -> None:
    async with new_uow() as uow:
        skus = []
        async for gadget in uow.gadgets.stream(order_by="sku", batch_size=10):
            skus.append(gadget.sku)
            if len(skus) == 5:
                # Six aggregates: the bulk path, whose staged rows DuckDB refuses to register
                # while a result is unread (the stream's is ended first).
                await uow.gadgets.add_many(
                    Gadget(sku=f"T-{n}", name="late", price=Decimal(n)) for n in range(6)
                )
        await uow.commit()
    assert skus == [f"S-{n:03}" for n in range(25)] + [f"T-{n}" for n in range(6)]
    # The statement for the first batch, then pages after its last row (S-009): 10, 10 and 1.
    assert _selects(hooks) == 4


async def test_a_stream_reads_a_raw_query_and_a_commit_in_its_loop(new_uow: Any) -> None:
    async with new_uow() as uow:
        skus = []
        async for gadget in uow.gadgets.stream(order_by="sku", batch_size=10):
            skus.append(gadget.sku)
            if len(skus) == 12:
                await uow.commit()
            elif len(skus) == 3:
                rows = await uow.sql.rows("SELECT count(*) AS n FROM gadgets")
                assert rows[0]["n"] == 25
    assert len(skus) == 25


async def test_a_commit_in_the_loop_ends_the_statement_and_pages_go_on(
    new_uow: Any, hooks: RecordingHooks
) -> None:
    async with new_uow() as uow:
        skus = []
        async for gadget in uow.gadgets.stream(order_by="sku", batch_size=10):
            skus.append(gadget.sku)
            if len(skus) == 12:
                await uow.commit()  # the only thing the loop does: its transaction ends
    assert skus == [f"S-{n:03}" for n in range(25)]
    # The statement for two batches, then one page after the second's last row (S-019).
    assert _selects(hooks) == 2
