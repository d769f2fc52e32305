"""Specs over child entities (``F("lines").any(...)``, ``F("note.text")``) on every adapter.

The same data and the same specs on the in-memory adapter, in-memory DuckDB, a DuckDB file and
PostgreSQL: every reading method (find, first, count, exists, page, stream) answers alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from tests.integration.duckdb._contract_mapping import (
    DATABASE_KINDS,
    contract_mapping,
    open_database,
)

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Child, Mapping, SqlAlchemyUnitOfWork, compile_spec
from andamios.adapters.sqlalchemy._mapping import AggregateMapping
from andamios.domain import (
    AggregateRoot,
    AnyMatch,
    Entity,
    F,
    InvalidSpecification,
    OrderBy,
    SoftDeletable,
    Spec,
)
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.testing.models import Basket, BasketNote


@dataclass(eq=False, kw_only=True)
class CrateItem(Entity[UUID]):
    label: str


@dataclass(eq=False, kw_only=True)
class Crate(AggregateRoot[UUID], SoftDeletable):
    name: str
    items: list[CrateItem] = field(default_factory=list)


class Store(UnitOfWork):
    baskets: Repository[Basket, UUID]
    crates: Repository[Crate, UUID]


class Shop(UnitOfWork):
    baskets: Repository[Basket, UUID]


type Factory = UnitOfWorkFactory[Store]


def map_crate(mapping: Mapping) -> None:
    crates = sa.Table(
        "crates",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
        sa.Column("version", sa.Integer, nullable=False),
    )
    items = sa.Table(
        "crate_items",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("crate_id", sa.Uuid, sa.ForeignKey("crates.id"), nullable=False),
        sa.Column("label", sa.String, nullable=False),
    )
    mapping.map(Crate, crates, children={"items": Child(CrateItem, items)})


def _basket(owner: str, *lines: tuple[str, int], note: str | None = None) -> Basket:
    basket = Basket(owner=owner, note=BasketNote(text=note) if note else None)
    for sku, quantity in lines:
        basket.add_item(sku, quantity)
    return basket


@pytest.fixture(params=("in-memory", *DATABASE_KINDS))
async def new_uow(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Factory]:
    """A factory of units of work over a store holding four baskets and two crates."""
    if request.param == "in-memory":
        factory: Factory = InMemoryUnitOfWork.factory(Store)
        await _fill(factory)
        yield factory
        return
    with contract_mapping() as mapping:
        map_crate(mapping)
        async with open_database(request.param, tmp_path, mapping) as database:
            factory = SqlAlchemyUnitOfWork.factory(Store, database=database, mapping=mapping)
            await _fill(factory)
            yield factory


async def _fill(new_uow: Factory) -> None:
    async with new_uow() as uow:
        for basket in (
            _basket("ana", ("a", 1), ("b", 2), note="gift"),
            _basket("bo", ("b", 1)),
            _basket("cy", note="fragile"),
            _basket("dee", ("a", 3), note="gift"),
        ):
            await uow.baskets.add(basket)
        await uow.crates.add(Crate(name="kept", items=[CrateItem(label="x")]))
        await uow.crates.add(Crate(name="gone", items=[CrateItem(label="x")]))
        await uow.commit()
    async with new_uow() as uow:
        gone = await uow.crates.first(F("name") == "gone")
        assert gone is not None
        await uow.crates.remove(gone)  # soft delete
        await uow.commit()


async def _owners(new_uow: Factory, spec: Spec | None, order_by: OrderBy = "owner") -> list[str]:
    async with new_uow() as uow:
        return [basket.owner for basket in await uow.baskets.find(spec, order_by=order_by)]


SPECS: list[tuple[Spec, list[str]]] = [
    (F("lines").any(F("sku") == "a"), ["ana", "dee"]),
    (~F("lines").any(F("sku") == "a"), ["bo", "cy"]),
    (F("lines").any((F("sku") == "a") & (F("quantity") > 2)), ["dee"]),
    (F("lines").any(F("sku") == "a") & F("lines").any(F("sku") == "b"), ["ana"]),
    (F("lines").any(F("sku") == "b") | (F("owner") == "cy"), ["ana", "bo", "cy"]),
    (F("lines").any(~(F("sku") == "b")), ["ana", "dee"]),
    (~F("lines").any(F("quantity") > 0), ["cy"]),  # no lines at all: NOT EXISTS holds
    (F("note").any(F("text") == "gift"), ["ana", "dee"]),
    (~F("note").any(F("text") == "gift"), ["bo", "cy"]),
    (
        F("note").any(F("text").startswith("fr")) | F("lines").any(F("sku") == "b"),
        ["ana", "bo", "cy"],
    ),
    (F("note.text") == "gift", ["ana", "dee"]),
    (F("note.text") != "gift", ["cy"]),  # bo has no note: NULL, unknown, as in SQL
    (~(F("note.text") == "gift"), ["cy"]),
    (F("note.text").is_none(), ["bo"]),
    (F("note.text").in_(["fragile", "x"]), ["cy"]),
]


@pytest.mark.parametrize(("spec", "expected"), SPECS, ids=[repr(spec) for spec, _ in SPECS])
async def test_find_count_and_exists_agree(
    new_uow: Factory, spec: Spec, expected: list[str]
) -> None:
    assert await _owners(new_uow, spec) == expected
    async with new_uow() as uow:
        assert await uow.baskets.count(spec) == len(expected)
        assert await uow.baskets.exists(spec) is bool(expected)
        first = await uow.baskets.first(spec, order_by="owner")
        assert first is not None
        assert first.owner == expected[0]


async def test_a_spec_that_matches_no_child_finds_nothing(new_uow: Factory) -> None:
    spec = F("lines").any(F("sku") == "zz")
    assert await _owners(new_uow, spec) == []
    async with new_uow() as uow:
        assert await uow.baskets.exists(spec) is False
        assert await uow.baskets.first(spec) is None


async def test_ordering_by_a_one_to_one_childs_field(new_uow: Factory) -> None:
    # Ties (ana, dee: "gift") are broken by id, i.e. by insertion order (UUIDv7).
    assert await _owners(new_uow, None, F("note.text").asc(nulls_first=True)) == [
        "bo",
        "cy",
        "ana",
        "dee",
    ]
    assert await _owners(new_uow, None, [F("note.text").desc(), "owner"]) == [
        "ana",
        "dee",
        "cy",
        "bo",
    ]


async def test_pages_and_streams_over_child_specs_and_orders(new_uow: Factory) -> None:
    order: OrderBy = [F("note.text").desc(), F("owner")]
    async with new_uow() as uow:
        seen: list[str] = []
        page = await uow.baskets.page(~F("lines").any(F("sku") == "zz"), order_by=order, size=1)
        seen += [basket.owner for basket in page.items]
        while page.next is not None:
            page = await uow.baskets.page(
                ~F("lines").any(F("sku") == "zz"), order_by=order, size=1, after=page.next
            )
            seen += [basket.owner for basket in page.items]
        assert seen == ["ana", "dee", "cy", "bo"]
        streamed = uow.baskets.stream(F("lines").any(F("quantity") >= 1), batch_size=1)
        assert sorted([basket.owner async for basket in streamed]) == ["ana", "bo", "dee"]


async def test_a_unit_of_work_sees_its_own_children_in_specs(new_uow: Factory) -> None:
    async with new_uow() as uow:
        bo = await uow.baskets.first(F("owner") == "bo")
        assert bo is not None
        bo.add_item("c", 5)
        bo.note = BasketNote(text="new")
        await uow.baskets.add(_basket("eve", ("c", 1)))
        assert [b.owner for b in await uow.baskets.find(F("lines").any(F("sku") == "c"))] == [
            "bo",
            "eve",
        ]
        assert await uow.baskets.count(F("note.text") == "new") == 1


async def test_the_soft_delete_filter_still_applies(new_uow: Factory) -> None:
    spec = F("items").any(F("label") == "x")
    async with new_uow() as uow:
        assert [crate.name for crate in await uow.crates.find(spec)] == ["kept"]
        assert await uow.crates.count(spec) == 1
        found = await uow.crates.find(spec, order_by="name", include_deleted=True)
        assert [crate.name for crate in found] == ["gone", "kept"]
        assert await uow.crates.count(~spec) == 0


# -- the SQL the compiler writes ---------------------------------------------------------------


@pytest.fixture
def basket_mapping() -> Any:
    with contract_mapping() as mapping:
        yield mapping.aggregate_mapping(Basket)


def test_the_child_table_is_aliased_and_correlated_to_the_outer_row(
    basket_mapping: AggregateMapping,
) -> None:
    table = basket_mapping.table
    lines = table.metadata.tables["basket_lines"]
    where = compile_spec(basket_mapping, F("lines").any(F("sku") == "a"))
    # The outer query joins basket_lines itself: the EXISTS must still read its own alias.
    statement = sa.select(table.c.owner).join(lines).where(where, lines.c.sku == "b")
    sql = str(statement)
    assert "EXISTS (SELECT" in sql
    assert "FROM basket_lines AS basket_lines_1" in sql
    assert "WHERE basket_lines_1.basket_id = baskets.id AND basket_lines_1.sku" in sql


async def test_an_outer_join_of_the_child_table_does_not_confuse_the_exists(
    tmp_path: Path,
) -> None:
    with contract_mapping() as mapping:
        async with open_database("memory", tmp_path, mapping) as database:
            new_uow = SqlAlchemyUnitOfWork.factory(Shop, database=database, mapping=mapping)
            async with new_uow() as uow:
                await uow.baskets.add(_basket("ana", ("a", 1), ("b", 2)))
                await uow.baskets.add(_basket("bo", ("b", 1)))
                await uow.commit()
            basket = mapping.aggregate_mapping(Basket)
            lines = mapping.metadata.tables["basket_lines"]
            statement = (
                sa.select(basket.table.c.owner)
                .join(lines)
                .where(compile_spec(basket, F("lines").any(F("sku") == "a")), lines.c.sku == "b")
            )
            async with database.engine.connect() as connection:
                assert (await connection.execute(statement)).scalars().all() == ["ana"]


def test_paths_the_sql_mapping_cannot_reach_are_refused_by_it_too(
    basket_mapping: AggregateMapping,
) -> None:
    # The ports refuse these before any adapter sees them; compile_spec is public, so the
    # mapping says the same when it is called directly.
    with pytest.raises(InvalidSpecification, match=r"F\('lines'\)\.any\(F\('sku'\) == \.\.\.\)"):
        basket_mapping.column("lines.sku")
    with pytest.raises(InvalidSpecification, match="holds no child entities mapped"):
        compile_spec(basket_mapping, AnyMatch("owner", F("x") == 1))
    with pytest.raises(InvalidSpecification, match="holds no child entities mapped"):
        basket_mapping.collection("note.text")
    columns, _, _ = basket_mapping.collection("lines")
    with pytest.raises(InvalidSpecification, match=r"BasketLine\.nope\.x has no column"):
        columns.column("nope.x")
    with pytest.raises(InvalidSpecification, match=r"BasketLine\.sku holds no child entities"):
        compile_spec(basket_mapping, F("lines").any(AnyMatch("sku", F("x") == 1)))
    with pytest.raises(InvalidSpecification, match=r"BasketNote\.whole is stored in several"):
        compile_spec(basket_mapping, F("note").any(F("whole") == 1))
