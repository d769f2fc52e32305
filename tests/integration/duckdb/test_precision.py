"""Exact values survive every write path on every adapter: one by one, in bulk, and updated.

A ``Decimal`` of 38 digits in ``Numeric(38, 10)``, a float's last bit, an aware instant: what a
unit of work stores, a later one reads back equal, whether the ORM wrote it (fewer than
``BULK_THRESHOLD`` aggregates) or the bulk path (DuckDB's Arrow, PostgreSQL's ``COPY``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import pytest
import sqlalchemy as sa
from tests.integration.duckdb._contract_mapping import DATABASE_KINDS, open_database

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import BULK_THRESHOLD, Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, Aware, Digits
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import DataError


@dataclass(eq=False, kw_only=True)
class Entry(AggregateRoot[int]):
    amount: Annotated[Decimal, Digits(38, 10)]
    ratio: float
    at: Annotated[datetime, Aware()]


class Books(UnitOfWork):
    entries: Repository[Entry, int]


#: 28 digits before the point and 10 after: more than Python's default decimal context holds.
WIDE = Decimal("1234567890123456789012345678.0123456789")
VALUES = [
    (WIDE, 0.1 + 0.2, datetime(2026, 12, 1, 10, 30, 0, 123456, tzinfo=UTC)),
    (-WIDE, 1e308, datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=5)))),
    (Decimal("123456789012345.0123456789"), 5e-324, datetime(2000, 2, 29, tzinfo=UTC)),
    (Decimal("0.0000000001"), -0.0, datetime(2026, 1, 1, tzinfo=UTC)),
    (Decimal("-0.5"), 2.0**53 + 1, datetime(2026, 6, 1, 12, tzinfo=UTC)),
]

type Factory = UnitOfWorkFactory[Books]


@pytest.fixture(params=("adapter-memory", *DATABASE_KINDS))
async def books(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Factory]:
    mapping = Mapping()
    table = sa.Table(
        "entries",
        mapping.metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("amount", sa.Numeric(38, 10), nullable=False),
        sa.Column("ratio", sa.Double, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(Entry, table)
    try:
        if request.param == "adapter-memory":
            yield InMemoryUnitOfWork.factory(Books)
        else:
            async with open_database(request.param, tmp_path, mapping) as database:
                yield SqlAlchemyUnitOfWork.factory(Books, database=database, mapping=mapping)
    finally:
        mapping.clear()


def _entries(count: int, start: int = 0) -> list[Entry]:
    return [
        Entry(id=start + n, amount=amount, ratio=ratio, at=at)
        for n, (amount, ratio, at) in zip(range(count), VALUES * 3, strict=False)
    ]


def _seen(entries: list[Entry]) -> list[tuple[object, ...]]:
    return [(e.id, e.amount, repr(e.ratio), e.at) for e in sorted(entries, key=lambda e: e.id)]


@pytest.mark.parametrize(
    "count", [1, BULK_THRESHOLD, 2 * BULK_THRESHOLD], ids=["orm", "bulk", "bulk2"]
)
async def test_values_read_back_exactly_as_added(books: Factory, count: int) -> None:
    written = _entries(count)
    async with books() as uow:
        await uow.entries.add_many(written)
        await uow.commit()
    async with books() as uow:
        read = await uow.entries.find()
    assert _seen(read) == _seen(_entries(count))


@pytest.mark.parametrize("count", [1, BULK_THRESHOLD], ids=["orm", "bulk"])
async def test_values_read_back_exactly_as_updated(books: Factory, count: int) -> None:
    async with books() as uow:
        await uow.entries.add_many(
            [
                Entry(id=n, amount=Decimal(0), ratio=0.0, at=datetime(2026, 1, 1, tzinfo=UTC))
                for n in range(count)
            ]
        )
        await uow.commit()
    async with books() as uow:
        for entry, (amount, ratio, at) in zip(await uow.entries.find(), VALUES, strict=False):
            entry.amount, entry.ratio, entry.at = amount, ratio, at
        await uow.commit()
    async with books() as uow:
        read = await uow.entries.find()
    expected = [(n, *VALUES[n]) for n in range(count)]
    assert [(e.id, e.amount, e.ratio, e.at) for e in sorted(read, key=lambda e: e.id)] == expected


async def test_a_39th_digit_is_refused_alike(books: Factory) -> None:
    async with books() as uow:
        await uow.entries.add(Entry(id=1, amount=WIDE * 10, ratio=0.0, at=VALUES[0][2]))
        with pytest.raises(DataError, match=r"is out of range for Digits\(38, 10\)"):
            await uow.commit()


#: Values ``Digits(38, 10)`` refuses, each for its own reason: what every adapter says of it.
UNFIT = {
    "a-place-too-many": (Decimal("0.00000000001"), "has more than 10 decimal places for"),
    "a-digit-too-many": (WIDE * 10, "is out of range for"),
    "not-a-number": (Decimal("NaN"), "is NaN, which no"),
    "infinite": (Decimal("-Infinity"), "is -Infinity, which no"),
}


@pytest.mark.parametrize(("amount", "reason"), UNFIT.values(), ids=UNFIT.keys())
async def test_a_decimal_that_does_not_fit_is_refused_alike_in_bulk(
    books: Factory, amount: Decimal, reason: str
) -> None:
    entries = _entries(BULK_THRESHOLD)
    entries[3].amount = amount

    async def add_and_commit() -> None:  # refused by add_many on some adapters, by commit on others
        async with books() as uow:
            await uow.entries.add_many(entries)
            await uow.commit()

    with pytest.raises(DataError) as refused:
        await add_and_commit()
    assert str(refused.value).startswith(f"Entry 3: amount = {amount!r} {reason} Digits(38, 10)")
    async with books() as uow:
        assert await uow.entries.count() == 0


async def test_trailing_zeros_past_the_precision_are_kept_alike_in_bulk(books: Factory) -> None:
    entries = _entries(BULK_THRESHOLD)
    entries[3].amount = Decimal("1." + "0" * 40)  # 41 digits, of which 10 are not zeros-only
    async with books() as uow:
        await uow.entries.add_many(entries)
        await uow.commit()
    async with books() as uow:
        assert (await uow.entries.get(3)).amount == Decimal("1.0000000000")
