"""Parity for richer aggregates: value objects (composite and JSON) and enums, in memory and DuckDB.

Hypothesis generates listings whose price is a two-column value object, whose size is a JSON value
object (or NULL) and whose carrier is an enum, and specs and orderings that reach inside both
value objects with dotted paths; both adapters must return the same ids in the same order, the
same count and ``exists``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import composite
from tests.integration.duckdb._contract_mapping import PARITY_KINDS, module_database
from tests.integration.duckdb._parity import combined, orderings, parity_settings

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import JsonValue, Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, F, Order, Spec, ValueObject
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.testing.models import Carrier, Dimensions


@dataclass(frozen=True)
class Money(ValueObject):
    amount: Decimal
    currency: str


@dataclass(eq=False, kw_only=True)
class Listing(AggregateRoot[UUID]):
    code: str
    price: Money
    carrier: Carrier
    size: Dimensions | None = None


class Market(UnitOfWork):
    listings: Repository[Listing, UUID]


type Factory = UnitOfWorkFactory[Market]

AMOUNTS = st.sampled_from([Decimal("-1.50"), Decimal("0.00"), Decimal("2.25"), Decimal("10.00")])
CURRENCIES = st.sampled_from(["EUR", "USD", "eur", "E_R"])
CARRIERS = st.sampled_from(list(Carrier))
SIZES = st.none() | st.builds(Dimensions, width_cm=st.integers(0, 3), height_cm=st.integers(0, 3))


@st.composite
def listings(draw: st.DrawFn) -> list[Listing]:
    count = draw(st.integers(min_value=0, max_value=10))
    return [
        Listing(
            code=f"L{n:02}",
            price=Money(draw(AMOUNTS), draw(CURRENCIES)),
            carrier=draw(CARRIERS),
            size=draw(SIZES),
        )
        for n in range(count)
    ]


def _amount(draw: st.DrawFn) -> Spec:
    op = draw(st.sampled_from(["==", "<", ">=", "in", "between"]))
    amount = draw(AMOUNTS)
    if op == "in":
        return F("price.amount").in_(draw(st.lists(AMOUNTS, min_size=1, max_size=3)))
    if op == "between":
        return F("price.amount").between(amount, draw(AMOUNTS))
    return {
        "==": F("price.amount") == amount,
        "<": F("price.amount") < amount,
        ">=": F("price.amount") >= amount,
    }[op]


def _currency(draw: st.DrawFn) -> Spec:
    currency = draw(CURRENCIES)
    method = draw(st.sampled_from(["==", ">", "contains", "startswith", "ilike"]))
    if method == "==":
        return F("price.currency") == currency
    if method == ">":
        return F("price.currency") > currency
    text = draw(st.sampled_from(["E", "e", "_", "%R"]))
    return getattr(F("price.currency"), method)(text)  # type: ignore[no-any-return]


@st.composite
def leaves(draw: st.DrawFn) -> Spec:
    kind = draw(st.sampled_from(["amount", "currency", "carrier", "size", "inside", "whole"]))
    if kind == "amount":
        return _amount(draw)
    if kind == "currency":
        return _currency(draw)
    if kind == "carrier":
        carrier = draw(CARRIERS)
        return F("carrier") == carrier if draw(st.booleans()) else F("carrier").not_in([carrier])
    if kind == "whole":  # the value object in two columns, tested as a whole
        return F("price").is_none() if draw(st.booleans()) else F("price").is_not_none()
    if kind == "inside":  # a field of the JSON value object
        width = draw(st.integers(0, 3))
        return F("size.width_cm") <= width if draw(st.booleans()) else F("size.height_cm") != width
    return F("size").is_none() if draw(st.booleans()) else F("size").is_not_none()


specs = combined(leaves(), max_leaves=4)

orders = orderings(["price.amount", "price.currency", "size.width_cm", "code"], max_size=2)


def _map(mapping: Mapping) -> None:
    table = sa.Table(
        "listings",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("code", sa.String, nullable=False),
        sa.Column("price_amount", sa.Numeric(8, 2), nullable=False),
        sa.Column("price_currency", sa.String(3), nullable=False),
        sa.Column("carrier", sa.Enum(Carrier, native_enum=False), nullable=False),
        sa.Column("size", JsonValue(Dimensions)),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(
        Listing,
        table,
        properties={"price": composite(Money, table.c.price_amount, table.c.price_currency)},
    )


@pytest.fixture(scope="module", params=PARITY_KINDS)
def sql_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, Factory]]:
    """One SQL database (a DuckDB file, then PostgreSQL) per module; each example empties it."""
    mapping = Mapping()
    _map(mapping)
    try:
        directory = tmp_path_factory.mktemp("parity_value_objects")
        with module_database(directory, mapping, request.param) as (runner, database):
            yield runner, SqlAlchemyUnitOfWork.factory(Market, database=database, mapping=mapping)
    finally:
        mapping.clear()


async def _results(
    new_uow: Factory, spec: Spec | None, order: list[Order], limit: int | None
) -> tuple[list[str], int, bool]:
    async with new_uow() as uow:
        found = await uow.listings.find(spec, order_by=order, limit=limit)
        counted = await uow.listings.count(spec)
        return [item.code for item in found], counted, await uow.listings.exists(spec)


async def _load(new_uow: Factory, rows: list[Listing]) -> None:
    copies = [Listing(**{k: getattr(r, k) for k in Listing.__dataclass_fields__}) for r in rows]
    async with new_uow() as uow:
        await uow.listings.add_many(copies)
        await uow.commit()


@parity_settings(60)  # per database: a DuckDB file, then PostgreSQL
@given(
    rows=listings(),
    spec=st.none() | specs,
    order=orders,
    limit=st.none() | st.integers(min_value=0, max_value=5),
)
def test_memory_and_duckdb_agree_on_value_objects_and_enums(
    sql_factory: Any,
    rows: list[Listing],
    spec: Spec | None,
    order: list[Order],
    limit: int | None,
) -> None:
    runner, duck = sql_factory

    async def compare() -> None:
        async with duck.database.engine.begin() as connection:
            await connection.execute(sa.text("DELETE FROM listings"))
        memory = InMemoryUnitOfWork.factory(Market)
        await _load(memory, rows)
        await _load(duck, rows)
        assert await _results(memory, spec, order, limit) == await _results(
            duck, spec, order, limit
        )

    runner.run(compare())
