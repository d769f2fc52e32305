"""Parity for child entities: random edits of a basket's lines and note, in memory and DuckDB.

Hypothesis generates units of work that append, remove and change lines and set, replace, edit
or clear the one-to-one note; after each commit both adapters must load the same children, in
the same order, at the same version.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from tests.integration.duckdb._contract_mapping import PARITY_KINDS, map_basket, module_database
from tests.integration.duckdb._parity import parity_settings

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.domain import uuid7
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.testing.models import Basket, BasketNote


class Shop(UnitOfWork):
    baskets: Repository[Basket, UUID]


type Factory = UnitOfWorkFactory[Shop]
type Edit = tuple[Any, ...]
type Seen = tuple[list[tuple[int, str, int]], str | None, int]

SKUS = st.sampled_from(["a", "b", "c"])
EDITS: st.SearchStrategy[Edit] = st.one_of(
    st.tuples(st.just("add"), SKUS, st.integers(1, 3)),
    st.tuples(st.just("remove"), st.integers(0, 4)),
    st.tuples(st.just("quantity"), st.integers(0, 4), st.integers(1, 3)),
    st.tuples(st.just("note"), st.none() | st.sampled_from(["x", "y"])),
    st.tuples(st.just("edit"), st.sampled_from(["x", "z"])),
)
UNITS = st.lists(st.lists(EDITS, max_size=5), min_size=1, max_size=4)


@pytest.fixture(scope="module", params=PARITY_KINDS)
def sql_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, Factory]]:
    """One SQL database (a DuckDB file, then PostgreSQL) per module; each example empties it."""
    mapping = Mapping()
    map_basket(mapping)
    try:
        directory = tmp_path_factory.mktemp("parity_children")
        with module_database(directory, mapping, request.param) as (runner, database):
            yield runner, SqlAlchemyUnitOfWork.factory(Shop, database=database, mapping=mapping)
    finally:
        mapping.clear()


def _apply(basket: Basket, edit: Edit) -> None:
    kind, *args = edit
    if kind == "add":
        basket.add_item(args[0], args[1])
    elif kind == "note":
        basket.note = None if args[0] is None else BasketNote(text=args[0])
    elif kind == "edit":
        if basket.note is not None:
            basket.note.text = args[0]
    elif basket.lines:
        index = args[0] % len(basket.lines)
        if kind == "remove":
            del basket.lines[index]
        else:
            basket.lines[index].quantity = args[1]


async def _run(new_uow: Factory, basket_id: Any, units: list[list[Edit]]) -> list[Seen]:
    async with new_uow() as uow:
        await uow.baskets.add(Basket(id=basket_id, owner="ana"))
        await uow.commit()
    seen: list[Seen] = []
    for edits in units:
        async with new_uow() as uow:
            basket = await uow.baskets.get(basket_id)
            for edit in edits:
                _apply(basket, edit)
            await uow.commit()
        async with new_uow() as uow:
            again = await uow.baskets.get(basket_id)
            lines = [(line.position, line.sku, line.quantity) for line in again.lines]
            seen.append((lines, again.note.text if again.note else None, again.version))
    return seen


@parity_settings(40)  # per database: a DuckDB file, then PostgreSQL
@given(units=UNITS)
def test_memory_and_duckdb_agree_on_child_entities(
    sql_factory: Any, units: list[list[Edit]]
) -> None:
    runner, duck = sql_factory

    async def compare() -> None:
        async with duck.database.engine.begin() as connection:
            for table in ("basket_lines", "basket_notes", "baskets"):
                await connection.execute(sa.text(f"DELETE FROM {table}"))
        basket_id = uuid7()
        memory = await _run(InMemoryUnitOfWork.factory(Shop), basket_id, units)
        assert memory == await _run(duck, basket_id, units)

    runner.run(compare())
