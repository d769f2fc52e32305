"""The Arrow bulk path of the SQLAlchemy adapter on DuckDB: column types, plans, fallbacks.

The semantics every adapter shares are in the contract suite (``BulkContract``); these tests pin
what only the SQL side has: which column types and mappings take the Arrow path, what reaches the
database, and the errors of values Arrow refuses.
"""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import composite, relationship
from tests.integration.duckdb._contract_mapping import contract_mapping, open_database

from andamios.adapters.duckdb import Database
from andamios.adapters.duckdb._staging import _at_scale
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.adapters.sqlalchemy._bulk import BULK_THRESHOLD, BulkWriter, no_gc
from andamios.adapters.sqlalchemy._session import AggregateSession
from andamios.domain import AggregateRoot, Entity
from andamios.ports import (
    Aware,
    Bits,
    Digits,
    MaxLength,
    Repository,
    UnitOfWork,
    UnitOfWorkFactory,
    storage_rules,
)
from andamios.ports.errors import DataError, DuplicateError, MappingError, PersistenceError
from andamios.testing.models import ContractUnitOfWork, Gadget, Shipment

MANY = BULK_THRESHOLD * 3


@dataclass(eq=False, kw_only=True)
class Sample(AggregateRoot[UUID]):
    small: int
    big: int
    ratio: float
    taken: datetime
    at_utc: datetime | None = None
    clock: time | None = None
    wait: timedelta | None = None
    blob: bytes | None = None
    extra: str | None = None


class Lab(UnitOfWork):
    samples: Repository[Sample, UUID]


def sample_table(mapping: Mapping, *extra: sa.Column[Any]) -> sa.Table:
    return sa.Table(
        "samples",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("small", sa.SmallInteger, nullable=False),
        sa.Column("big", sa.BigInteger, nullable=False),
        sa.Column("ratio", sa.Double, nullable=False),
        sa.Column("taken", sa.DateTime, nullable=False),
        sa.Column("at_utc", sa.DateTime(timezone=True)),
        sa.Column("clock", sa.Time),
        sa.Column("wait", sa.Interval),
        sa.Column("blob", sa.LargeBinary),
        sa.Column("Extra", sa.String, key="extra"),  # a name that needs quoting
        sa.Column("version", sa.Integer, nullable=False),
        *extra,
    )


@dataclass
class Setup:
    database: Database
    mapping: Mapping
    statements: list[str]

    def factory(self, threshold: int | None = None) -> UnitOfWorkFactory[Lab]:
        return SqlAlchemyUnitOfWork.factory(
            Lab, database=self.database, mapping=self.mapping, bulk_threshold=threshold
        )


async def _open(tmp_path: Path, mapping: Mapping) -> AsyncIterator[Setup]:
    async with open_database("file", tmp_path, mapping) as database:
        statements: list[str] = []

        def record(conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        sa.event.listen(database.engine.sync_engine, "before_cursor_execute", record)
        yield Setup(database, mapping, statements)


@pytest.fixture
async def lab(tmp_path: Path) -> AsyncIterator[Setup]:
    mapping = Mapping()
    mapping.map(Sample, sample_table(mapping, sa.Column("note", sa.String)))
    try:
        async for each in _open(tmp_path, mapping):
            yield each
    finally:
        mapping.clear()


def _samples(count: int, *, aware: bool = False) -> list[Sample]:
    # Reading a TIMESTAMP WITH TIME ZONE back needs pytz (DuckDB's Python conversion): only the
    # first test stores one, and reads it as text.
    return [
        Sample(small=n, big=2**40 + n, ratio=n / 4, taken=datetime(2024, 1, 1, 12, n % 60),
               at_utc=datetime(2024, 1, 1, n % 24, tzinfo=UTC) if aware else None,
               clock=time(8, n % 60), wait=timedelta(seconds=n), blob=bytes([n % 256]))
        for n in range(count)
    ]  # fmt: skip


async def test_every_supported_column_type_is_written_by_one_insert(lab: Setup) -> None:
    samples = _samples(MANY, aware=True)
    async with lab.factory()() as uow:
        await uow.samples.add_many(samples)
        assert not any(s.startswith("INSERT") for s in lab.statements)  # Arrow, not the ORM
        await uow.commit()
    async with lab.database.engine.connect() as conn:
        rows = (
            await conn.execute(
                sa.text(
                    "SELECT small, big, ratio, taken, at_utc::VARCHAR, clock, wait, blob, note "
                    "FROM samples ORDER BY small"
                )
            )
        ).all()
    assert len(rows) == MANY
    assert tuple(rows[5]) == (
        5, 2**40 + 5, 1.25, datetime(2024, 1, 1, 12, 5), "2024-01-01 05:00:00+00",
        time(8, 5), timedelta(seconds=5), b"\x05", None,
    )  # fmt: skip


async def test_the_orm_path_is_taken_below_the_threshold_and_never_without_arrow(
    lab: Setup,
) -> None:
    async with lab.factory(threshold=MANY + 1)() as uow:
        await uow.samples.add_many(_samples(MANY))
        await uow.commit()
    assert any(s.startswith("INSERT INTO samples") for s in lab.statements)


async def test_an_attribute_missing_from_the_instance_is_read_through_the_mapping(
    tmp_path: Path,
) -> None:
    mapping = Mapping()
    table = sample_table(mapping, sa.Column("note", sa.String))
    # ``note`` is mapped, but no dataclass field sets it: constructed samples lack it.
    mapping.map(Sample, table, properties={"note": table.c.note})
    try:
        async for lab in _open(tmp_path, mapping):
            async with lab.factory()() as uow:
                await uow.samples.add_many(_samples(MANY))
                await uow.commit()
                assert await uow.samples.count() == MANY
    finally:
        mapping.clear()


@dataclass(eq=False, kw_only=True)
class Loose(AggregateRoot[UUID]):
    amount: Decimal
    key: object  # what the column stores is the mapping's business here


class Loosely(UnitOfWork):
    looses: Repository[Loose, UUID]


# Each type is made in the test: one made at collection stays referenced by its test item until
# the interpreter's last teardown, and with a Hypothesis test in the same session, DuckDB then
# reports its own module objects as "nanobind: leaked" (ADR 0012, section 6).
UNWRITABLE_BY_ARROW: dict[str, Callable[[], sa.types.TypeEngine[Any]]] = {
    "array": lambda: sa.ARRAY(sa.Integer),
    "numeric-without-precision": sa.Numeric,
    "uuid-as-string": lambda: sa.Uuid(as_uuid=False),
}


@pytest.mark.parametrize("key_type", UNWRITABLE_BY_ARROW)
async def test_mappings_arrow_cannot_write_stay_on_the_orm_path(
    tmp_path: Path, key_type: str
) -> None:
    mapping = Mapping()
    table = sa.Table(
        "looses",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("amount", sa.Numeric(8, 2)),
        sa.Column("key", UNWRITABLE_BY_ARROW[key_type]()),
    )
    mapping.map(Loose, table)
    try:
        database = Database("duckdb+async:///:memory:")
        new_uow = SqlAlchemyUnitOfWork.factory(Loosely, database=database, mapping=mapping)
        async with database:
            uow = new_uow()
            writer = uow._context.writer  # type: ignore[attr-defined]
            assert not writer.takes(mapping.aggregate_mapping(Loose), 10**6)
            assert writer.plan(mapping.aggregate_mapping(Loose)) is None  # cached
    finally:
        mapping.clear()


async def test_aggregates_inserted_in_bulk_keep_version_one_through_later_flushes(
    lab: Setup,
) -> None:
    samples = _samples(MANY)
    async with lab.factory()() as uow:
        await uow.samples.add_many(samples)
        for sample in samples[:2]:
            sample.small = -sample.small - 1
            assert await uow.samples.count() == MANY  # a flush each: not a first change
        await uow.commit()
    async with lab.factory()() as uow:
        stored = await uow.samples.find()
    assert {s.version for s in stored} == {1}
    assert sorted(s.small for s in stored)[:2] == [-2, -1]


async def test_the_bulk_plan_is_made_once_for_every_unit_of_work(lab: Setup) -> None:
    sample_mapping = lab.mapping.aggregate_mapping(Sample)
    first, second = lab.factory()(), lab.factory()()
    plan = first._context.writer.plan(sample_mapping)  # type: ignore[attr-defined]
    assert plan is not None
    assert second._context.writer.plan(sample_mapping) is plan  # type: ignore[attr-defined]


def test_a_database_without_a_stager_has_no_bulk_plan() -> None:
    mapping = Mapping()
    mapping.map(Sample, sample_table(mapping, sa.Column("note", sa.String)))
    try:
        dialect = sa.create_engine("sqlite://").dialect
        writer = BulkWriter(mapping, dialect, PersistenceError, 1, None)
        assert writer.plan(mapping.aggregate_mapping(Sample)) is None
        assert not writer.takes(mapping.aggregate_mapping(Sample), 10**6)
    finally:
        mapping.clear()


@dataclass(eq=False, kw_only=True)
class Line(Entity[int]):
    order_id: UUID | None = None
    text: str = ""


@dataclass(eq=False, kw_only=True)
class Order(AggregateRoot[UUID]):
    lines: list[Line] = field(default_factory=list)


class Orders(UnitOfWork):
    orders: Repository[Order, UUID]


async def test_aggregates_with_children_are_written_by_the_orm(tmp_path: Path) -> None:
    mapping = Mapping()
    orders = sa.Table(
        "orders",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    lines = sa.Table(
        "lines",
        mapping.metadata,
        sa.Column("id", sa.Integer, sa.Sequence("line_ids"), primary_key=True),
        sa.Column("order_id", sa.Uuid, sa.ForeignKey("orders.id")),
        sa.Column("text", sa.String, nullable=False),
    )
    mapping.registry.map_imperatively(Line, lines)
    mapping.map(Order, orders, properties={"lines": relationship(Line, lazy="selectin")})
    try:
        async with open_database("file", tmp_path, mapping) as database:
            new_uow = SqlAlchemyUnitOfWork.factory(Orders, database=database, mapping=mapping)
            batch = [Order(lines=[Line(id=n, text=f"line {n}")]) for n in range(MANY)]
            async with new_uow() as uow:
                await uow.orders.add_many(batch)
                await uow.commit()
            async with new_uow() as uow:
                assert await uow.orders.count() == MANY
                loaded = await uow.orders.get(batch[3].id)
                assert [line.text for line in loaded.lines] == ["line 3"]
    finally:
        mapping.clear()


async def test_a_value_arrow_refuses_is_a_data_error_naming_field_and_aggregate(
    lab: Setup,
) -> None:
    samples = _samples(MANY)
    bad = samples[7]
    bad.small = "seven"  # type: ignore[assignment]
    async with lab.factory()() as uow:
        with pytest.raises(DataError, match="small = 'seven' is str 'seven', not int") as caught:
            await uow.samples.add_many(samples)
    assert (caught.value.aggregate_id, caught.value.field) == (bad.id, "small")
    assert {s.version for s in samples} == {0}


async def test_a_bulk_add_of_an_id_in_the_identity_map_is_a_duplicate(lab: Setup) -> None:
    samples = _samples(MANY)
    async with lab.factory()() as uow:
        await uow.samples.add(samples[0])
        await uow.commit()
        await uow.samples.add_many(samples[1:])  # others are known: these are not
        clash = _samples(MANY)
        clash[1].id = samples[0].id
        with pytest.raises(DuplicateError, match="already exists in this unit of work"):
            await uow.samples.add_many(clash)


async def test_a_bulk_add_of_aggregates_another_session_knows_takes_the_orm_rules(
    lab: Setup,
) -> None:
    samples = _samples(MANY)
    async with lab.factory()() as uow:
        await uow.samples.add_many(samples)
        await uow.commit()
    async with lab.factory()() as uow:
        # Stored by a unit of work that has ended: added again, one by one, as the port says.
        with pytest.raises(DuplicateError):  # noqa: PT012 - reported at the flush
            await uow.samples.add_many(samples)
            await uow.samples.count()


async def test_many_single_adds_are_flushed_by_one_arrow_insert(lab: Setup) -> None:
    async with lab.factory()() as uow:
        for sample in _samples(MANY):
            await uow.samples.add(sample)
        assert await uow.samples.count() == MANY
        await uow.commit()
    assert not any(s.startswith("INSERT") for s in lab.statements)


async def test_an_update_of_many_writes_only_the_changed_columns(lab: Setup) -> None:
    async with lab.factory()() as uow:
        await uow.samples.add_many(_samples(MANY))
        await uow.commit()
    async with lab.factory()() as uow:
        loaded = await uow.samples.find()
        for sample in loaded:
            sample.ratio = -1.0
        await uow.commit()
        assert {s.version for s in loaded} == {2}
        loaded[0].ratio = -2.0  # a second transaction of the same unit of work
        await uow.commit()
    assert not any(
        s.startswith("UPDATE samples SET ratio") and "small" in s for s in lab.statements
    )
    async with lab.factory()() as uow:
        assert await uow.samples.count(sa_ratio(-1.0)) == MANY - 1


def sa_ratio(value: float) -> Any:
    from andamios.domain import F  # noqa: PLC0415 - local to keep the import list short

    return F("ratio") == value


async def test_a_session_without_a_writer_flushes_through_the_orm(tmp_path: Path) -> None:
    with contract_mapping() as mapping:
        async with open_database("file", tmp_path, mapping) as database:
            session = AsyncSession(
                database.engine, sync_session_class=AggregateSession, expire_on_commit=False
            )
            async with session.begin():
                session.add_all(
                    [Gadget(sku=f"S{n}", name="n", price=Decimal(1)) for n in range(30)]
                )
            async with session.begin():
                count = await session.scalar(sa.select(sa.func.count()).select_from(Gadget))
            assert count == 30
            await session.close()


def test_the_garbage_collector_is_paused_and_restored() -> None:
    assert gc.isenabled()
    with no_gc():
        assert not gc.isenabled()
        gc.disable()
        with no_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


@pytest.mark.subprocess
def test_pyarrow_is_imported_only_when_a_bulk_statement_runs() -> None:
    program = """
import asyncio, sys
from decimal import Decimal
from tests.integration.duckdb._contract_mapping import contract_mapping
from andamios.adapters.duckdb import Database
from andamios.adapters.duckdb._staging import _at_scale
from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork
from andamios.testing.models import ContractUnitOfWork, Gadget

async def main():
    with contract_mapping() as mapping:
        async with Database("duckdb+async:///:memory:") as db:
            await db.create_all(mapping.metadata)
            new_uow = SqlAlchemyUnitOfWork.factory(ContractUnitOfWork, database=db, mapping=mapping)
            async with new_uow() as uow:
                await uow.gadgets.add(Gadget(sku="1", name="one", price=Decimal(1)))
                await uow.commit()
                assert await uow.gadgets.count() == 1
            print("before:", "pyarrow" in sys.modules)
            async with new_uow() as uow:
                await uow.gadgets.add_many(
                    Gadget(sku=str(n), name="many", price=Decimal(n)) for n in range(10)
                )
            print("after:", "pyarrow" in sys.modules)

asyncio.run(main())
"""
    root = Path(__file__).resolve().parents[3]
    completed = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
        cwd=root,
    )
    assert completed.stdout.split() == ["before:", "False", "after:", "True"], completed.stderr


# -- constraints in the mapping ------------------------------------------------------------------


@dataclass(eq=False, kw_only=True)
class Declared(AggregateRoot[UUID]):
    code: Annotated[str, MaxLength(8)]
    amount: Annotated[Decimal, Digits(6, 2)] = Decimal(0)
    at: Annotated[datetime, Aware()] | None = None


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        ((sa.String(4), sa.Numeric(6, 2), sa.DateTime(timezone=True)), "MaxLength\\(length=8\\)"),
        ((sa.String(8), sa.Numeric(6, 3), sa.DateTime(timezone=True)), "Digits"),
        ((sa.String(8), sa.Numeric(4, 2), sa.DateTime(timezone=True)), "Digits"),
        ((sa.String(8), sa.Float, sa.DateTime(timezone=True)), "use sa.Numeric"),
        ((sa.String(8), sa.Numeric(6, 2), sa.DateTime), "Aware"),
    ],
)
def test_the_mapping_refuses_a_table_that_disagrees_with_declared_constraints(
    columns: tuple[Any, Any, Any], message: str
) -> None:
    mapping = Mapping()
    code, amount, at = columns
    table = sa.Table(
        "declared",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("code", code, nullable=False),
        sa.Column("amount", amount, nullable=False),
        sa.Column("at", at),
        sa.Column("version", sa.Integer, nullable=False),
    )
    with pytest.raises(MappingError, match=message):
        mapping.map(Declared, table)
    assert not mapping.is_mapped(Declared)
    assert sa.inspect(Declared, raiseerr=False) is None  # unmapped again: can be mapped later


def test_constraints_come_from_the_domain_and_from_the_columns() -> None:
    with contract_mapping():
        rules = storage_rules(Shipment).by_name
        assert rules["code"].constraints == (MaxLength(12),)
        assert rules["amount"].constraints == (Digits(8, 2),)
        assert rules["shipped_at"].constraints == (Aware(),)
        gadget = storage_rules(Gadget).by_name
        assert gadget["price"].constraints == (Digits(12, 2),)
        assert gadget["quantity"].constraints == (Bits(32),)  # sa.Integer
        assert not gadget["sku"].nullable  # NOT NULL
    assert storage_rules(Gadget).by_name["quantity"].constraints == (Bits(64),)  # unmapped


@dataclass(frozen=True)
class Span:
    low: int
    high: int


@dataclass(eq=False, kw_only=True)
class Ranged(AggregateRoot[UUID]):
    span: Annotated[Span, MaxLength(3)]


def test_constraints_declared_on_a_composite_field_are_kept() -> None:
    mapping = Mapping()
    table = sa.Table(
        "ranged",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("low", sa.Integer),
        sa.Column("high", sa.Integer),
        sa.Column("version", sa.Integer, nullable=False),
    )
    try:
        mapping.map(Ranged, table, properties={"span": composite(Span, table.c.low, table.c.high)})
        assert storage_rules(Ranged).by_name["span"].constraints == (MaxLength(3),)
    finally:
        mapping.clear()


async def test_contract_shipments_accept_aware_datetimes(tmp_path: Path) -> None:
    with contract_mapping() as mapping:
        async with open_database("file", tmp_path, mapping) as database:
            new_uow = SqlAlchemyUnitOfWork.factory(
                ContractUnitOfWork, database=database, mapping=mapping
            )
            shipments = [
                Shipment(
                    code=f"A{n}",
                    amount=Decimal(n),
                    shipped_at=datetime(2024, 5, 1, n % 24, tzinfo=UTC),
                )
                for n in range(MANY)
            ]
            async with new_uow() as uow:
                await uow.repository(Shipment).add_many(shipments)
                await uow.commit()
            async with database.engine.connect() as conn:
                stored = await conn.scalar(
                    sa.text("SELECT shipped_at::VARCHAR FROM shipments WHERE code = 'A3'")
                )
            assert stored == "2024-05-01 03:00:00+00"


async def test_a_value_only_arrow_refuses_is_a_data_error_naming_field_and_aggregate(
    tmp_path: Path,
) -> None:
    mapping = Mapping()
    table = sa.Table(
        "looses",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("amount", sa.Numeric(8, 2), nullable=False),
        sa.Column("key", sa.Integer),  # the field is an object: only Arrow can tell
    )
    mapping.map(Loose, table)
    try:
        async with open_database("memory", tmp_path, mapping) as database:
            new_uow = SqlAlchemyUnitOfWork.factory(Loosely, database=database, mapping=mapping)
            batch = [Loose(amount=Decimal(n), key=n) for n in range(MANY)]
            batch[2].key = "seven"
            async with new_uow() as uow:
                with pytest.raises(DataError, match="key = 'seven' does not fit its column"):
                    await uow.looses.add_many(batch)
    finally:
        mapping.clear()


def test_a_decimal_is_staged_at_the_scale_only_where_that_changes_no_digit() -> None:
    padded = _at_scale(Decimal("1." + "0" * 40), 10)
    assert padded == 1
    assert padded.as_tuple().exponent == -10
    for kept in (None, 5, Decimal("NaN"), Decimal("1E-11"), Decimal("1E+100")):
        assert _at_scale(kept, 10) is kept  # refused by the conversion, as it was
