"""Parity of the flush: random steps in one unit of work, observed alike in memory and in SQL.

A SQL unit of work writes what changed before each query (autoflush); the in-memory one does
what that flush does at the same moments (ADR 0021). Hypothesis generates a unit of work's
steps: reads by id, queries, changes, adds (some of an id already stored), removals, commits and
rollbacks, with another unit of work committing a change in between (a stale version). After
each step both adapters must show the same: what the step returned or the error it raised, and
the version of every aggregate handed out so far; over a basket, its children too.

The other unit of work changes only rows this one has not changed or removed since its last
commit or rollback: a row a SQL flush wrote is locked until then (PostgreSQL makes the other
wait, which here, in one task, would be forever; DuckDB refuses it), which the in-memory
adapter does not model.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from hypothesis import example, given
from hypothesis import strategies as st
from tests.integration.duckdb._contract_mapping import (
    PARITY_KINDS,
    contract_mapping,
    module_database,
)
from tests.integration.duckdb._parity import parity_settings

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork
from andamios.domain import F, uuid7
from andamios.ports import UnitOfWorkFactory
from andamios.ports.errors import PersistenceError
from andamios.testing.models import Basket, BasketNote, ContractUnitOfWork, Gadget

type Factory = UnitOfWorkFactory[ContractUnitOfWork]
type Step = tuple[Any, ...]

#: The stored gadgets each example starts from, and the ids its adds use (two of them stored).
STORED = [uuid7() for _ in range(3)]
NEW = [uuid7(), uuid7()]
IDS = st.sampled_from(STORED + NEW)

STEPS: st.SearchStrategy[Step] = st.one_of(
    st.tuples(st.just("get"), IDS),
    st.tuples(st.just("count"), st.integers(0, 3)),
    st.tuples(st.just("find"), st.integers(0, 3)),
    st.tuples(st.just("change"), st.integers(0, 4), st.integers(0, 3)),
    st.tuples(st.just("add"), IDS),
    st.tuples(st.just("remove"), st.integers(0, 4)),
    st.tuples(st.just("theirs"), st.sampled_from(STORED)),
    st.just(("commit",)),
    st.just(("rollback",)),
)


@pytest.fixture(scope="module", params=PARITY_KINDS)
def sql_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, Factory]]:
    """One SQL database (a DuckDB file, then PostgreSQL) per module; each example empties it."""
    directory = tmp_path_factory.mktemp("parity_flush")
    with (
        contract_mapping() as mapping,
        module_database(directory, mapping, request.param) as (runner, database),
    ):
        yield (
            runner,
            SqlAlchemyUnitOfWork.factory(ContractUnitOfWork, database=database, mapping=mapping),
        )


async def _seed(new_uow: Factory) -> None:
    async with new_uow() as uow:
        await uow.gadgets.add_many(
            [
                Gadget(id=id, sku=f"S-{n}", name="stored", price=Decimal(1))
                for n, id in enumerate(STORED)
            ]
        )
        await uow.commit()


async def _observe(new_uow: Factory, steps: list[Step]) -> list[object]:
    """What each step shows: its result or error, and the versions of what was handed out."""
    held: list[Gadget] = []
    touched: set[UUID] = set()  # changed or removed since the last commit or rollback
    seen: list[object] = []
    async with new_uow() as uow:
        for step in steps:
            if step[0] in {"change", "remove"} and step[1] < len(held):
                touched.add(held[step[1]].id)
            try:
                if step[0] == "theirs" and step[1] in touched:
                    outcome: object = "locked"
                else:
                    outcome = await _run(new_uow, uow, held, step)
            except PersistenceError as error:
                outcome = type(error).__name__
            if step[0] in {"commit", "rollback"}:
                touched.clear()
            seen.append((step[0], outcome, [(g.version, g.quantity) for g in held]))
    return seen


async def _run(  # noqa: PLR0911 - one branch per kind of step
    new_uow: Factory, uow: ContractUnitOfWork, held: list[Gadget], step: Step
) -> object:
    match step:
        case ("get", id):
            found = await uow.gadgets.get_or_none(id)
            if found is not None and found not in held:
                held.append(found)
            return None if found is None else found.quantity
        case ("count", quantity):
            return await uow.gadgets.count(F("quantity") == quantity)
        case ("find", quantity):
            return sorted(g.sku for g in await uow.gadgets.find(F("quantity") >= quantity))
        case ("change", index, quantity):
            if index < len(held):
                held[index].quantity = quantity
            return None
        case ("add", id):
            fresh = Gadget(id=id, sku=f"N-{id}", name="new", price=Decimal(2))
            await uow.gadgets.add(fresh)
            held.append(fresh)
            return None
        case ("remove", index):
            if index < len(held):
                await uow.gadgets.remove(held[index])
            return None
        case ("theirs", id):
            async with new_uow() as other:
                theirs = await other.gadgets.get(id)
                theirs.quantity += 10
                await other.commit()
            return None
        case ("commit",):
            await uow.commit()
            return None
        case _:
            await uow.rollback()
            return None


@parity_settings(60)  # per database: a DuckDB file, then PostgreSQL
@given(steps=st.lists(STEPS, min_size=1, max_size=10))
# Found by the thorough profile: what the identity map held weakly when a rollback had nothing
# to roll back (the found gadgets only the unit of work saw) is still held, as in memory.
@example(steps=[("find", 0), ("commit",), ("add", STORED[0]), ("commit",), ("add", STORED[0])])
@example(steps=[("find", 0), ("commit",), ("add", STORED[0]), ("rollback",), ("add", STORED[0])])
def test_every_step_of_a_unit_of_work_shows_the_same_on_every_adapter(
    sql_factory: Any, steps: list[Step]
) -> None:
    runner, sql = sql_factory

    async def compare() -> None:
        async with sql.database.engine.begin() as connection:
            await connection.execute(sa.text("DELETE FROM gadgets"))
        memory = InMemoryUnitOfWork.factory(ContractUnitOfWork)
        await _seed(memory)
        await _seed(sql)
        expected = await _observe(memory, steps)
        actual = await _observe(sql, steps)
        assert actual == expected, f"steps={steps!r}"

    runner.run(compare())


#: Edits of a basket's children, and the steps around them in one unit of work.
BASKET_STEPS: st.SearchStrategy[Step] = st.one_of(
    st.tuples(st.just("line"), st.sampled_from(["a", "b"]), st.integers(1, 3)),
    st.tuples(st.just("quantity"), st.integers(0, 3), st.integers(1, 3)),
    st.tuples(st.just("drop"), st.integers(0, 3)),
    st.tuples(st.just("note"), st.none() | st.sampled_from(["x", "y"])),
    st.tuples(st.just("owner"), st.sampled_from(["ana", "bob", "cy"])),
    st.tuples(st.just("count"), st.integers(1, 3)),
    st.just(("another",)),
    st.just(("commit",)),
    st.just(("rollback",)),
)


def _edit(basket: Basket, step: Step) -> None:
    match step:
        case ("line", sku, quantity):
            basket.add_item(sku, quantity)
        case ("quantity", index, quantity):
            if index < len(basket.lines):
                basket.lines[index].quantity = quantity
        case ("drop", index):
            if index < len(basket.lines):
                del basket.lines[index]
        case ("note", text):
            basket.note = None if text is None else BasketNote(text=text)
        case ("owner", owner):
            basket.owner = owner


async def _observe_basket(new_uow: Factory, basket_id: UUID, steps: list[Step]) -> list[object]:
    """Each step's result or error, and the state and version of the baskets handed out."""
    seen: list[object] = []
    async with new_uow() as uow:
        baskets = uow.repository(Basket)
        held = [await baskets.get(basket_id)]
        for step in steps:
            outcome: object = None
            try:
                match step:
                    case ("count", quantity):
                        outcome = await baskets.count(F("lines").any(F("quantity") >= quantity))
                    case ("another",):
                        fresh = Basket(owner="bob")
                        await baskets.add(fresh)
                        held.append(fresh)
                    case ("commit",):
                        await uow.commit()
                    case ("rollback",):
                        await uow.rollback()
                        held = [await baskets.get(basket_id)]
                    case _:
                        _edit(held[0], step)
            except PersistenceError as error:
                outcome = type(error).__name__
            state = [
                (b.version, b.owner, [(i.sku, i.quantity) for i in b.lines], b.note and b.note.text)
                for b in held
            ]
            seen.append((step[0], outcome, state))
    return seen


@parity_settings(40)  # per database: a DuckDB file, then PostgreSQL
@given(steps=st.lists(BASKET_STEPS, min_size=1, max_size=10))
def test_every_step_over_child_entities_shows_the_same_on_every_adapter(
    sql_factory: Any, steps: list[Step]
) -> None:
    runner, sql = sql_factory

    async def compare() -> None:
        async with sql.database.engine.begin() as connection:
            for table in ("basket_lines", "basket_notes", "baskets"):
                await connection.execute(sa.text(f"DELETE FROM {table}"))
        basket_id = uuid7()
        observed = []
        for new_uow in (InMemoryUnitOfWork.factory(ContractUnitOfWork), sql):
            async with new_uow() as uow:
                basket = Basket(id=basket_id, owner="ana")
                basket.add_item("a")
                await uow.repository(Basket).add(basket)
                await uow.commit()
            observed.append(await _observe_basket(new_uow, basket_id, steps))
        assert observed[1] == observed[0], f"steps={steps!r}"

    runner.run(compare())
