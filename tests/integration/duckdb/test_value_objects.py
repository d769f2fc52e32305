"""Value objects as JSON (JsonValue), enums and NewType ids, in DuckDB and in memory alike."""

from __future__ import annotations

import enum
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import NewType
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import composite
from tests.integration.duckdb._contract_mapping import open_database
from tests.unit.ports.test_clock_and_audit import Touched

from andamios.adapters.duckdb import AsyncDuckDBDialect
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import JsonValue, Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, F, InvalidSpecification, ValueObject, uuid7
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import MappingError
from andamios.testing.models import Ticket

PlanId = NewType("PlanId", UUID)


class Tier(enum.StrEnum):
    FREE = "free"
    PRO = "pro"


@dataclass(frozen=True)
class Price(ValueObject):
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class Terms(ValueObject):
    """Stored whole as JSON: a Decimal, a date, an enum and a nested value object inside."""

    fee: Price
    starts: date
    tier: Tier
    tags: tuple[str, ...] = ()


@dataclass(eq=False, kw_only=True)
class Plan(AggregateRoot[PlanId]):
    name: str
    tier: Tier
    price: Price
    terms: Terms | None = None
    extras: list[int] = field(default_factory=list)


class Billing(UnitOfWork):
    plans: Repository[Plan, PlanId]


def _map(mapping: Mapping) -> None:
    table = sa.Table(
        "plans",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("tier", sa.Enum(Tier, native_enum=False), nullable=False),
        sa.Column("price_amount", sa.Numeric(10, 2), nullable=False),
        sa.Column("price_currency", sa.String(3), nullable=False),
        sa.Column("terms", JsonValue(Terms)),
        sa.Column("extras", JsonValue(list[int]), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(
        Plan,
        table,
        properties={"price": composite(Price, table.c.price_amount, table.c.price_currency)},
    )


@pytest.fixture(params=["duckdb", "memory"])
async def new_uow(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Factory]:
    if request.param == "memory":
        yield InMemoryUnitOfWork.factory(Billing)
        return
    mapping = Mapping()
    _map(mapping)
    try:
        async with open_database("memory", tmp_path, mapping) as database:
            yield SqlAlchemyUnitOfWork.factory(Billing, database=database, mapping=mapping)
    finally:
        mapping.clear()


type Factory = UnitOfWorkFactory[Billing]


def _plan(name: str, tier: Tier, amount: str, terms: Terms | None = None) -> Plan:
    return Plan(
        id=PlanId(uuid7()), name=name, tier=tier, price=Price(Decimal(amount), "EUR"), terms=terms
    )


async def test_value_objects_enums_and_new_type_ids_round_trip(new_uow: Factory) -> None:
    terms = Terms(Price(Decimal("1.50"), "EUR"), date(2026, 1, 1), Tier.PRO, ("yearly",))
    pro = _plan("pro", Tier.PRO, "12.00", terms)
    async with new_uow() as uow:
        await uow.plans.add(pro)
        await uow.plans.add(_plan("free", Tier.FREE, "0.00"))
        await uow.commit()
    async with new_uow() as uow:
        loaded = await uow.plans.get(pro.id)
        assert loaded is not pro
        assert (loaded.tier, loaded.price, loaded.terms) == (Tier.PRO, pro.price, terms)
        assert isinstance(loaded.terms, Terms)
        assert isinstance(loaded.terms.fee.amount, Decimal)
        assert [p.name for p in await uow.plans.find(F("price.amount") > 10)] == ["pro"]
        assert [p.name for p in await uow.plans.find(F("tier") == Tier.FREE)] == ["free"]
        assert await uow.plans.count(F("terms").is_none()) == 1
        assert [p.name for p in await uow.plans.find(order_by=F("price.amount").desc())] == [
            "pro",
            "free",
        ]
        loaded.terms = None
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.plans.count(F("terms").is_none()) == 2
        await uow.plans.add(
            _plan("basic", Tier.FREE, "5.00", replace(terms, fee=Price(Decimal("0.25"), "USD")))
        )
        await uow.plans.add(
            _plan("team", Tier.PRO, "20.00", replace(terms, starts=date(2025, 6, 1)))
        )
        await uow.commit()
    async with new_uow() as uow:
        # Inside a JSON value object: str, int, float, Decimal, bool and date fields.
        assert [p.name for p in await uow.plans.find(F("terms.fee.amount") > Decimal("1"))] == [
            "team"
        ]
        assert [p.name for p in await uow.plans.find(F("terms.fee.currency") == "USD")] == ["basic"]
        assert await uow.plans.count(F("terms.starts") < date(2026, 1, 1)) == 1
        assert await uow.plans.count(F("terms.fee.amount").is_none()) == 2
        by_fee = await uow.plans.find(
            order_by=[F("terms.fee.amount").desc(nulls_first=False), F("name")]
        )
        assert [p.name for p in by_fee] == ["team", "basic", "free", "pro"]
        with pytest.raises(TypeError, match="Plan ids are UUID"):
            await uow.plans.get("not-an-id")  # type: ignore[arg-type]


async def test_json_fields_a_column_cannot_compare_are_refused_before_sql(tmp_path: Path) -> None:
    mapping = Mapping()
    _map(mapping)
    try:
        stored = mapping.aggregate_mapping(Plan)
        fee = stored.column("terms.fee.amount")
        assert str(fee).startswith(
            "CAST(JSON_VALUE(plans.terms, '$.fee.amount') AS NUMERIC(38, 10))"
        )
        on_duckdb = fee.compile(dialect=AsyncDuckDBDialect())
        assert str(on_duckdb).startswith("CAST(json_extract_string(plans.terms, '$.fee.amount')")
        for path in ("terms.tier", "terms.tags", "extras.first", "price.unknown"):
            with pytest.raises(InvalidSpecification, match=f"Plan.{path} has no column"):
                stored.column(path)
        async with open_database("memory", tmp_path, mapping) as database:
            new_uow = SqlAlchemyUnitOfWork.factory(Billing, database=database, mapping=mapping)
            async with new_uow() as uow:
                with pytest.raises(InvalidSpecification, match="JsonValue"):
                    await uow.plans.count(F("terms.tier") == Tier.PRO)
    finally:
        mapping.clear()


def test_json_value_says_what_it_stores() -> None:
    assert repr(JsonValue(Terms)) == "JsonValue(Terms)"
    assert repr(JsonValue(list[int])) == "JsonValue(list[int])"
    assert JsonValue(Terms).process_bind_param(None, sa.Dialect()) is None


def test_a_value_object_field_without_a_column_is_refused_when_mapped() -> None:
    mapping = Mapping()
    table = sa.Table(
        "plans",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("tier", sa.Enum(Tier), nullable=False),
        sa.Column("price_amount", sa.Numeric(10, 2), nullable=False),
        sa.Column("terms", JsonValue(Terms)),
        sa.Column("extras", JsonValue(list[int]), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    with pytest.raises(MappingError, match=r"Plan.price is a Price with fields amount, currency"):
        mapping.map(Plan, table, properties={"price": composite(Price, table.c.price_amount)})
    assert not mapping.is_mapped(Plan)


def test_an_audit_timestamp_needs_a_timezone_aware_column() -> None:
    mapping = Mapping()
    table = sa.Table(
        "tickets",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("done", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    with pytest.raises(MappingError, match=r"Ticket.updated_at is an audit timestamp"):
        mapping.map(Ticket, table)
    assert not mapping.is_mapped(Ticket)


def test_soft_delete_needs_a_nullable_timezone_aware_column() -> None:
    mapping = Mapping()
    table = sa.Table(
        "tickets",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("title", sa.String, nullable=False),
        sa.Column("done", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    with pytest.raises(MappingError, match=r"Ticket.deleted_at marks soft deletes: map it to one"):
        mapping.map(Ticket, table)
    assert not mapping.is_mapped(Ticket)


def test_only_an_updated_at_stamp_is_allowed() -> None:
    mapping = Mapping()
    table = sa.Table(
        "touched",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("touched", sa.DateTime(timezone=True)),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(Touched, table)
    mapping.clear()


@pytest.mark.subprocess
def test_pydantic_is_imported_only_when_a_json_value_is_used() -> None:
    program = """
import sys
import sqlalchemy as sa
from andamios.adapters.duckdb import Database
from andamios.adapters.sqlalchemy import JsonValue, Mapping, SqlAlchemyUnitOfWork
column = JsonValue(dict)
print("before:", "pydantic" in sys.modules)
column.process_bind_param({"a": 1}, None)
print("after:", "pydantic" in sys.modules)
"""
    completed = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=False, timeout=60
    )
    assert completed.stdout.split() == ["before:", "False", "after:", "True"], completed.stderr
