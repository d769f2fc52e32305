"""Parity for specs over child entities: random baskets, random specs, the same answers.

Hypothesis generates baskets with 0-3 lines and an optional note, and specs mixing the basket's
own fields, ``F("lines").any(...)`` and ``F("note").any(...)`` (their inner specs combined too),
their negations (NOT EXISTS: true for a basket with no children) and the dotted one-to-one path
``F("note.text")`` (NULL without a note), ordered by ``owner`` and ``note.text`` in either
direction and NULL placement. The in-memory adapter and each SQL database must return the same
baskets in the same order through ``find`` (with limit and offset), ``count``, ``exists`` and
every page of ``page``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from tests.integration.duckdb._contract_mapping import PARITY_KINDS, map_basket, module_database
from tests.integration.duckdb._parity import combined, orderings, parity_settings

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.domain import F, Order, Spec, uuid7
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.testing.models import Basket, BasketLine, BasketNote


class Shop(UnitOfWork):
    baskets: Repository[Basket, UUID]


type Factory = UnitOfWorkFactory[Shop]
type Described = tuple[str, list[tuple[str, int]], str | None]
type Seen = tuple[list[str], int, bool, list[str]]

SKUS = st.sampled_from(["a", "b", "c"])
QUANTITIES = st.integers(min_value=-1, max_value=3)
NOTES = st.sampled_from(["x", "y", "xy", "Y"])
OWNERS = st.sampled_from(["ana", "bo", "cy", "dee"])

BASKETS: st.SearchStrategy[list[Described]] = st.lists(
    st.tuples(
        st.just(""),
        st.lists(st.tuples(SKUS, QUANTITIES), max_size=3),
        st.none() | NOTES,
    ),
    max_size=6,
).map(lambda rows: [(f"o{n}", lines, note) for n, (_, lines, note) in enumerate(rows)])


def _compare(field: str, values: st.SearchStrategy[Any]) -> st.SearchStrategy[Spec]:
    """Every comparison of ``field`` with a drawn value (``None`` never: that is ``is_none``)."""
    operators: list[Callable[[Any], Spec]] = [
        lambda v: F(field) == v,
        lambda v: F(field) != v,
        lambda v: F(field) < v,
        lambda v: F(field) >= v,
    ]
    return st.tuples(st.sampled_from(operators), values).map(lambda pair: pair[0](pair[1]))


def _texts(field: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[Spec]:
    return st.one_of(
        _compare(field, values),
        st.lists(values, min_size=1, max_size=2).map(lambda vs: F(field).in_(vs)),
        values.map(lambda v: F(field).startswith(v)),
        values.map(lambda v: F(field).ilike(f"%{v}")),
    )


LINE_LEAVES = st.one_of(
    _texts("sku", SKUS),
    _compare("quantity", QUANTITIES),
    st.tuples(QUANTITIES, QUANTITIES).map(lambda b: F("quantity").between(*b)),
)
NOTE_LEAVES = _texts("text", NOTES)
OWN_LEAVES = st.one_of(
    _texts("owner", OWNERS | st.sampled_from(["o1", "o3"])),
    _texts("note.text", NOTES),
    st.booleans().map(lambda b: F("note.text").is_none() if b else F("note.text").is_not_none()),
    st.booleans().map(lambda b: F("note").is_none() if b else F("note").is_not_none()),
    st.sampled_from(["lines", "note"]).map(lambda field: F(field).any()),
)
LEAVES = st.one_of(
    OWN_LEAVES,
    combined(LINE_LEAVES, max_leaves=3).map(lambda inner: F("lines").any(inner)),
    combined(NOTE_LEAVES, max_leaves=2).map(lambda inner: F("note").any(inner)),
)
SPECS = combined(LEAVES, max_leaves=4)
ORDERS = orderings(["owner", "note.text"], max_size=2)


@pytest.fixture(scope="module", params=PARITY_KINDS)
def sql_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[asyncio.Runner, Any]]:
    """One SQL database (a DuckDB file, then PostgreSQL) per module; each example empties it."""
    mapping = Mapping()
    map_basket(mapping)
    try:
        directory = tmp_path_factory.mktemp("parity_child_specs")
        with module_database(directory, mapping, request.param) as (runner, database):
            yield runner, SqlAlchemyUnitOfWork.factory(Shop, database=database, mapping=mapping)
    finally:
        mapping.clear()


def _build(rows: list[Described], ids: list[UUID]) -> list[Basket]:
    """Fresh baskets (each adapter gets its own objects) with the same ids."""
    return [
        Basket(
            id=id,
            owner=owner,
            lines=[
                BasketLine(position=n, sku=sku, quantity=quantity)
                for n, (sku, quantity) in enumerate(lines)
            ],
            note=None if note is None else BasketNote(text=note),
        )
        for id, (owner, lines, note) in zip(ids, rows, strict=True)
    ]


async def _seen(  # noqa: PLR0917 - one call per adapter, the same arguments
    new_uow: Factory,
    baskets: list[Basket],
    spec: Spec | None,
    order: list[Order],
    limit: int | None,
    offset: int,
) -> Seen:
    async with new_uow() as uow:
        await uow.baskets.add_many(baskets)
        await uow.commit()
    async with new_uow() as uow:
        found = await uow.baskets.find(spec, order_by=order, limit=limit, offset=offset)
        paged: list[str] = []
        page = await uow.baskets.page(spec, order_by=order, size=2)
        paged += [b.owner for b in page.items]
        while page.next is not None:
            page = await uow.baskets.page(spec, order_by=order, size=2, after=page.next)
            paged += [b.owner for b in page.items]
        return (
            [b.owner for b in found],
            await uow.baskets.count(spec),
            await uow.baskets.exists(spec),
            paged,
        )


@parity_settings(60)  # per database: a DuckDB file, then PostgreSQL
@given(
    rows=BASKETS,
    spec=st.none() | SPECS,
    order=ORDERS,
    limit=st.none() | st.integers(min_value=0, max_value=4),
    offset=st.integers(min_value=0, max_value=3),
)
def test_memory_and_sql_agree_on_specs_over_children(  # noqa: PLR0917 - hypothesis passes by name
    sql_factory: Any,
    rows: list[Described],
    spec: Spec | None,
    order: list[Order],
    limit: int | None,
    offset: int,
) -> None:
    runner, sql = sql_factory
    ids = [uuid7() for _ in rows]

    async def compare() -> None:
        async with sql.database.engine.begin() as connection:
            for table in ("basket_lines", "basket_notes", "baskets"):
                await connection.execute(sa.text(f"DELETE FROM {table}"))
        memory = InMemoryUnitOfWork.factory(Shop)
        expected = await _seen(memory, _build(rows, ids), spec, order, limit, offset)
        actual = await _seen(sql, _build(rows, ids), spec, order, limit, offset)
        assert actual == expected, f"spec={spec!r} order={order!r}"

    runner.run(compare())
