"""Fidelity: the same values, answers and errors on memory, in-memory DuckDB and a DuckDB file.

Each test runs through the public API on the three adapters (``adapter`` fixture) and asserts the
same outcome: the value read back unchanged, or the same error class with nothing saved.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import composite
from tests.integration.duckdb._contract_mapping import open_database

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Child, JsonValue, Mapping, SqlAlchemyUnitOfWork
from andamios.domain import (
    AggregateRoot,
    Aware,
    Entity,
    F,
    InvalidSpecification,
    MaxLength,
    SoftDeletable,
    Unique,
    ValueObject,
)
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import DataError, DuplicateError, MappingError

ADAPTERS = ("memory", "duckdb-memory", "duckdb-file")


@dataclass(frozen=True)
class Money(ValueObject):
    amount: Decimal
    currency: str


@dataclass(eq=False, kw_only=True)
class Item(AggregateRoot[UUID]):
    code: Annotated[str, Unique()]
    name: str
    label: str | None = None
    count: int = 0
    ratio: float | None = None
    price: Decimal = Decimal(0)
    seen: datetime | None = None
    stamped: Annotated[datetime, Aware()] | None = None
    blob: bytes | None = None
    cost: Money | None = None
    opens: time | None = None


@dataclass(eq=False, kw_only=True)
class Allocation(Entity[UUID]):
    sku: str
    qty: int


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[str]):
    lines: list[Allocation] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class Series(AggregateRoot[UUID]):
    points: list[float | None] = field(default_factory=list)


class Store(UnitOfWork):
    items: Repository[Item, UUID]
    products: Repository[Product, str]
    series: Repository[Series, UUID]


def _mapping() -> Mapping:
    mapping = Mapping()
    items = sa.Table(
        "items",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("code", sa.String, nullable=False, unique=True),
        sa.Column("name", sa.String(8), nullable=False),
        sa.Column("label", sa.String(8)),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("ratio", sa.Double),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("seen", sa.DateTime),
        sa.Column("stamped", sa.DateTime(timezone=True)),
        sa.Column("blob", sa.LargeBinary),
        sa.Column("cost_amount", sa.Numeric(8, 2)),
        sa.Column("cost_currency", sa.String(3)),
        sa.Column("opens", sa.Time),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(
        Item,
        items,
        properties={"cost": composite(Money, items.c.cost_amount, items.c.cost_currency)},
    )
    products = sa.Table(
        "products",
        mapping.metadata,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    lines = sa.Table(
        "allocations",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        # The join column is also a field of the child: loaded into it, and it must agree.
        sa.Column("sku", sa.String, sa.ForeignKey("products.id"), nullable=False),
        sa.Column("qty", sa.Integer, nullable=False),
    )
    mapping.map(Product, products, children={"lines": Child(Allocation, lines, order_by="qty")})
    series = sa.Table(
        "series",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("points", JsonValue(list[float | None]), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(Series, series)
    return mapping


@pytest.fixture
async def adapter(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[UnitOfWorkFactory[Store]]:
    mapping = _mapping()
    try:
        if request.param == "memory":
            yield InMemoryUnitOfWork.factory(Store)
        else:
            kind = "memory" if request.param == "duckdb-memory" else "file"
            async with open_database(kind, tmp_path, mapping) as database:
                yield SqlAlchemyUnitOfWork.factory(Store, database=database, mapping=mapping)
    finally:
        mapping.clear()


pytestmark = pytest.mark.parametrize("adapter", ADAPTERS, indirect=True)


def item(**values: Any) -> Item:
    values.setdefault("code", f"c{id(values)}")
    values.setdefault("name", "ada")
    return Item(**values)


async def _store(new_uow: UnitOfWorkFactory[Store], stored: Item) -> None:
    async with new_uow() as uow:
        await uow.items.add(stored)
        await uow.commit()


async def _count(new_uow: UnitOfWorkFactory[Store]) -> int:
    async with new_uow() as uow:
        return await uow.items.count()


# -- what a column refuses, every adapter refuses ------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field", "problem"),
    [
        ({"name": None}, "name", "is None, but the field is not optional"),
        ({"name": "ninechars"}, "name", "more than MaxLength(8)"),
        ({"count": 2**31}, "count", "out of range for Bits(32)"),
        ({"count": True}, "count", "is bool True, not int"),
        ({"name": 12345}, "name", "is int 12345, not str"),
        ({"name": "\ud800"}, "name", "lone surrogate"),
        ({"blob": memoryview(b"x")}, "blob", "is memoryview"),
        ({"blob": bytearray(b"x")}, "blob", "is bytearray"),
        ({"price": Decimal("1.234")}, "price", "more than 2 decimal places"),
        ({"price": Decimal("NaN")}, "price", "which no Digits(12, 2) can hold"),
        ({"price": Decimal("-Infinity")}, "price", "which no Digits(12, 2) can hold"),
        ({"ratio": Decimal("0.1")}, "ratio", "is Decimal"),
        ({"seen": datetime(2024, 1, 1, tzinfo=UTC)}, "seen", "timezone-aware datetime where"),
        ({"stamped": datetime(2024, 1, 1)}, "stamped", "naive datetime where"),
        ({"opens": time(9, tzinfo=UTC)}, "opens", "timezone-aware time where"),
        ({"cost": Money(Decimal("1.001"), "EUR")}, "cost.amount", "decimal places"),
        ({"cost": Money(Decimal(1), "EURO")}, "cost.currency", "MaxLength(3)"),
    ],
    ids=lambda value: value if isinstance(value, str) and " " not in value else None,
)
async def test_a_value_the_column_cannot_hold_is_a_data_error_on_every_adapter(
    adapter: UnitOfWorkFactory[Store], values: dict[str, Any], field: str, problem: str
) -> None:
    bad = item(**values)
    async with adapter() as uow:
        await uow.items.add(bad)
        with pytest.raises(DataError, match=rf"Item UUID\('{bad.id}'\): {field} = ") as caught:
            await uow.commit()
    assert problem in str(caught.value)
    assert (caught.value.aggregate_id, caught.value.field) == (bad.id, field)
    assert bad.version == 0
    assert await _count(adapter) == 0


async def test_a_bulk_add_of_a_huge_int_is_a_data_error_not_an_overflow(
    adapter: UnitOfWorkFactory[Store],
) -> None:
    batch = [item(code=f"c{n}", count=n) for n in range(6)]
    batch[3].count = 2**63
    async with adapter() as uow:
        with pytest.raises(DataError, match="out of range for Bits"):  # noqa: PT012
            await uow.items.add_many(batch)
            await uow.commit()
    assert await _count(adapter) == 0


async def test_a_duplicate_in_a_unique_column_is_a_duplicate_error_on_every_adapter(
    adapter: UnitOfWorkFactory[Store],
) -> None:
    async with adapter() as uow:
        await uow.items.add(item(code="same"))
        await uow.commit()
    async with adapter() as uow:
        await uow.items.add(item(code="same"))
        with pytest.raises(DuplicateError):
            await uow.commit()
    assert await _count(adapter) == 1


async def test_a_unique_key_clash_is_reported_by_the_next_query(
    adapter: UnitOfWorkFactory[Store],
) -> None:
    async with adapter() as uow:
        await uow.items.add(item(code="same"))
        await uow.commit()
    async with adapter() as uow:  # with a key stored
        await uow.items.add(item(code="same"))
        with pytest.raises(DuplicateError, match="Item with code 'same' already exists"):
            await uow.items.count()
    async with adapter() as uow:  # with a key an earlier flush of this transaction wrote
        await uow.items.add(item(code="new"))
        assert await uow.items.count() == 2
        await uow.items.add(item(code="new"))
        with pytest.raises(DuplicateError, match="Item with code 'new' already exists"):
            await uow.items.find()
    assert await _count(adapter) == 1


async def test_unique_keys_are_checked_as_duckdb_checks_them_at_each_statement(
    adapter: UnitOfWorkFactory[Store],
) -> None:
    first, second = item(code="x"), item(code="y")
    async with adapter() as uow:
        await uow.items.add_many([first, second])
        await uow.commit()
    async with adapter() as uow:  # two rows swapping keys in one commit
        a, b = await uow.items.get(first.id), await uow.items.get(second.id)
        a.code, b.code = "y", "x"
        with pytest.raises(DuplicateError, match=r"Item with code '(x|y)' already exists"):
            await uow.commit()
    async with adapter() as uow:  # a row removed and a new one taking its key
        await uow.items.remove(await uow.items.get(first.id))
        await uow.items.add(item(code="x"))
        with pytest.raises(DuplicateError, match="Item with code 'x' already exists"):
            await uow.commit()
    async with adapter() as uow:  # in two commits, both work
        await uow.items.remove(await uow.items.get(first.id))
        await uow.commit()
        await uow.items.add(item(code="x"))
        (await uow.items.get(second.id)).code = "z"
        await uow.commit()
        assert sorted(i.code for i in await uow.items.find()) == ["x", "z"]


async def test_values_read_back_as_they_were_stored(adapter: UnitOfWorkFactory[Store]) -> None:
    aware = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=5)))
    stored = item(
        name="héllo🙂",
        count=-(2**31),
        ratio=0.1,
        price=Decimal(5),
        seen=datetime(2024, 5, 1, 12, 30),
        stamped=aware,
        blob=b"\x00\xff",
        cost=Money(Decimal("1.50"), "EUR"),
    )
    await _store(adapter, stored)
    async with adapter() as uow:
        back = await uow.items.get(stored.id)
    assert (back.name, back.count, back.blob, back.cost) == (
        stored.name,
        -(2**31),
        b"\x00\xff",
        stored.cost,
    )
    assert type(back.ratio) is float
    assert back.ratio == 0.1
    assert str(back.price) == "5.00"  # the column's scale, on every adapter
    assert back.seen == datetime(2024, 5, 1, 12, 30)
    assert back.stamped == aware
    assert back.stamped is not None
    assert back.stamped.utcoffset() is not None


async def test_a_missing_value_object_in_columns_reads_back_none(
    adapter: UnitOfWorkFactory[Store],
) -> None:
    stored = item()
    await _store(adapter, stored)
    async with adapter() as uow:
        assert (await uow.items.get(stored.id)).cost is None  # not Money(None, None)
        assert await uow.items.count(F("cost.amount").is_none()) == 1


async def test_a_float_field_reads_back_a_float_on_every_adapter(
    adapter: UnitOfWorkFactory[Store],
) -> None:
    stored = item(ratio=1)  # an int where a float is declared
    await _store(adapter, stored)
    async with adapter() as uow:
        back = await uow.items.get(stored.id)
    assert type(back.ratio) is float
    assert back.ratio == 1.0


@pytest.mark.parametrize("bad", [math.nan, math.inf])
async def test_a_non_finite_float_put_in_a_json_list_in_place_is_a_data_error(
    adapter: UnitOfWorkFactory[Store], bad: float
) -> None:
    stored = Series(points=[None, 1.5])
    async with adapter() as uow:
        await uow.series.add(stored)
        await uow.commit()
    async with adapter() as uow:
        loaded = await uow.series.get(stored.id)
        loaded.points[0] = bad  # JSON has no NaN: pydantic would write null, unchanged
        with pytest.raises(DataError, match="which JSON cannot store"):
            await uow.commit()
    async with adapter() as uow:
        assert (await uow.series.get(stored.id)).points == [None, 1.5]


# -- the version belongs to Andamios --------------------------------------------------------------


async def test_a_domain_that_writes_the_version_is_refused_on_every_adapter(
    adapter: UnitOfWorkFactory[Store],
) -> None:
    stored = item()
    await _store(adapter, stored)
    async with adapter() as uow:
        loaded = await uow.items.get(stored.id)
        loaded.name = "bob"
        loaded.version = 7
        with pytest.raises(DataError, match="version = 7 was assigned by the application"):
            await uow.commit()
    async with adapter() as uow:
        assert (await uow.items.get(stored.id)).version == 1
    async with adapter() as uow:
        loaded = await uow.items.get(stored.id)
        loaded.name = "bob"
        assert await uow.items.count() == 1  # DuckDB's autoflush writes the change (v2)
        loaded.version = 9
        with pytest.raises(DataError, match="version = 9 was assigned"):
            await uow.commit()
    async with adapter() as uow:
        loaded = await uow.items.get(stored.id)
        loaded.name = "eve"
        loaded.version = loaded.version  # the same value: nothing was assigned, in effect
        await uow.commit()
        assert loaded.version == 2


# -- specifications that adapters would answer differently are refused alike ----------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (F("price") == Decimal("NaN"), "not a number any column stores"),
        (F("price") < Decimal("1.234"), "more than 2 decimal places"),
        (F("price") == 0.1, "is Decimal; cannot compare it with float"),
        (F("ratio") == Decimal("0.1"), "is float; cannot compare it with Decimal"),
        (F("count") > 2**40, "out of range for Bits(32)"),
        (F("count").in_([1, 2**70]), "out of range for Bits(32)"),
        (F("seen") < datetime(2024, 1, 1, tzinfo=UTC), "timezone-aware datetime where"),
        (F("stamped") < datetime(2024, 1, 1), "naive datetime where"),
        (F("cost") == Money(Decimal(1), "EUR"), "is a Money value; compare its fields"),
        (F("cost").in_([Money(Decimal(1), "EUR")]), "compare its fields"),
        (F("name") == "\udcff", "lone surrogate"),
    ],
)
async def test_a_spec_adapters_would_answer_differently_is_refused_on_every_adapter(
    adapter: UnitOfWorkFactory[Store], spec: Any, message: str
) -> None:
    async with adapter() as uow:
        with pytest.raises(
            InvalidSpecification, match=message.replace("(", r"\(").replace(")", r"\)")
        ):
            await uow.items.find(spec)
        assert await uow.items.count() == 0  # the unit of work goes on


@pytest.mark.parametrize("limit", [2**63, 2**64])
async def test_a_limit_beyond_what_sql_takes_is_refused(
    adapter: UnitOfWorkFactory[Store], limit: int
) -> None:
    async with adapter() as uow:
        with pytest.raises(InvalidSpecification, match="from 0 to 2\\*\\*63 - 1"):
            await uow.items.find(limit=limit)
        with pytest.raises(InvalidSpecification, match="offset"):
            await uow.items.find(offset=limit)


# -- ids of the wrong type are refused by the port, before any adapter work ------------------------


@pytest.mark.parametrize("bad", [b"\xff\xfe", ["a"], 1, None])
async def test_a_wrong_type_id_is_refused_alike(
    adapter: UnitOfWorkFactory[Store], bad: object
) -> None:
    async with adapter() as uow:
        with pytest.raises(TypeError, match="Product ids are str"):
            await uow.products.get_or_none(bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="Product ids are str"):
            await uow.repository(Product).get_or_none(bad)
        assert await uow.products.count() == 0


async def test_an_aggregate_with_an_unhashable_id_is_refused_alike(
    adapter: UnitOfWorkFactory[Store],
) -> None:
    async with adapter() as uow:
        with pytest.raises(TypeError, match="Product ids are str, got list"):
            await uow.products.add_many([Product(id=["x"]) for _ in range(5)])  # type: ignore[arg-type]


# -- a child's join column that is also one of its fields -----------------------------------------


async def test_a_child_field_that_is_the_join_column_is_loaded(
    adapter: UnitOfWorkFactory[Store],
) -> None:
    async with adapter() as uow:
        await uow.products.add(Product(id="SKU-1", lines=[Allocation(sku="SKU-1", qty=2)]))
        await uow.commit()
    async with adapter() as uow:
        product = await uow.products.get("SKU-1")
        assert [(line.sku, line.qty) for line in product.lines] == [("SKU-1", 2)]


async def test_an_aggregate_with_children_removed_and_added_again_is_stored_anew(
    adapter: UnitOfWorkFactory[Store],
) -> None:
    async with adapter() as uow:
        await uow.products.add(Product(id="P", lines=[Allocation(sku="P", qty=1)]))
        await uow.commit()
    async with adapter() as uow:
        product = await uow.products.get("P")
        await uow.products.remove(product)
        await uow.products.add(product)
        product.lines.append(Allocation(sku="P", qty=2))
        await uow.commit()
    async with adapter() as uow:
        again = await uow.products.get("P")
        assert (again.version, [line.qty for line in again.lines]) == (1, [1, 2])


async def test_a_child_join_field_that_disagrees_with_its_root_is_a_data_error(
    adapter: UnitOfWorkFactory[Store],
) -> None:
    async with adapter() as uow:
        await uow.products.add(Product(id="SKU-1", lines=[Allocation(sku="OTHER", qty=2)]))
        with pytest.raises(DataError, match="must be its Product's id 'SKU-1'"):
            await uow.commit()
    async with adapter() as uow:
        assert await uow.products.count() == 0


# -- classes declared inside a function keep their markers ----------------------------------------


async def test_markers_of_classes_declared_in_a_function_are_kept(
    adapter: UnitOfWorkFactory[Store],
) -> None:
    @dataclass(frozen=True)
    class Tag(ValueObject):
        text: str

    @dataclass(eq=False, kw_only=True)
    class Note(AggregateRoot[UUID], SoftDeletable):
        text: Annotated[str, MaxLength(3)]
        tag: Tag | None = None

    class Notes(UnitOfWork):
        notes: Repository[Note, UUID]

    new_uow = InMemoryUnitOfWork.factory(Notes)
    async with new_uow() as uow:
        await uow.notes.add(Note(text="toolong"))
        with pytest.raises(DataError, match="MaxLength\\(3\\)"):
            await uow.commit()
        await uow.rollback()
        note = Note(text="ok")
        await uow.notes.add(note)
        await uow.commit()
        await uow.notes.remove(note)
        await uow.commit()
    async with new_uow() as uow:
        kept = await uow.notes.get(note.id, include_deleted=True)
        assert kept.deleted_at is not None  # soft-deleted, not hard-deleted


def test_annotations_that_cannot_be_resolved_are_a_mapping_error(
    adapter: UnitOfWorkFactory[Store],
) -> None:
    @dataclass(eq=False, kw_only=True)
    class Broken(AggregateRoot[UUID]):
        text: Annotated[str, MaxLength(3)]
        other: Nowhere | None = None  # type: ignore[name-defined]  # noqa: F821

    class Shelf(UnitOfWork):
        broken: Repository[Broken, UUID]

    with pytest.raises(MappingError, match=r"cannot resolve the annotations of .*Broken"):
        InMemoryUnitOfWork.factory(Shelf)
