"""PostgreSQL's conflict and duplicate errors name the aggregate, its id and what happened.

The scenarios of ``tests/integration/duckdb/test_error_messages.py``, on a real server: the
Andamios part of each message is worded as on DuckDB wherever the situation is the same, and
PostgreSQL's words end it, in parentheses, with the driver's exception as the cause.

Where PostgreSQL differs by design, the difference is pinned:

- a write to a row another open unit of work has changed waits until ``lock_timeout`` (0.5 s in
  tests) and is then a ``ConcurrencyError`` (DuckDB refuses it at once);
- two open units of work inserting the same new key: the second one's INSERT waits and becomes
  a ``DuplicateError`` ("... is being written by another unit of work that has not committed
  yet"), or names the duplicate once the first commits meanwhile (DuckDB accepts both INSERTs
  and refuses the second COMMIT);
- at REPEATABLE READ (the default), writing a row another unit of work committed after this
  one's snapshot is a serialization failure, a ``ConcurrencyError``;
- the ORM deletes versioned rows one statement each on asyncpg, so a removal waiting for a
  locked row names that one aggregate, not "some of" the ones removed;
- the bulk path stages rows with ``COPY`` and fails on the ``INSERT ... SELECT``, ``UPDATE ...
  FROM`` or ``DELETE ... USING`` that reads them.

One schema for the module (``open_database``), its tables emptied before each test: a schema
and its tables cost more than most of these tests.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Coroutine
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError
from tests.integration.duckdb._contract_mapping import contract_mapping, open_database

from andamios.adapters.postgresql import Database
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.adapters.sqlalchemy._bulk import BULK_THRESHOLD
from andamios.domain import AggregateRoot, uuid7
from andamios.ports import Repository, UnitOfWorkFactory
from andamios.ports.errors import ConcurrencyError, DuplicateError, UnitOfWorkError
from andamios.testing.models import Basket, BasketLine, ContractUnitOfWork, Gadget

type Factory = UnitOfWorkFactory[ContractUnitOfWork]

pytestmark = pytest.mark.asyncio(loop_scope="module")

CHANGED = "was changed or removed by another unit of work"
MANY_CHANGED = "were changed or removed by another unit of work"
RACING = "is being written by another unit of work that has not committed yet"
#: ``lock_timeout`` in tests (``tests/_postgresql.py``), and the error of a write waiting past it.
LOCK_TIMEOUT = 0.5
WAITED = (
    "another unit of work holds an uncommitted change to the same row: waited "
    "lock_timeout=0.5 s for it (canceling statement due to lock timeout; SQLSTATE 55P03)"
)
LOCK_NOT_AVAILABLE = "55P03"
SERIALIZATION_FAILURE = "40001"
UNIQUE_VIOLATION = "23505"


@dataclass(eq=False, kw_only=True)
class Item(AggregateRoot[int]):
    sku: str
    shelf: str
    bin: int


def _items(metadata: sa.MetaData) -> sa.Table:
    # A PostgreSQL reserved word as the table's name: statements quote it.
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


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def opened(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[Mapping, Database]]:
    """The module's database, in a schema of its own (skipped without a server)."""
    with contract_mapping() as mapping:
        mapping.map(Item, _items(mapping.metadata))
        directory: Path = tmp_path_factory.mktemp("postgresql")
        async with open_database("postgresql", directory, mapping) as database:
            yield mapping, database


@pytest_asyncio.fixture(loop_scope="module")
async def database(opened: tuple[Mapping, Database]) -> Database:
    """The module's database with its tables emptied."""
    mapping, database = opened
    async with database.engine.begin() as connection:
        # DELETE, not TRUNCATE: a few rows, and TRUNCATE makes every table's files anew.
        for table in reversed(mapping.metadata.sorted_tables):
            await connection.execute(table.delete())
    return database


@pytest_asyncio.fixture(loop_scope="module")
async def shop(opened: tuple[Mapping, Database], database: Database) -> Factory:
    mapping, _ = opened
    return SqlAlchemyUnitOfWork.factory(ContractUnitOfWork, database=database, mapping=mapping)


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


def _session(uow: ContractUnitOfWork) -> AsyncSession:
    session: AsyncSession = getattr(uow, "session")  # noqa: B009 - the adapter's, not the port's
    return session


def _sqlstate(error: BaseException) -> str | None:
    """The SQLSTATE of the driver's error under ``error`` (its cause)."""
    cause = error.__cause__
    assert isinstance(cause, DBAPIError)
    state: str | None = getattr(cause.orig, "sqlstate", None)
    return state


def _shown(aggregates: list[Gadget]) -> str:
    """The first ids, as a message lists them."""
    return ", ".join(repr(a.id) for a in aggregates[:3]) + (", ..." if len(aggregates) > 3 else "")


async def _backend_pid(uow: ContractUnitOfWork) -> int:
    """The server process of ``uow``'s connection (asked before it has anything to flush)."""
    pid: int = await _session(uow).scalar(sa.text("SELECT pg_backend_pid()"))
    return pid


async def _once_waiting[T](
    database: Database, pid: int, write: Coroutine[Any, Any, T]
) -> asyncio.Task[T]:
    """``write`` started, returned once the server makes ``pid`` wait for another's lock."""
    task = asyncio.create_task(write)
    waiting = False
    async with database.engine.connect() as watcher:
        while not (waiting or task.done()):
            await asyncio.sleep(0.002)
            waiting = await watcher.scalar(
                sa.text("SELECT cardinality(pg_blocking_pids(:pid)) > 0"), {"pid": pid}
            )
            await watcher.rollback()
    if not waiting:  # done first: an error of its own (raised here), or no conflict at all
        await task
        raise AssertionError("the write did not wait for the other unit of work")
    return task


async def _error_of(write: Awaitable[object]) -> Exception | None:
    """What ``write`` raised, or None (an assertion, not ``pytest.raises``, tells it is missing)."""
    try:
        await write
    except Exception as error:  # returned for the test to judge
        return error
    return None


# -- conflicts ------------------------------------------------------------------------------------


async def test_a_write_write_conflict_waits_for_lock_timeout_and_names_the_aggregate(
    shop: Factory,
) -> None:
    [gadget] = await _seed(shop)
    async with shop() as first, shop() as second:
        mine = await first.gadgets.get(gadget.id)
        theirs = await second.gadgets.get(gadget.id)
        mine.quantity = 1
        await first.gadgets.count()  # flushed: the row is first's until it commits
        theirs.quantity = 2
        started = time.perf_counter()
        with pytest.raises(ConcurrencyError) as caught:
            await second.commit()  # DuckDB refuses at once; PostgreSQL waits for the lock
        waited = time.perf_counter() - started
        await first.commit()
    assert str(caught.value) == f"Gadget {gadget.id!r} {CHANGED} (loaded version 1; {WAITED})"
    assert _sqlstate(caught.value) == LOCK_NOT_AVAILABLE
    assert waited >= LOCK_TIMEOUT * 0.9
    async with shop() as uow:
        assert (await uow.gadgets.get(gadget.id)).quantity == 1


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
    assert str(caught.value) == f"Gadget {gadget.id!r} {CHANGED} (loaded version 1; {WAITED})"


async def test_a_conflict_on_a_quoted_table_names_the_aggregate(shop: Factory) -> None:
    async with shop() as uow:
        await _items_of(uow).add(Item(id=7, sku="s", shelf="A", bin=1))
        await uow.commit()
    async with shop() as first, shop() as second:
        (await _items_of(first).get(7)).bin = 2
        await _items_of(first).count()
        (await _items_of(second).get(7)).bin = 3
        with pytest.raises(ConcurrencyError) as caught:
            await second.commit()
    assert str(caught.value) == f"Item 7 {CHANGED} (loaded version 1; {WAITED})"


async def test_a_conflict_of_several_removals_names_the_one_that_waited(shop: Factory) -> None:
    one, _ = await _seed(shop, 2)
    async with shop() as changer, shop() as remover:
        (await changer.gadgets.get(one.id)).quantity = 5
        await changer.gadgets.count()
        for gadget in await remover.gadgets.find():
            await remover.gadgets.remove(gadget)
        with pytest.raises(ConcurrencyError) as caught:
            await remover.commit()  # one DELETE per row on asyncpg: the one waiting is named
    assert str(caught.value) == f"Gadget {one.id!r} {CHANGED} (loaded version 1; {WAITED})"


@pytest.mark.parametrize(
    ("theirs_remove", "mine_remove", "concurrent"),
    [(False, False, "update"), (False, True, "update"), (True, False, "delete")],
    ids=["update-after-update", "remove-after-update", "update-after-removal"],
)
async def test_a_row_committed_after_the_snapshot_is_a_serialization_failure(
    shop: Factory, theirs_remove: bool, mine_remove: bool, concurrent: str
) -> None:
    [gadget] = await _seed(shop)
    async with shop() as first:
        mine = await first.gadgets.get(gadget.id)  # first's snapshot: REPEATABLE READ
        async with shop() as second:
            theirs = await second.gadgets.get(gadget.id)
            if theirs_remove:
                await second.gadgets.remove(theirs)
            else:
                theirs.price = Decimal("20.00")
            await second.commit()
        if mine_remove:
            await first.gadgets.remove(mine)
        else:
            mine.price = Decimal("30.00")
        with pytest.raises(ConcurrencyError) as caught:
            await first.commit()
    assert str(caught.value) == (
        f"Gadget {gadget.id!r} {CHANGED} (loaded version 1; could not serialize access due to "
        f"concurrent {concurrent})"
    )
    assert _sqlstate(caught.value) == SERIALIZATION_FAILURE


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


async def test_stale_versions_among_several_updates_say_how_many(shop: Factory) -> None:
    gadgets = await _seed(shop, 3)
    async with shop() as first:
        mine = await first.gadgets.find()
        await first.commit()
        async with shop() as second:
            (await second.gadgets.get(gadgets[1].id)).quantity = 9
            await second.commit()
        for gadget in mine:
            gadget.note = "mine"
        with pytest.raises(ConcurrencyError) as caught:
            await first.commit()
    message = str(caught.value)
    assert message.startswith(f"1 of 3 Gadget aggregates {MANY_CHANGED}, among ")
    assert all(repr(g.id) in message for g in gadgets)
    assert message.endswith(
        "(UPDATE statement on table 'gadgets' expected to update 3 row(s); 2 were matched.)"
    )


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
        error = await _error_of(first.commit())
    assert isinstance(error, ConcurrencyError), "the stale removal went unnoticed"
    message = str(error)
    # asyncpg counts no batch: each versioned DELETE runs alone and is checked as it runs.
    assert message.startswith(f"1 of 3 Gadget aggregates {MANY_CHANGED}, among ")
    assert all(repr(g.id) in message for g in gadgets)
    assert message.endswith(
        "(DELETE statement on table 'gadgets' expected to delete 1 row(s); 0 were matched.)"
    )
    async with shop() as uow:
        # Nothing was saved: the two fresh removals were rolled back with the stale one.
        assert len(await uow.gadgets.find()) == 3


# -- duplicates -----------------------------------------------------------------------------------


def _duplicate_id(table: str, id: object) -> str:
    """PostgreSQL's words for a duplicate id in ``table``."""
    return (
        f'duplicate key value violates unique constraint "{table}_pkey"; Key (id)=({id}) '
        "already exists."
    )


async def test_a_duplicate_id_at_the_flush_names_the_aggregate(shop: Factory) -> None:
    [gadget] = await _seed(shop)
    async with shop() as uow:
        await uow.gadgets.add(_gadget("OTHER", gadget.id))
        with pytest.raises(DuplicateError) as caught:
            await uow.commit()
    assert str(caught.value) == (
        f"Gadget with id {gadget.id!r} already exists ({_duplicate_id('gadgets', gadget.id)})"
    )
    assert _sqlstate(caught.value) == UNIQUE_VIOLATION


async def test_a_key_another_open_unit_of_work_inserted_waits_and_is_a_duplicate(
    shop: Factory,
) -> None:
    same = uuid7()
    async with shop() as first, shop() as second:
        await first.gadgets.add(_gadget("1ST", same))
        await second.gadgets.add(_gadget("2ND", same))
        await first.gadgets.count()
        with pytest.raises(DuplicateError) as caught:
            await second.gadgets.count()  # its INSERT waits for first (DuckDB: at COMMIT)
        await first.commit()
    assert str(caught.value) == f"a key of Gadget {same!r} {RACING} ({WAITED})"
    assert _sqlstate(caught.value) == LOCK_NOT_AVAILABLE


async def test_a_key_committed_while_the_insert_waits_names_the_aggregate(
    shop: Factory, database: Database
) -> None:
    same = uuid7()
    async with shop() as first, shop() as second:
        pid = await _backend_pid(second)
        await first.gadgets.add(_gadget("1ST", same))
        await first.gadgets.count()
        await second.gadgets.add(_gadget("2ND", same))
        waiting = await _once_waiting(database, pid, second.gadgets.count())
        await first.commit()
        with pytest.raises(DuplicateError) as caught:
            await waiting
    assert str(caught.value) == (
        f"Gadget with id {same!r} already exists ({_duplicate_id('gadgets', same)})"
    )
    assert _sqlstate(caught.value) == UNIQUE_VIOLATION


@pytest.mark.parametrize("when", ["committed", "uncommitted", "committed-while-waiting"])
@pytest.mark.parametrize(
    "case",
    [
        (
            ("abc", "B", 1),
            "sku 'abc'",
            'duplicate key value violates unique constraint "order_sku_key"; '
            "Key (sku)=(abc) already exists.",
        ),
        (
            ("xyz", "A", 3),
            "shelf 'A', bin 3",
            'duplicate key value violates unique constraint "order_shelf_bin_key"; '
            "Key (shelf, bin)=(A, 3) already exists.",
        ),
    ],
    ids=["unique-column", "unique-columns"],
)
async def test_a_duplicate_unique_value_names_it(
    shop: Factory, database: Database, case: tuple[tuple[str, str, int], str, str], when: str
) -> None:
    (sku, shelf, bin), named, words = case
    async with shop() as first, shop() as second:
        pid = await _backend_pid(second)
        await _items_of(first).add(Item(id=1, sku="abc", shelf="A", bin=3))
        if when == "committed":
            await first.commit()
        else:
            await _items_of(first).count()
        await _items_of(second).add(Item(id=2, sku=sku, shelf=shelf, bin=bin))
        commit = second.commit()
        write: Awaitable[None] = commit
        if when == "committed-while-waiting":
            write = await _once_waiting(database, pid, commit)
            await first.commit()
        with pytest.raises(DuplicateError) as caught:
            await write
    if when == "uncommitted":
        # Which key waited, the server does not say: the aggregate written is named.
        assert str(caught.value) == f"a key of Item 2 {RACING} ({WAITED})"
    else:
        assert str(caught.value) == f"Item with {named} already exists ({words})"


async def test_a_duplicate_child_id_another_open_unit_of_work_wrote_names_the_aggregate(
    shop: Factory,
) -> None:
    line = uuid7()
    async with shop() as first, shop() as second:
        mine = Basket(owner="ann", lines=[BasketLine(id=line, position=0, sku="x")])
        theirs = Basket(owner="bob", lines=[BasketLine(id=line, position=0, sku="y")])
        await first.repository(Basket).add(mine)
        await second.repository(Basket).add(theirs)
        await first.repository(Basket).count()
        with pytest.raises(DuplicateError) as caught:
            await second.repository(Basket).count()
    assert str(caught.value) == f"a key of Basket {theirs.id!r} {RACING} ({WAITED})"


async def test_a_duplicate_child_id_among_several_aggregates_names_the_aggregates(
    shop: Factory,
) -> None:
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
        with pytest.raises(DuplicateError) as caught:
            await second.repository(Basket).count()
    message = str(caught.value)
    assert message.startswith("a key of ")
    assert "BasketLine" not in message
    assert repr(theirs[0].id) in message
    assert message.endswith(f"{RACING} ({WAITED})")


async def test_a_duplicate_child_id_committed_names_the_aggregate(shop: Factory) -> None:
    line = uuid7()
    async with shop() as first, shop() as second:
        mine = Basket(owner="ann", lines=[BasketLine(id=line, position=0, sku="x")])
        theirs = Basket(owner="bob", lines=[BasketLine(id=line, position=0, sku="y")])
        await first.repository(Basket).add(mine)
        await first.commit()
        await second.repository(Basket).add(theirs)
        with pytest.raises(DuplicateError) as caught:
            await second.commit()
    message = str(caught.value)
    assert message.startswith(f"a key of Basket {theirs.id!r} already exists: ")
    assert message.endswith(f"({_duplicate_id('basket_lines', line)})")


COUNTER = sa.text("INSERT INTO counters (id, value, version) VALUES ('c', 0, 1)")


async def test_a_duplicate_written_only_through_the_session_keeps_postgresqls_words(
    shop: Factory, database: Database
) -> None:
    async with shop() as first, shop() as second:
        pid = await _backend_pid(second)
        await _session(first).execute(COUNTER)
        waiting = await _once_waiting(database, pid, _session(second).execute(COUNTER))
        await first.commit()
        with pytest.raises(DBAPIError):
            await waiting  # the session's own statement: the driver's error, untranslated
        with pytest.raises(UnitOfWorkError) as caught:
            await second.commit()  # the statement failed, so PostgreSQL refuses the COMMIT
    assert str(caught.value) == (
        "cannot commit: an earlier statement in this unit of work failed (DuplicateError: "
        'duplicate key value violates unique constraint "counters_pkey"; Key (id)=(c) already '
        "exists.); nothing was saved"
    )
    assert isinstance(caught.value.__cause__, DuplicateError)


async def test_a_key_written_through_the_session_of_another_open_unit_of_work(
    shop: Factory,
) -> None:
    async with shop() as first, shop() as second:
        await _session(first).execute(COUNTER)
        with pytest.raises(DBAPIError):
            await _session(second).execute(COUNTER)  # waited for first until lock_timeout
        await first.commit()
        with pytest.raises(UnitOfWorkError) as caught:
            await second.commit()
    assert str(caught.value) == (
        f"cannot commit: an earlier statement in this unit of work failed (ConcurrencyError: "
        f"{WAITED}); nothing was saved"
    )


# -- the bulk path --------------------------------------------------------------------------------


async def test_a_duplicate_id_in_a_bulk_insert_names_the_aggregate(shop: Factory) -> None:
    [stored] = await _seed(shop)
    batch = [_gadget(f"N-{n}") for n in range(BULK_THRESHOLD)]
    batch.append(_gadget("CLASH", stored.id))
    async with shop() as uow:
        with pytest.raises(DuplicateError) as caught:
            await uow.gadgets.add_many(batch)  # COPY, then INSERT ... SELECT
    assert str(caught.value) == (
        f"Gadget with id {stored.id!r} already exists ({_duplicate_id('gadgets', stored.id)})"
    )
    assert _sqlstate(caught.value) == UNIQUE_VIOLATION


async def test_a_bulk_insert_of_a_key_another_open_unit_of_work_inserted(shop: Factory) -> None:
    batch = [_gadget(f"N-{n}") for n in range(BULK_THRESHOLD)]
    async with shop() as first, shop() as second:
        await first.gadgets.add(_gadget("1ST", batch[2].id))
        await first.gadgets.count()
        with pytest.raises(DuplicateError) as caught:
            await second.gadgets.add_many(batch)
    message = str(caught.value)
    assert message.startswith(f"a key of Gadget {_shown(batch)} {RACING} (")
    assert WAITED in message


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


def _in_bulk_message(message: str, count: int, words: str) -> list[str]:
    """The ids a bulk conflict's ``message`` lists, once the rest is as expected."""
    head = f"some of {count} Gadget aggregates {MANY_CHANGED}, among "
    tail = f", ... ({words}); nothing was saved"
    assert message.startswith(head), message
    assert message.endswith(tail), message
    return message[len(head) : -len(tail)].split(", ")


@pytest.mark.parametrize("remove", [False, True], ids=["update", "remove"])
async def test_a_conflict_in_bulk_lists_the_first_ids(shop: Factory, remove: bool) -> None:
    count = BULK_THRESHOLD + 1
    gadgets = await _seed(shop, count)
    async with shop() as first:
        mine = await first.gadgets.find()  # the snapshot predates the other commit
        async with shop() as second:
            (await second.gadgets.get(gadgets[0].id)).quantity = 42
            await second.commit()
        for gadget in mine:
            if remove:
                await first.gadgets.remove(gadget)
            else:
                gadget.note = "mine"
        with pytest.raises(ConcurrencyError) as caught:
            await first.commit()
    words = "could not serialize access due to concurrent update"
    listed = _in_bulk_message(str(caught.value), count, words)
    assert len(listed) == 3
    assert set(listed) <= {repr(g.id) for g in gadgets}
    assert _sqlstate(caught.value) == SERIALIZATION_FAILURE


@pytest.mark.parametrize("remove", [False, True], ids=["update", "remove"])
async def test_a_bulk_write_to_a_row_another_open_unit_of_work_changed_waits(
    shop: Factory, remove: bool
) -> None:
    count = BULK_THRESHOLD + 1
    gadgets = await _seed(shop, count)
    async with shop() as first, shop() as second:
        mine = await first.gadgets.find()
        (await second.gadgets.get(gadgets[0].id)).quantity = 42
        await second.gadgets.count()  # flushed, not committed
        for gadget in mine:
            if remove:
                await first.gadgets.remove(gadget)
            else:
                gadget.note = "mine"
        with pytest.raises(ConcurrencyError) as caught:
            await first.commit()
    listed = _in_bulk_message(str(caught.value), count, WAITED)
    assert len(listed) == 3
    assert set(listed) <= {repr(g.id) for g in gadgets}
    assert _sqlstate(caught.value) == LOCK_NOT_AVAILABLE
