"""Child entities on DuckDB: one query per level, orphan rows, the DDL-less foreign key, checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateTable
from tests.integration.duckdb._contract_mapping import (
    DATABASE_KINDS,
    contract_mapping,
    open_database,
)

from andamios.adapters.duckdb import Database
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.memory._store import copy_value
from andamios.adapters.sqlalchemy import Child, Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, Entity
from andamios.ports import Timestamped, UnitOfWorkFactory
from andamios.ports.errors import MappingError
from andamios.testing import ChildrenContract
from andamios.testing.models import Basket, BasketLine, BasketNote, ContractUnitOfWork, Gadget

type Factory = UnitOfWorkFactory[ContractUnitOfWork]


@pytest.fixture(params=DATABASE_KINDS)
async def stored(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Database, Mapping]]:
    with contract_mapping() as mapping:
        async with open_database(request.param, tmp_path, mapping) as database:
            yield database, mapping


@pytest.fixture
def database(stored: tuple[Database, Mapping]) -> Database:
    return stored[0]


def _factory(database: Database, mapping: Mapping) -> Factory:
    return SqlAlchemyUnitOfWork.factory(ContractUnitOfWork, database=database, mapping=mapping)


async def _rows(database: Database, sql: str) -> list[tuple[Any, ...]]:
    async with database.engine.connect() as connection:
        return [tuple(row) for row in (await connection.exec_driver_sql(sql)).all()]


def _basket(owner: str, *skus: str, note: str | None = None) -> Basket:
    basket = Basket(owner=owner, note=BasketNote(text=note) if note else None)
    for sku in skus:
        basket.add_item(sku)
    return basket


async def test_an_aggregate_loads_with_one_query_per_child_table_and_never_lazily(
    database: Database, stored: tuple[Database, Mapping]
) -> None:
    new_uow = _factory(*stored)
    baskets = [_basket("ana", "a", "b", note="gift"), _basket("bo", "c"), _basket("cy")]
    async with new_uow() as uow:
        await uow.repository(Basket).add_many(baskets)
        await uow.commit()
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        async with new_uow() as uow:
            one = await uow.repository(Basket).get(baskets[0].id)
            assert len(statements) == 3  # the basket, its lines, its note
            tables = [s.split("FROM")[1].split()[0] for s in statements]
            assert tables[0] == "baskets"
            assert sorted(tables[1:]) == ["basket_lines", "basket_notes"]
            statements.clear()
            every = await uow.repository(Basket).find()
            assert len(statements) == 3  # three baskets: still one query per table
            statements.clear()
            assert [[line.sku for line in b.lines] for b in every] == [["a", "b"], ["c"], []]
            assert [b.note.text if b.note else None for b in every] == ["gift", None, None]
            assert every[0] is one
            assert statements == []  # nothing loads lazily
            streamed = [b.owner async for b in uow.repository(Basket).stream(batch_size=2)]
            assert streamed == ["ana", "bo", "cy"]
    finally:
        sa.event.remove(database.engine.sync_engine, "before_cursor_execute", record)


async def test_orphans_and_the_children_of_a_removed_root_are_deleted(
    database: Database, stored: tuple[Database, Mapping]
) -> None:
    new_uow = _factory(*stored)
    basket, kept = _basket("ana", "a", "b", note="gift"), _basket("bo", "c", note="x")
    async with new_uow() as uow:
        await uow.repository(Basket).add(basket)
        await uow.repository(Basket).add(kept)
        await uow.commit()
    async with new_uow() as uow:
        loaded = await uow.repository(Basket).get(basket.id)
        orphan = loaded.lines.pop(0)
        orphan.quantity = 99  # a change to a child about to be deleted
        loaded.note = None
        await uow.commit()
    assert loaded.version == 2
    assert await _rows(database, "SELECT sku FROM basket_lines ORDER BY sku") == [("b",), ("c",)]
    assert await _rows(database, "SELECT text FROM basket_notes") == [("x",)]
    async with new_uow() as uow:
        await uow.repository(Basket).remove(await uow.repository(Basket).get(basket.id))
        await uow.commit()
    assert await _rows(database, "SELECT sku FROM basket_lines") == [("c",)]
    lines = await _rows(database, "SELECT basket_id FROM basket_lines")
    assert lines == [(kept.id,)]


async def test_the_child_foreign_key_is_declared_but_created_only_where_it_serves(
    database: Any, stored: tuple[Database, Mapping]
) -> None:
    if isinstance(database, Database):
        kinds = await _rows(
            database,
            "SELECT table_name, constraint_type FROM duckdb_constraints() "
            "WHERE table_name LIKE 'basket%' AND constraint_type = 'FOREIGN KEY'",
        )
        assert kinds == []  # DuckDB could not update a referenced root (ADR 0009)
    else:
        kinds = await _rows(
            database,
            "SELECT table_name, constraint_type FROM information_schema.table_constraints "
            "WHERE table_schema = current_schema() AND table_name LIKE 'basket%' "
            "AND constraint_type = 'FOREIGN KEY' ORDER BY table_name",
        )
        assert kinds == [("basket_lines", "FOREIGN KEY"), ("basket_notes", "FOREIGN KEY")]
    mapping = stored[1]
    lines = mapping.metadata.tables["basket_lines"]
    assert [fk.target_fullname for fk in lines.foreign_keys] == ["baskets.id"]
    ddl = CreateTable(lines).compile(dialect=postgresql.dialect())  # type: ignore[no-untyped-call]
    assert "REFERENCES baskets" in str(ddl)
    # With a foreign key, this versioned UPDATE ... RETURNING of the root (its owner is UNIQUE)
    # would fail: DuckDB runs it as a delete and an insert of the parent row.
    new_uow = _factory(*stored)
    basket = _basket("ana", "a")
    async with new_uow() as uow:
        await uow.repository(Basket).add(basket)
        await uow.commit()
    async with new_uow() as uow:
        loaded = await uow.repository(Basket).get(basket.id)
        loaded.owner = "ana b."
        await uow.commit()
    assert loaded.version == 2


class TestMemoryChildrenOfMappedClasses(ChildrenContract):
    """The in-memory adapter stores children of classes SQLAlchemy instruments, copied safely."""

    @pytest.fixture
    def new_uow(self) -> Iterator[Factory]:
        with contract_mapping():
            yield InMemoryUnitOfWork.factory(ContractUnitOfWork)


def test_a_copied_child_gets_its_own_instrumentation_state() -> None:
    with contract_mapping():
        line = BasketLine(position=1, sku="a")
        twin = copy_value(line)
        assert isinstance(twin, BasketLine)
        assert (twin.id, twin.position, twin.sku) == (line.id, 1, "a")
        assert sa.inspect(twin) is not sa.inspect(line)
        assert sa.inspect(twin).transient


# -- mapping checks -----------------------------------------------------------------------------


@dataclass(eq=False, kw_only=True)
class Leaf(Entity[UUID]):
    name: str


@dataclass(eq=False, kw_only=True)
class Tree(AggregateRoot[UUID]):
    leaves: list[Leaf] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class StampedTree(AggregateRoot[UUID], Timestamped):
    leaves: list[Leaf] = field(default_factory=list)


@pytest.fixture
def mapping() -> Iterator[Mapping]:
    mapping = Mapping()
    yield mapping
    mapping.clear()


def _trees(mapping: Mapping, *extra: Any) -> sa.Table:
    return sa.Table(
        "trees",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        *extra,
    )


def _leaves(mapping: Mapping, *columns: sa.Column[Any], name: str = "leaves") -> sa.Table:
    defaults = columns or (
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tree_id", sa.Uuid, sa.ForeignKey("trees.id"), nullable=False),
        sa.Column("name", sa.String, nullable=False),
    )
    return sa.Table(name, mapping.metadata, *defaults)


def test_a_child_table_without_a_foreign_key_to_the_root_is_refused(mapping: Mapping) -> None:
    trees = _trees(mapping)
    leaves = _leaves(
        mapping,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tree_id", sa.Uuid, nullable=False),
        sa.Column("name", sa.String, nullable=False),
    )
    with pytest.raises(MappingError, match="'leaves' has no foreign key to 'trees'"):
        mapping.map(Tree, trees, children={"leaves": Child(Leaf, leaves)})
    assert not mapping.is_mapped(Tree)
    assert sa.inspect(Leaf, raiseerr=False) is None


@pytest.mark.parametrize(
    ("key", "kind", "message"),
    [
        ("nothing", Leaf, "Tree.nothing is not a field of Tree"),
        ("leaves", Gadget, "children are Entity dataclasses"),
        ("leaves", str, "children are Entity dataclasses"),
    ],
)
def test_children_must_be_entity_fields(
    mapping: Mapping, key: str, kind: type[Entity[Any]], message: str
) -> None:
    trees, leaves = _trees(mapping), _leaves(mapping)
    with pytest.raises(MappingError, match=message):
        mapping.map(Tree, trees, children={key: Child(kind, leaves)})


def test_a_child_field_cannot_also_be_a_property(mapping: Mapping) -> None:
    trees, leaves = _trees(mapping), _leaves(mapping)
    with pytest.raises(MappingError, match="not a field of Tree left to children="):
        mapping.map(
            Tree,
            trees,
            properties={"leaves": trees.c.version},
            children={"leaves": Child(Leaf, leaves)},
        )


def test_a_child_table_needs_its_columns_and_its_id_as_primary_key(mapping: Mapping) -> None:
    trees = _trees(mapping)
    no_name = _leaves(
        mapping,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tree_id", sa.Uuid, sa.ForeignKey("trees.id")),
        name="no_name",
    )
    with pytest.raises(MappingError, match=r"'no_name' has no column for Leaf.name"):
        mapping.map(Tree, trees, children={"leaves": Child(Leaf, no_name)})
    composite_key = _leaves(
        mapping,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tree_id", sa.Uuid, sa.ForeignKey("trees.id"), primary_key=True),
        sa.Column("name", sa.String),
        name="composite_key",
    )
    with pytest.raises(MappingError, match="'composite_key' must be its id column alone"):
        mapping.map(Tree, trees, children={"leaves": Child(Leaf, composite_key)})
    elsewhere = sa.Table("leaves", sa.MetaData(), *(c._copy() for c in _leaves(mapping).c))
    with pytest.raises(MappingError, match="created with this mapping's metadata"):
        mapping.map(Tree, trees, children={"leaves": Child(Leaf, elsewhere)})


def test_a_child_class_belongs_to_one_aggregate(mapping: Mapping) -> None:
    trees, leaves = _trees(mapping), _leaves(mapping)
    mapping.map(Tree, trees, children={"leaves": Child(Leaf, leaves)})
    stamped = sa.Table(
        "stamped",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True)),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
    )
    with pytest.raises(MappingError, match="Leaf is already mapped"):
        mapping.map(StampedTree, stamped, children={"leaves": Child(Leaf, leaves)})


def test_a_failed_map_unmaps_the_children_it_mapped(mapping: Mapping) -> None:
    trees, leaves = _trees(mapping), _leaves(mapping)
    with pytest.raises(MappingError, match="cannot map the children of Tree"):
        mapping.map(Tree, trees, children={"leaves": Child(Leaf, leaves, order_by="rank")})
    assert sa.inspect(Leaf, raiseerr=False) is None
    stamped = sa.Table(
        "stamped",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime),  # not timezone-aware: refused after mapping
        sa.Column("updated_at", sa.DateTime(timezone=True)),
    )
    lines = _leaves(
        mapping,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("stamped_id", sa.Uuid, sa.ForeignKey("stamped.id")),
        sa.Column("name", sa.String),
        name="stamped_leaves",
    )
    with pytest.raises(MappingError, match="audit timestamp"):
        mapping.map(StampedTree, stamped, children={"leaves": Child(Leaf, lines)})
    assert sa.inspect(Leaf, raiseerr=False) is None
    mapping.map(Tree, trees, children={"leaves": Child(Leaf, leaves, order_by=["name"])})
    assert sa.inspect(Leaf).mapper.class_ is Leaf
    assert sa.inspect(Tree).relationships["leaves"].uselist


async def test_many_aggregates_with_children_take_the_orm_and_keep_one_version_each(
    stored: tuple[Database, Mapping],
) -> None:
    new_uow = _factory(*stored)
    baskets = [_basket(f"owner {n}", "a", "b") for n in range(12)]  # over the bulk threshold
    async with new_uow() as uow:
        await uow.repository(Basket).add_many(baskets)
        await uow.commit()
    async with new_uow() as uow:
        loaded = await uow.repository(Basket).find()
        for basket in loaded:
            basket.lines[1].quantity = 2
            basket.owner += "!"
        await uow.commit()
    assert {b.version for b in loaded} == {2}
    rows = await _rows(stored[0], "SELECT count(*), sum(quantity) FROM basket_lines")
    assert rows == [(24, 36)]
