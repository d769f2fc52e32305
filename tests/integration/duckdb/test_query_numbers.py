"""Read models over numbers on every adapter: NaN, -0.0, NULL, huge integers, mixed types in joins.

Each query runs on memory, in-memory DuckDB, a DuckDB file and PostgreSQL; the rows must be the
same, value for value and type for type (``repr`` equal, so ``1.5`` is not ``1.50``).
"""

from __future__ import annotations

import math
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import composite
from tests.integration.duckdb._contract_mapping import DATABASE_KINDS, open_database

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, Avg, Count, F, ReadQuery, Sum, ValueObject
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class Money(ValueObject):
    amount: Decimal
    currency: str


@dataclass(eq=False, kw_only=True)
class Reading(AggregateRoot[UUID]):
    sensor: str
    value: float | None = None
    count: int = 0
    price: Money | None = None


@dataclass(eq=False, kw_only=True)
class Limit(AggregateRoot[UUID]):
    value: int | None = None
    label: str = ""


class Lab(UnitOfWork):
    readings: Repository[Reading, UUID]
    limits: Repository[Limit, UUID]


type Factory = UnitOfWorkFactory[Lab]


def _mapping() -> Mapping:
    mapping = Mapping()
    readings = sa.Table(
        "readings",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("sensor", sa.String, nullable=False),
        sa.Column("value", sa.Double),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("price_amount", sa.Numeric(12, 2)),
        sa.Column("price_currency", sa.String(3)),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(
        Reading,
        readings,
        properties={"price": composite(Money, readings.c.price_amount, readings.c.price_currency)},
    )
    limits = sa.Table(
        "limits",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("value", sa.BigInteger),
        sa.Column("label", sa.String, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(Limit, limits)
    return mapping


@pytest.fixture(params=("memory-adapter", *DATABASE_KINDS))
async def new_uow(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Factory]:
    if request.param == "memory-adapter":
        yield InMemoryUnitOfWork.factory(Lab)
        return
    mapping = _mapping()
    try:
        async with open_database(request.param, tmp_path, mapping) as database:
            yield SqlAlchemyUnitOfWork.factory(Lab, database=database, mapping=mapping)
    finally:
        mapping.clear()


READINGS = [
    ("a", math.nan, 2, Money(Decimal("1.50"), "EUR")),
    ("a", math.nan, sys.maxsize, None),
    ("b", 0.0, 1, Money(Decimal("2.25"), "EUR")),
    ("b", 0.0, 1, None),
    ("c", None, 0, None),
]


async def _stored(new_uow: Factory) -> None:
    async with new_uow() as uow:
        await uow.readings.add_many(
            [Reading(sensor=s, value=v, count=c, price=p) for s, v, c, p in READINGS]
        )
        await uow.limits.add_many(
            [Limit(value=1, label="one"), Limit(value=None, label="none"), Limit(value=2)]
        )
        await uow.commit()


def _shown(rows: list[Any]) -> list[str]:
    return [repr(sorted(row.items())) for row in rows]


async def test_groups_of_nan_and_null_and_their_aggregations(new_uow: Factory) -> None:
    await _stored(new_uow)
    query = (
        ReadQuery(Reading)
        .group_by("value")
        .select("value", n=Count(), total=Sum("price.amount"), mean=Avg("price.amount"))
        .order_by(F("value").desc(nulls_first=True))
    )
    async with new_uow() as uow:
        found = await uow.query(query)
        means = await uow.query(ReadQuery(Reading).select(mean=Avg("count"), sum=Sum("count")))
        distinct = await uow.query(ReadQuery(Reading).select(n=Count("value", distinct=True)))
        whole = await uow.query(ReadQuery(Reading).where(F("price").is_none()).select(n=Count()))
    # NaN sorts above every number and groups with NaN; NULL first as asked.
    assert [row["n"] for row in found] == [1, 2, 2]
    assert found[0] == {"value": None, "n": 1, "total": None, "mean": None}
    assert math.isnan(found[1]["value"])
    assert _shown(found[1:]) == _shown(
        [
            {"value": found[1]["value"], "n": 2, "total": Decimal("1.50"), "mean": 1.5},
            {"value": 0.0, "n": 2, "total": Decimal("2.25"), "mean": 2.25},
        ]
    )
    assert means == [{"mean": float(sys.maxsize + 4) / 5, "sum": sys.maxsize + 4}]
    assert type(means[0]["sum"]) is int
    assert distinct == [{"n": 2}]
    assert whole == [{"n": 3}]


async def test_joins_match_equal_numbers_and_never_null(new_uow: Factory) -> None:
    await _stored(new_uow)
    joined = (
        ReadQuery(Reading)
        .join(Limit, on=("reading.count", "limit.value"), outer=True)
        .select("reading.sensor", "reading.count", "limit.label")
        .order_by(["sensor", "count"])
    )
    async with new_uow() as uow:
        rows = await uow.query(joined)
    assert [(row["sensor"], row["count"], row["label"]) for row in rows] == [
        ("a", 2, ""),
        ("a", sys.maxsize, None),
        ("b", 1, "one"),
        ("b", 1, "one"),
        ("c", 0, None),
    ]
