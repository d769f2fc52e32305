"""Parity: random aggregates and random specs give identical results in memory and in DuckDB.

Hypothesis generates gadgets (with NULLs, ties, LIKE metacharacters and mixed case), a spec over
every operator, an ordering over every field and direction, and a limit/offset; both adapters must
return the same ids in the same order, the same count and the same ``exists``. On DuckDB twice:
through the direct read path (after a unit of work's first statement) and through SQLAlchemy's
execution (which an application's statement listener on the engine makes every read take).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from tests.integration.duckdb._contract_mapping import (
    PARITY_KINDS,
    contract_mapping,
    module_database,
)
from tests.integration.duckdb._parity import combined, orderings, parity_settings

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork
from andamios.domain import F, Order, Spec
from andamios.ports import UnitOfWorkFactory
from andamios.testing.models import ContractUnitOfWork, Gadget

TEXT = st.text(alphabet="aAbB_%/ x", max_size=4)
PRICES = st.sampled_from([Decimal("-1.50"), Decimal("0.00"), Decimal("2.25"), Decimal("10.00")])
QUANTITIES = st.integers(min_value=-2, max_value=3)
WEIGHTS = st.none() | st.sampled_from([-1.5, 0.0, 2.25, 3.0])
DATES = st.none() | st.sampled_from([date(2023, 12, 31), date(2024, 1, 1), date(2024, 6, 30)])

VALUES: dict[str, st.SearchStrategy[Any]] = {
    "name": TEXT,
    "note": st.none() | TEXT,
    "price": PRICES,
    "quantity": QUANTITIES,
    "weight": WEIGHTS,
    "active": st.booleans(),
    "released": DATES,
}
ORDERABLE = ["sku", "name", "note", "price", "quantity", "weight", "active", "released", "id"]


@st.composite
def gadgets(draw: st.DrawFn) -> list[Gadget]:
    count = draw(st.integers(min_value=0, max_value=12))
    return [
        Gadget(
            sku=f"S{n:02}",
            name=draw(VALUES["name"]),
            price=draw(PRICES),
            quantity=draw(QUANTITIES),
            weight=draw(WEIGHTS),
            note=draw(VALUES["note"]),
            active=draw(st.booleans()),
            released=draw(DATES),
        )
        for n in range(count)
    ]


def _non_null(field: str) -> st.SearchStrategy[Any]:
    return VALUES[field].filter(lambda v: v is not None)


@st.composite
def leaves(draw: st.DrawFn) -> Spec:
    field = draw(st.sampled_from(sorted(VALUES)))
    value = _non_null(field)
    kind = draw(st.sampled_from(["cmp", "in", "not_in", "none", "between", "text"]))
    if kind == "cmp":
        op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
        target = draw(value)
        comparisons: dict[str, Spec] = {
            "==": F(field) == target,
            "!=": F(field) != target,
            "<": F(field) < target,
            "<=": F(field) <= target,
            ">": F(field) > target,
            ">=": F(field) >= target,
        }
        return comparisons[op]
    if kind in ("in", "not_in"):
        values = draw(st.lists(VALUES[field], min_size=1, max_size=3))
        return F(field).in_(values) if kind == "in" else F(field).not_in(values)
    if kind == "none":
        return F(field).is_none() if draw(st.booleans()) else F(field).is_not_none()
    if kind == "between":
        low, high = draw(value), draw(value)
        return F(field).between(low, high)
    text_field = draw(st.sampled_from(["name", "note"]))
    text = draw(TEXT)
    method = draw(st.sampled_from(["contains", "startswith", "endswith", "ilike"]))
    build: Callable[[str], Spec] = getattr(F(text_field), method)
    return build(text)


specs = combined(leaves(), max_leaves=5)

orders = orderings(ORDERABLE, max_size=3)


@pytest.fixture(scope="module", params=PARITY_KINDS)
def sql_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[asyncio.Runner, Any]]:
    """One SQL database (a DuckDB file, then PostgreSQL) per module; each example empties it."""
    directory = tmp_path_factory.mktemp("parity")
    with (
        contract_mapping() as mapping,
        module_database(directory, mapping, request.param) as (runner, database),
    ):
        yield (
            runner,
            SqlAlchemyUnitOfWork.factory(ContractUnitOfWork, database=database, mapping=mapping),
        )


async def _results(
    new_uow: UnitOfWorkFactory[ContractUnitOfWork],
    spec: Spec | None,
    order: list[Order],
    limit: int | None,
    offset: int,
) -> tuple[list[str], int, bool]:
    async with new_uow() as uow:
        # A first statement: the connection is there for the reads that follow (the direct
        # read path takes over from the second statement of a unit of work).
        await uow.gadgets.exists(None)
        found = await uow.gadgets.find(spec, order_by=order, limit=limit, offset=offset)
        return [g.sku for g in found], await uow.gadgets.count(spec), await uow.gadgets.exists(spec)


async def _load(new_uow: UnitOfWorkFactory[ContractUnitOfWork], rows: list[Gadget]) -> None:
    async with new_uow() as uow:
        await uow.gadgets.add_many(rows)
        await uow.commit()


def _listening(*_: object) -> None:
    """An application's statement listener: every read then runs through SQLAlchemy."""


def _copies(rows: list[Gadget]) -> list[Gadget]:
    return [Gadget(**{k: getattr(g, k) for k in Gadget.__dataclass_fields__}) for g in rows]


@parity_settings(150)  # per database: a DuckDB file, then PostgreSQL
@given(
    rows=gadgets(),
    spec=st.none() | specs,
    order=orders,
    limit=st.none() | st.integers(min_value=0, max_value=6),
    offset=st.integers(min_value=0, max_value=4),
)
def test_memory_and_duckdb_return_the_same_rows(  # noqa: PLR0917 - hypothesis passes by name
    sql_factory: Any,
    rows: list[Gadget],
    spec: Spec | None,
    order: list[Order],
    limit: int | None,
    offset: int,
) -> None:
    runner, duck = sql_factory

    async def compare() -> None:
        async with duck.database.engine.begin() as connection:
            await connection.execute(sa.text("DELETE FROM gadgets"))
        memory = InMemoryUnitOfWork.factory(ContractUnitOfWork)
        await _load(memory, _copies(rows))
        await _load(duck, _copies(rows))
        expected = await _results(memory, spec, order, limit, offset)
        actual = await _results(duck, spec, order, limit, offset)
        assert actual == expected, f"spec={spec!r} order={order!r}"
        engine = duck.database.engine.sync_engine
        sa.event.listen(engine, "before_cursor_execute", _listening)
        try:
            through_sqlalchemy = await _results(duck, spec, order, limit, offset)
        finally:
            sa.event.remove(engine, "before_cursor_execute", _listening)
        assert through_sqlalchemy == expected, f"spec={spec!r} order={order!r}"

    runner.run(compare())
