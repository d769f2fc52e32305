"""Read-model queries on which the adapters once diverged, each reduced to its smallest case.

Every case was found by the parity property test (``test_parity_queries.py``) and runs here on
the in-memory adapter, in-memory DuckDB, a DuckDB file and PostgreSQL: the same rows, each value
of the same type, or the same refusal.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from tests.integration.duckdb._contract_mapping import (
    DATABASE_KINDS,
    contract_mapping,
    open_database,
)

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork
from andamios.domain import Avg, Count, F, InvalidSpecification, Max, Min, ReadQuery, Sum
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.testing.models import Basket, BasketNote, Gadget


class Shop(UnitOfWork):
    gadgets: Repository[Gadget, UUID]
    baskets: Repository[Basket, UUID]


type Factory = UnitOfWorkFactory[Shop]

#: Ids on both sides of the top bit, so that an order of signed numbers would show.
LOW = UUID("7fffffff-0000-7000-8000-000000000001")
HIGH = UUID("80000000-0000-7000-8000-000000000002")


@pytest.fixture(params=("in-memory", *DATABASE_KINDS))
async def new_uow(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Factory]:
    """A factory of units of work over two gadgets and three baskets (two notes say "x")."""
    if request.param == "in-memory":
        factory: Factory = InMemoryUnitOfWork.factory(Shop)
        await _fill(factory)
        yield factory
        return
    with contract_mapping() as mapping:
        async with open_database(request.param, tmp_path, mapping) as database:
            factory = SqlAlchemyUnitOfWork.factory(Shop, database=database, mapping=mapping)
            await _fill(factory)
            yield factory


async def _fill(new_uow: Factory) -> None:
    async with new_uow() as uow:
        await uow.gadgets.add_many(
            [
                Gadget(id=HIGH, sku="a", name="x", price=Decimal("1.50"), quantity=2),
                Gadget(id=LOW, sku="b", name="y", price=Decimal("0.25"), quantity=3),
            ]
        )
        await uow.baskets.add_many(
            [
                Basket(owner="ana", note=BasketNote(text="x")),
                Basket(owner="bo"),
                Basket(owner="cy", note=BasketNote(text="x")),
            ]
        )
        await uow.commit()


async def _rows(new_uow: Factory, query: ReadQuery[Any]) -> list[dict[str, Any]]:
    async with new_uow() as uow:
        return await uow.query(query)


def _typed(rows: list[dict[str, Any]]) -> list[dict[str, tuple[type, Any]]]:
    return [{name: (type(value), value) for name, value in row.items()} for row in rows]


async def test_groups_by_a_field_of_a_one_to_one_child(new_uow: Factory) -> None:
    # SQL grouped by one scalar subquery and selected another alias of it: DuckDB and
    # PostgreSQL refused the statement ("must appear in the GROUP BY clause").
    query = ReadQuery(Basket).group_by("note.text").select("note.text", n=Count())
    assert await _rows(new_uow, query) == [{"text": "x", "n": 2}, {"text": None, "n": 1}]


async def test_groups_by_a_field_of_a_one_to_one_child_among_joins(new_uow: Factory) -> None:
    query = (
        ReadQuery(Basket)
        .join("basket.note", outer=True)
        .group_by("basket.note.text")
        .select(k="basket.note.text", n=Count("note.id"))
        .having(F("k") == "x")
    )
    assert await _rows(new_uow, query) == [{"k": "x", "n": 2}]


async def test_min_and_max_of_uuids(new_uow: Factory) -> None:
    # PostgreSQL has no min(uuid)/max(uuid): the query failed there.
    query = ReadQuery(Gadget).select(low=Min("id"), high=Max("id"))
    assert _typed(await _rows(new_uow, query)) == [{"low": (UUID, LOW), "high": (UUID, HIGH)}]


async def test_min_of_uuids_per_group_and_over_no_rows(new_uow: Factory) -> None:
    grouped = ReadQuery(Gadget).group_by("sku").select("sku", low=Min("id"))
    assert await _rows(new_uow, grouped) == [{"sku": "a", "low": HIGH}, {"sku": "b", "low": LOW}]
    nothing = ReadQuery(Gadget).where(F("sku") == "z").select(low=Min("id"))
    assert await _rows(new_uow, nothing) == [{"low": None}]


async def test_an_id_is_a_uuid_uuid(new_uow: Factory) -> None:
    # asyncpg returns its own subclass of uuid.UUID: equal, but not the same type.
    query = ReadQuery(Gadget).select("id").order_by("id")
    assert _typed(await _rows(new_uow, query)) == [{"id": (UUID, LOW)}, {"id": (UUID, HIGH)}]


async def test_an_id_of_an_outer_joined_child_is_a_uuid_or_none(new_uow: Factory) -> None:
    query = (
        ReadQuery(Basket)
        .join("basket.note", outer=True)
        .select("basket.owner", note="note.id")
        .order_by("owner")
    )
    rows = await _rows(new_uow, query)
    assert [type(row["note"]) for row in rows] == [UUID, type(None), UUID]


@pytest.mark.parametrize(
    "query",
    [
        # PostgreSQL bound 0.25 as the count's bigint, 0: the group of no gadgets matched.
        ReadQuery(Gadget).where(F("sku") == "z").select(n=Count()).having(F("n") == 0.25),
        ReadQuery(Gadget).select(n=Count("note")).having(F("n").in_([1, 0.5])),
        ReadQuery(Gadget).select(total=Sum("quantity")).having(F("total") > 4.5),
        ReadQuery(Gadget).select(total=Sum("price")).having(F("total") == 1.75),
        ReadQuery(Gadget).select(mean=Avg("quantity")).having(F("mean") == Decimal("2.5")),
    ],
    ids=["count-float", "count-in", "int-sum-float", "decimal-sum-float", "mean-decimal"],
)
async def test_a_number_output_compares_with_the_numbers_of_its_type(
    new_uow: Factory, query: ReadQuery[Any]
) -> None:
    with pytest.raises(InvalidSpecification, match="a count, sum or mean"):
        await _rows(new_uow, query)


async def test_a_number_output_takes_whole_numbers_and_numbers_of_its_type(
    new_uow: Factory,
) -> None:
    query = (
        ReadQuery(Gadget)
        .select(n=Count(), total=Sum("price"), mean=Avg("quantity"), whole=Sum("quantity"))
        .having(
            (F("n") == 2)
            & (F("total") == Decimal("1.75"))
            & (F("total") > 1)
            & (F("mean") == 2.5)
            & (F("mean") > 2)
            & (F("whole") == 5)
        )
    )
    assert _typed(await _rows(new_uow, query)) == [
        {
            "n": (int, 2),
            "total": (Decimal, Decimal("1.75")),
            "mean": (float, 2.5),
            "whole": (int, 5),
        }
    ]


@pytest.mark.parametrize(
    ("values", "field", "mean"),
    [
        # DuckDB's AVG of decimals: their sum as a float, divided (the exact mean is -0.99).
        ([Decimal("-2.97"), Decimal("0.00"), Decimal("0.00")], "price", -0.9900000000000001),
        # PostgreSQL's AVG divides numerics to 16-20 digits first: 0.003333333333333333 there.
        ([Decimal("0.01"), Decimal("0.00"), Decimal("0.00")], "price", 0.0033333333333333335),
        # ... and of integers too: -3.555555555555556 there.
        ([-32, 0, 0, 0, 0, 0, 0, 0, 0], "quantity", -3.5555555555555554),
    ],
    ids=["duckdb-decimals", "postgresql-decimals", "postgresql-integers"],
)
async def test_a_mean_is_the_sum_as_a_float_divided_by_the_count(
    new_uow: Factory, values: list[Any], field: str, mean: float
) -> None:
    async with new_uow() as uow:
        await uow.gadgets.add_many(
            [
                Gadget(**{"sku": "m", "name": "m", "price": Decimal(0), field: value})
                for value in values
            ]
        )
        await uow.commit()
    query = ReadQuery(Gadget).where(F("sku") == "m").select(mean=Avg(field))
    assert _typed(await _rows(new_uow, query)) == [{"mean": (float, mean)}]
    assert mean == float(sum(values)) / len(values)
