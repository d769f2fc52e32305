"""Identifiers that are DuckDB keywords: quoted where DuckDB's parser needs it, on every path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import duckdb
import pytest
import sqlalchemy as sa
from tests.integration.duckdb._contract_mapping import DATABASE_KINDS, database_url

from andamios.adapters.duckdb import Database
from andamios.adapters.duckdb._dialect import DUCKDB_RESERVED_WORDS, AsyncDuckDBDialect
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.adapters.sqlalchemy._bulk import BULK_THRESHOLD
from andamios.domain import AggregateRoot, F
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory

# Keywords of these categories are accepted as bare column and table names.
_BARE = ("unreserved", "column_name")


def _keywords() -> dict[str, set[str]]:
    with duckdb.connect() as conn:
        rows = conn.execute("SELECT keyword_name, keyword_category FROM duckdb_keywords()")
        found: dict[str, set[str]] = {}
        for name, category in rows.fetchall():
            found.setdefault(name, set()).add(category)
    return found


def test_the_static_set_is_what_the_installed_duckdb_refuses_bare() -> None:
    keywords = _keywords()
    refused = {name for name, categories in keywords.items() if not categories & set(_BARE)}
    reserved = {name for name, categories in keywords.items() if "reserved" in categories}
    # A DuckDB upgrade that reserves more words fails here: add them to the set.
    assert reserved <= DUCKDB_RESERVED_WORDS
    assert refused == DUCKDB_RESERVED_WORDS


def test_the_preparer_quotes_duckdbs_words_and_leaves_others_bare() -> None:
    preparer = AsyncDuckDBDialect().identifier_preparer
    assert [preparer.quote(name) for name in ("at", "order", "left", "by", "user")] == [
        '"at"',
        '"order"',
        '"left"',
        '"by"',
        '"user"',  # PostgreSQL's reserved words stay quoted
    ]
    assert [preparer.quote(name) for name in ("map", "timestamp", "name", "sku")] == [
        "map",
        "timestamp",
        "name",
        "sku",
    ]


@pytest.mark.parametrize("kind", DATABASE_KINDS)
async def test_every_duckdb_keyword_is_a_usable_table_and_column_name(
    kind: str, tmp_path: Path
) -> None:
    names = sorted(_keywords())
    metadata = sa.MetaData()
    table = sa.Table(
        "at",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        *(sa.Column(name, sa.Integer) for name in names),
        sa.Index("ix_at_by", "by"),
        sa.UniqueConstraint("select", "from"),
    )
    async with Database(database_url(kind, tmp_path)) as database:
        await database.create_all(metadata)
        async with database.engine.begin() as conn:
            await conn.execute(table.insert(), [{"id": 1, **dict.fromkeys(names, 1)}])
            for name in names:
                column = table.c[name]
                await conn.execute(table.update().where(column == 1).values({name: 2}))
            selected = sa.select(table).where(table.c[names[0]] == 2).order_by(*table.c)
            assert list((await conn.execute(selected)).one()) == [1] + [2] * len(names)
            await conn.execute(table.delete().where(table.c[names[-1]] == 2))
            assert (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar() == 0
        await database.drop_all(metadata)


@dataclass(eq=False, kw_only=True)
class Booking(AggregateRoot[UUID]):
    at: int
    order: str
    select: str | None = None
    group: int = 0
    left: bool = False


class Desk(UnitOfWork):
    bookings: Repository[Booking, UUID]


def _bookings(mapping: Mapping) -> sa.Table:
    return sa.Table(
        "join",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("at", sa.Integer, nullable=False),
        sa.Column("order", sa.String, nullable=False, unique=True),
        sa.Column("select", sa.String),
        sa.Column("group", sa.Integer, nullable=False),
        sa.Column("left", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Index("ix_join_at", "at"),
    )


@pytest.fixture(params=DATABASE_KINDS)
async def new_desk(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[UnitOfWorkFactory[Desk]]:
    mapping = Mapping()
    mapping.map(Booking, _bookings(mapping))
    try:
        async with Database(database_url(request.param, tmp_path)) as database:
            await database.create_all(mapping.metadata)
            yield SqlAlchemyUnitOfWork.factory(Desk, database=database, mapping=mapping)
    finally:
        mapping.clear()


async def test_an_aggregate_with_keyword_fields_round_trips(
    new_desk: UnitOfWorkFactory[Desk],
) -> None:
    one = Booking(at=3, order="b", select="x", group=1)
    two = Booking(at=1, order="a", left=True)
    async with new_desk() as uow:
        await uow.bookings.add(one)
        await uow.bookings.add(two)
        await uow.commit()
    async with new_desk() as uow:
        found = await uow.bookings.find(F("at") > 0, order_by=[F("at"), F("order").desc()])
        assert [b.order for b in found] == ["a", "b"]
        assert [b.order for b in await uow.bookings.find(order_by=F("select").desc())] == [
            "b",
            "a",
        ]
        loaded = await uow.bookings.get(one.id)
        assert (loaded.at, loaded.order, loaded.select, loaded.group, loaded.left) == (
            3,
            "b",
            "x",
            1,
            False,
        )
        loaded.group = 7
        loaded.left = True
        await uow.bookings.remove(await uow.bookings.get(two.id))
        await uow.commit()
    async with new_desk() as uow:
        assert await uow.bookings.count(F("group") == 7) == 1
        assert await uow.bookings.exists(F("left") == True)  # noqa: E712
        assert await uow.bookings.get_or_none(two.id) is None
        assert (await uow.bookings.get(one.id)).version == 2


async def test_keyword_columns_take_the_bulk_path(new_desk: UnitOfWorkFactory[Desk]) -> None:
    many = [Booking(at=n, order=f"o{n:02}", group=n) for n in range(BULK_THRESHOLD * 2)]
    async with new_desk() as uow:
        await uow.bookings.add_many(many)
        await uow.commit()
    async with new_desk() as uow:
        loaded = await uow.bookings.find(order_by=F("at").desc())
        assert [b.order for b in loaded] == [b.order for b in reversed(many)]
        for booking in loaded:  # a bulk UPDATE
            booking.select = f"s{booking.at}"
        await uow.commit()
    async with new_desk() as uow:
        loaded = await uow.bookings.find(order_by=F("group"))
        assert [(b.select, b.version) for b in loaded] == [(f"s{n}", 2) for n in range(len(many))]
        for booking in loaded:  # a bulk DELETE
            await uow.bookings.remove(booking)
        await uow.commit()
    async with new_desk() as uow:
        assert await uow.bookings.count() == 0
