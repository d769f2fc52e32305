"""DuckDB's conflict and duplicate errors name the aggregate, its id and what happened.

As the in-memory adapter says them (``Gadget UUID('...') was changed by another unit of work``,
``Gadget with id UUID('...') already exists``), with DuckDB's own words kept at the end, in
parentheses, and the driver's exception as the cause.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import duckdb
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from tests.integration.duckdb._contract_mapping import (
    DUCKDB_KINDS,
    contract_mapping,
    open_database,
)

from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork
from andamios.adapters.sqlalchemy._bulk import BULK_THRESHOLD
from andamios.domain import AggregateRoot, uuid7
from andamios.ports import Repository, UnitOfWorkFactory
from andamios.ports.errors import ConcurrencyError, DuplicateError
from andamios.testing.models import Basket, BasketLine, ContractUnitOfWork, Gadget

type Factory = UnitOfWorkFactory[ContractUnitOfWork]

CHANGED = "was changed or removed by another unit of work"
MANY_CHANGED = "were changed or removed by another unit of work"


@dataclass(eq=False, kw_only=True)
class Item(AggregateRoot[int]):
    sku: str
    shelf: str
    bin: int


def _items(metadata: sa.MetaData) -> sa.Table:
    # A DuckDB keyword as the table's name: statements quote it.
    return sa.Table(
        "order",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("sku", sa.String, nullable=False, unique=True),
        sa.Column("shelf", sa.String, nullable=False),
        sa.Column("bin", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("shelf", "bin"),
    )


# DuckDB's words end every message here; PostgreSQL's: tests/integration/postgresql.
@pytest.fixture(params=DUCKDB_KINDS)
async def shop(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Factory]:
    with contract_mapping() as mapping:
        mapping.map(Item, _items(mapping.metadata))
        async with open_database(request.param, tmp_path, mapping) as database:
            yield SqlAlchemyUnitOfWork.factory(
                ContractUnitOfWork, database=database, mapping=mapping
            )


def _items_of(uow: ContractUnitOfWork) -> Repository[Item, int]:
    return uow.repository(Item)


def _gadget(sku: str, id: UUID | None = None) -> Gadget:
    return Gadget(id=id or uuid7(), sku=sku, name=sku.lower(), price=Decimal(1))


async def _seed(new_uow: Factory, count: int = 1) -> list[Gadget]:
    gadgets = [_gadget(f"G-{n}") for n in range(count)]
    async with new_uow() as uow:
        await uow.gadgets.add_many(gadgets)
        await uow.commit()
    return gadgets


def _driver_error(error: BaseException) -> BaseException:
    cause = error.__cause__
    assert isinstance(cause, DBAPIError)
    assert isinstance(cause.orig, duckdb.Error)
    return cause.orig


# -- conflicts ------------------------------------------------------------------------------------


async def test_a_write_write_conflict_names_the_aggregate(shop: Factory) -> None:
    [gadget] = await _seed(shop)
    async with shop() as first, shop() as second:
        mine = await first.gadgets.get(gadget.id)
        theirs = await second.gadgets.get(gadget.id)
        mine.quantity = 1
        await first.gadgets.count()  # flushed: the row is first's until it commits
        theirs.quantity = 2
        with pytest.raises(ConcurrencyError) as caught:
            await second.commit()
        await first.commit()
    assert re.fullmatch(
        rf"Gadget {re.escape(repr(gadget.id))} {CHANGED} \(loaded version 1; "
        r"TransactionContext Error: Conflict on [a-z ]+!\)",
        str(caught.value),
    )
    assert isinstance(_driver_error(caught.value), duckdb.TransactionException)


async def test_an_update_against_a_concurrent_removal_names_the_aggregate(shop: Factory) -> None:
    [gadget] = await _seed(shop)
    async with shop() as remover, shop() as changer:
        doomed = await remover.gadgets.get(gadget.id)
        changed = await changer.gadgets.get(gadget.id)
        await remover.gadgets.remove(doomed)
        await remover.gadgets.count()
        changed.quantity = 42
        with pytest.raises(ConcurrencyError) as caught:
            await changer.commit()
        await remover.commit()
    assert str(caught.value) == (
        f"Gadget {gadget.id!r} {CHANGED} (loaded version 1; TransactionContext Error: "
        "Conflict on tuple deletion!)"
    )


async def test_a_conflict_on_a_quoted_table_names_the_aggregate(shop: Factory) -> None:
    async with shop() as uow:
        await _items_of(uow).add(Item(id=7, sku="s", shelf="A", bin=1))
        await uow.commit()
    async with shop() as first, shop() as second:
        (await _items_of(first).get(7)).bin = 2
        await _items_of(first).count()
        (await _items_of(second).get(7)).bin = 3
        with pytest.raises(ConcurrencyError, match=rf"^Item 7 {CHANGED} \(loaded version 1; "):
            await second.commit()


async def test_a_conflict_of_several_removals_lists_them(shop: Factory) -> None:
    one, two = await _seed(shop, 2)
    async with shop() as changer, shop() as remover:
        (await changer.gadgets.get(one.id)).quantity = 5
        await changer.gadgets.count()
        for gadget in await remover.gadgets.find():
            await remover.gadgets.remove(gadget)
        with pytest.raises(ConcurrencyError) as caught:
            await remover.commit()  # one DELETE for both rows
    message = str(caught.value)
    assert message.startswith(f"some of 2 Gadget aggregates {MANY_CHANGED}, among ")
    assert repr(one.id) in message
    assert repr(two.id) in message
    assert message.endswith("(TransactionContext Error: Conflict on tuple deletion!)")


async def test_a_stale_version_names_the_aggregate(shop: Factory) -> None:
    [gadget] = await _seed(shop)
    async with shop() as first:
        mine = await first.gadgets.get(gadget.id)
        await first.commit()  # its next transaction reads a newer snapshot; mine stays at 1
        async with shop() as second:
            (await second.gadgets.get(gadget.id)).price = Decimal("20.00")
            await second.commit()
        mine.price = Decimal("30.00")
        with pytest.raises(ConcurrencyError) as caught:
            await first.commit()
    assert str(caught.value) == (
        f"Gadget {gadget.id!r} {CHANGED} (loaded version 1; UPDATE statement on table "
        "'gadgets' expected to update 1 row(s); 0 were matched.)"
    )
    assert isinstance(caught.value.__cause__, StaleDataError)


async def test_stale_versions_among_several_removals_say_how_many(shop: Factory) -> None:
    gadgets = await _seed(shop, 3)
    async with shop() as first:
        mine = await first.gadgets.find()
        await first.commit()
        async with shop() as second:
            (await second.gadgets.get(gadgets[1].id)).quantity = 9
            await second.commit()
        for gadget in mine:
            await first.gadgets.remove(gadget)
        with pytest.raises(ConcurrencyError) as caught:
            await first.commit()
    message = str(caught.value)
    assert message.startswith(f"1 of 3 Gadget aggregates {MANY_CHANGED}, among ")
    assert all(repr(g.id) in message for g in gadgets)
    assert "(DELETE statement on table 'gadgets' expected to delete 3 row(s); 2 were matched." in (
        message
    )


# -- duplicates -----------------------------------------------------------------------------------


async def test_a_duplicate_id_at_the_flush_names_the_aggregate(shop: Factory) -> None:
    [gadget] = await _seed(shop)
    async with shop() as uow:
        await uow.gadgets.add(_gadget("OTHER", gadget.id))
        with pytest.raises(DuplicateError) as caught:
            await uow.commit()
    assert str(caught.value) == (
        f"Gadget with id {gadget.id!r} already exists (Constraint Error: Duplicate key "
        f'"id: {gadget.id}" violates primary key constraint.)'
    )
    assert isinstance(_driver_error(caught.value), duckdb.ConstraintException)


async def test_a_duplicate_id_at_commit_names_the_aggregate(shop: Factory) -> None:
    same = uuid7()
    async with shop() as first, shop() as second:
        await first.gadgets.add(_gadget("1ST", same))
        await second.gadgets.add(_gadget("2ND", same))
        await first.gadgets.count()
        await second.gadgets.count()  # both inserted, neither committed
        await first.commit()
        with pytest.raises(DuplicateError) as caught:
            await second.commit()
    assert str(caught.value) == (
        f"Gadget with id {same!r} already exists (TransactionContext Error: Failed to commit: "
        f'PRIMARY KEY or UNIQUE constraint violation: duplicate key "{same}")'
    )
    assert isinstance(_driver_error(caught.value), duckdb.TransactionException)


@pytest.mark.parametrize("at_commit", [False, True], ids=["at-flush", "at-commit"])
@pytest.mark.parametrize(
    ("clash", "named"),
    [(("abc", "B", 1), "sku 'abc'"), (("xyz", "A", 3), "shelf 'A', bin 3")],
    ids=["unique-column", "unique-columns"],
)
async def test_a_duplicate_unique_value_names_it(
    shop: Factory, clash: tuple[str, str, int], named: str, at_commit: bool
) -> None:
    stored = Item(id=1, sku="abc", shelf="A", bin=3)
    async with shop() as first, shop() as second:
        await _items_of(first).add(stored)
        if at_commit:
            await _items_of(first).count()
        else:
            await first.commit()
        sku, shelf, bin = clash
        await _items_of(second).add(Item(id=2, sku=sku, shelf=shelf, bin=bin))
        await _items_of(second).count() if at_commit else None
        if at_commit:
            await first.commit()
        with pytest.raises(DuplicateError) as caught:
            await second.commit()
    assert str(caught.value).startswith(f"Item with {named} already exists (")


async def test_a_duplicate_child_id_at_commit_names_the_aggregate_written(shop: Factory) -> None:
    line = uuid7()
    async with shop() as first, shop() as second:
        mine = Basket(owner="ann", lines=[BasketLine(id=line, position=0, sku="x")])
        theirs = Basket(owner="bob", lines=[BasketLine(id=line, position=0, sku="y")])
        await first.repository(Basket).add(mine)
        await second.repository(Basket).add(theirs)
        await first.repository(Basket).count()
        await second.repository(Basket).count()
        await first.commit()
        with pytest.raises(DuplicateError) as caught:
            await second.commit()
    assert str(caught.value).startswith(
        f"a key of Basket {theirs.id!r} already exists: '{line}' (TransactionContext Error: "
    )


async def test_a_duplicate_child_id_among_several_aggregates_lists_them(shop: Factory) -> None:
    line = uuid7()
    async with shop() as first, shop() as second:
        mine = Basket(owner="ann", lines=[BasketLine(id=line, position=0, sku="x")])
        theirs = [
            Basket(owner="bob", lines=[BasketLine(id=line, position=0, sku="y")]),
            Basket(owner="cy"),
        ]
        await first.repository(Basket).add(mine)
        for basket in theirs:
            await second.repository(Basket).add(basket)
        await first.repository(Basket).count()
        await second.repository(Basket).count()
        await first.commit()
        with pytest.raises(DuplicateError) as caught:
            await second.commit()
    message = str(caught.value)
    assert message.startswith(
        f"a key of one of the 2 aggregates this unit of work wrote already exists: '{line}'; "
        "they include "
    )
    assert all(repr(basket.id) in message for basket in theirs)


async def test_a_duplicate_written_only_through_the_session_keeps_duckdbs_words(
    shop: Factory,
) -> None:
    insert = sa.text("INSERT INTO counters (id, value, version) VALUES ('c', 0, 1)")
    async with shop() as first, shop() as second:
        for uow in (first, second):
            await getattr(uow, "session").execute(insert)  # noqa: B009 - the adapter's
        await first.commit()
        with pytest.raises(DuplicateError) as caught:
            await second.commit()
    assert str(caught.value) == (
        "TransactionContext Error: Failed to commit: PRIMARY KEY or UNIQUE constraint "
        'violation: duplicate key "c"'
    )


# -- the bulk path --------------------------------------------------------------------------------


async def test_a_duplicate_id_in_a_bulk_insert_names_the_aggregate(shop: Factory) -> None:
    [stored] = await _seed(shop)
    batch = [_gadget(f"N-{n}") for n in range(BULK_THRESHOLD)]
    batch.append(_gadget("CLASH", stored.id))
    async with shop() as uow:
        with pytest.raises(DuplicateError) as caught:
            await uow.gadgets.add_many(batch)
    assert str(caught.value) == (
        f"Gadget with id {stored.id!r} already exists (Constraint Error: Duplicate key "
        f'"id: {stored.id}" violates primary key constraint.)'
    )
    assert isinstance(caught.value.__cause__, duckdb.ConstraintException)


@pytest.mark.parametrize("remove", [False, True], ids=["update", "remove"])
async def test_stale_versions_in_bulk_name_the_first(shop: Factory, remove: bool) -> None:
    count = BULK_THRESHOLD + 1
    gadgets = await _seed(shop, count)
    async with shop() as first:
        mine = await first.gadgets.find()
        await first.commit()  # a newer snapshot next: the other commit is visible, not a conflict
        async with shop() as second:
            for gadget in gadgets[2:4]:
                (await second.gadgets.get(gadget.id)).quantity = 42
            await second.commit()
        for gadget in mine:
            if remove:
                await first.gadgets.remove(gadget)
            else:
                gadget.note = "mine"
        with pytest.raises(ConcurrencyError) as caught:
            await first.commit()
    found = re.fullmatch(
        rf"2 of {count} Gadget aggregates {MANY_CHANGED}; the first: Gadget (.*) "
        r"\(loaded version 1\); nothing was saved",
        str(caught.value),
    )
    assert found is not None
    assert found[1] in {repr(g.id) for g in gadgets[2:4]}


async def test_a_conflict_in_bulk_lists_the_first_ids(shop: Factory) -> None:
    count = BULK_THRESHOLD + 1
    gadgets = await _seed(shop, count)
    async with shop() as first:
        mine = await first.gadgets.find()  # the snapshot predates the other commit
        async with shop() as second:
            (await second.gadgets.get(gadgets[0].id)).quantity = 42
            await second.commit()
        for gadget in mine:
            gadget.note = "mine"
        with pytest.raises(ConcurrencyError) as caught:
            await first.commit()
    found = re.fullmatch(
        rf"some of {count} Gadget aggregates {MANY_CHANGED}, among (.*), (.*), (.*), \.\.\. "
        r"\(TransactionContext Error: Conflict on [a-z ]+!\); nothing was saved",
        str(caught.value),
    )
    assert found is not None
    assert set(found.groups()) <= {repr(g.id) for g in gadgets}
    assert isinstance(caught.value.__cause__, duckdb.TransactionException)
