"""The correctness facts of DESIGN.md, each proven on a real DuckDB file.

Where DuckDB itself behaves surprisingly, a ``test_duckdb_*`` test shows the raw behaviour with
the plain driver first, so a DuckDB release that changes it is noticed; the test after it shows
that a unit of work ends in the right Andamios error, and reads the rows back to prove that
nothing was lost or half saved.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm.exc import StaleDataError
from tests.integration.duckdb._contract_mapping import contract_mapping, open_database

from andamios.adapters.duckdb import Database
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.domain import F, InvalidSpecification, uuid7
from andamios.ports import UnitOfWorkFactory
from andamios.ports.errors import (
    ConcurrencyError,
    DataError,
    DuplicateError,
    UnitOfWorkError,
)
from andamios.testing.models import ContractUnitOfWork, Counter, Gadget

type Factory = UnitOfWorkFactory[ContractUnitOfWork]


@dataclass
class Store:
    """A DuckDB file with the contract tables, its mapping and a unit-of-work factory."""

    database: Database
    mapping: Mapping
    new_uow: Factory
    statements: list[str]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    with contract_mapping() as mapping:
        async with open_database("file", tmp_path, mapping) as database:
            statements: list[str] = []

            def record(conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
                statements.append(statement)

            sa.event.listen(database.engine.sync_engine, "before_cursor_execute", record)
            yield Store(
                database,
                mapping,
                SqlAlchemyUnitOfWork.factory(
                    ContractUnitOfWork, database=database, mapping=mapping
                ),
                statements,
            )


@pytest.fixture
def raw(tmp_path: Path) -> Iterator[Callable[[], duckdb.DuckDBPyConnection]]:
    """Cursors (each its own transaction) on a plain DuckDB file with one row ``(1, 10, 1)``."""
    connection = duckdb.connect(str(tmp_path / "raw.duckdb"))
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER, version INTEGER)")
    connection.execute("INSERT INTO t VALUES (1, 10, 1)")
    try:
        yield connection.cursor
    finally:
        connection.close()


async def _seed(store: Store, **fields: Any) -> Gadget:
    gadget = Gadget(sku="A-1", name="Anvil", price=Decimal("10.00"), **fields)
    async with store.new_uow() as uow:
        await uow.gadgets.add(gadget)
        await uow.commit()
    return gadget


async def _stored(store: Store, gadget: Gadget) -> Gadget | None:
    async with store.new_uow() as uow:
        return await uow.gadgets.get_or_none(gadget.id)


# -- rowcount: a stale version is detected, not silently lost ---------------------------------


async def test_the_dialect_reports_sane_rowcounts_so_versions_are_verified(store: Store) -> None:
    assert store.database.engine.dialect.supports_sane_rowcount is True
    gadget = await _seed(store)
    async with store.new_uow() as uow:
        (await uow.gadgets.get(gadget.id)).quantity = 5
        store.statements.clear()
        await uow.commit()
    [update] = [s for s in store.statements if s.startswith("UPDATE")]
    assert "WHERE gadgets.id = " in update
    assert "AND gadgets.version = " in update
    assert "version=(gadgets.version + " in update
    assert update.endswith("RETURNING gadgets.version")


async def test_a_stale_version_raises_concurrency_error_and_keeps_the_other_write(
    store: Store,
) -> None:
    gadget = await _seed(store)
    async with store.new_uow() as first:
        mine = await first.gadgets.get(gadget.id)
        await first.commit()  # the next transaction reads a newer snapshot, mine stays at 1
        async with store.new_uow() as second:
            (await second.gadgets.get(gadget.id)).price = Decimal("20.00")
            await second.commit()
        mine.price = Decimal("30.00")
        with pytest.raises(ConcurrencyError, match="expected to update 1 row") as caught:
            await first.commit()
        assert isinstance(caught.value.__cause__, StaleDataError)
        assert mine.version == 1
    stored = await _stored(store, gadget)
    assert stored is not None
    assert (stored.price, stored.version) == (Decimal("20.00"), 2)


async def test_removing_a_stale_version_raises_concurrency_error(store: Store) -> None:
    gadget = await _seed(store)
    async with store.new_uow() as first:
        doomed = await first.gadgets.get(gadget.id)
        await first.commit()
        async with store.new_uow() as second:
            (await second.gadgets.get(gadget.id)).quantity = 42
            await second.commit()
        await first.gadgets.remove(doomed)
        with pytest.raises(ConcurrencyError, match="expected to delete 1 row") as caught:
            await first.commit()
        assert isinstance(caught.value.__cause__, StaleDataError)
    stored = await _stored(store, gadget)
    assert stored is not None
    assert (stored.quantity, stored.version) == (42, 2)


# -- write-write conflicts -----------------------------------------------------------------------


def test_duckdb_rejects_a_second_open_transaction_updating_the_same_row(
    raw: Callable[[], duckdb.DuckDBPyConnection],
) -> None:
    first, second = raw(), raw()
    first.execute("BEGIN")
    second.execute("BEGIN")
    first.execute("UPDATE t SET v = 11 WHERE id = 1")
    with pytest.raises(duckdb.TransactionException, match="Conflict on update"):
        second.execute("UPDATE t SET v = 12 WHERE id = 1")


async def test_two_open_units_of_work_changing_the_same_row(store: Store) -> None:
    gadget = await _seed(store)
    async with store.new_uow() as first, store.new_uow() as second:
        mine = await first.gadgets.get(gadget.id)
        theirs = await second.gadgets.get(gadget.id)
        mine.quantity = 1
        assert await first.gadgets.count(F("quantity") == 1) == 1  # flushed, not committed
        theirs.quantity = 2
        with pytest.raises(ConcurrencyError, match="Conflict on"):
            await second.commit()
        assert theirs.version == 1
        await first.commit()
        assert mine.version == 2
    stored = await _stored(store, gadget)
    assert stored is not None
    assert (stored.quantity, stored.version) == (1, 2)


# -- DELETE against UPDATE (duckdb#17223) ----------------------------------------------------------


def test_duckdb_lets_a_plain_update_and_a_delete_of_one_row_both_commit(
    raw: Callable[[], duckdb.DuckDBPyConnection],
) -> None:
    deleter, updater = raw(), raw()
    deleter.execute("BEGIN")
    updater.execute("BEGIN")
    deleter.execute("DELETE FROM t WHERE id = 1 AND version = 1")
    updater.execute("UPDATE t SET v = 11, version = 2 WHERE id = 1 AND version = 1")
    assert updater.rowcount == 1
    deleter.execute("COMMIT")
    updater.execute("COMMIT")  # no error: the update is lost
    assert raw().execute("SELECT count(*) FROM t").fetchall() == [(0,)]


@pytest.mark.parametrize("update_first", [False, True], ids=["delete-first", "update-first"])
def test_duckdb_detects_the_conflict_when_the_update_returns_rows(
    raw: Callable[[], duckdb.DuckDBPyConnection], update_first: bool
) -> None:
    deleter, updater = raw(), raw()
    deleter.execute("BEGIN")
    updater.execute("BEGIN")
    update = (
        "UPDATE t SET v = 11, version = version + 1 WHERE id = 1 AND version = 1 RETURNING version"
    )
    delete = "DELETE FROM t WHERE id = 1 AND version = 1"
    first, then = (updater, deleter) if update_first else (deleter, updater)
    first.execute(update if update_first else delete).fetchall()
    with pytest.raises(duckdb.TransactionException, match="Conflict on tuple deletion"):
        then.execute(delete if update_first else update)


@pytest.mark.parametrize(
    "order",
    [
        "remove-commit-then-change-commit",
        "change-commit-then-remove-commit",
        "remove-flush-then-change",
        "change-flush-then-remove",
    ],
)
async def test_a_removal_and_a_change_of_one_aggregate_never_lose_the_change(
    store: Store, order: str
) -> None:
    gadget = await _seed(store)
    async with store.new_uow() as remover, store.new_uow() as changer:
        doomed = await remover.gadgets.get(gadget.id)
        changed = await changer.gadgets.get(gadget.id)
        changed.quantity = 42

        async def remove() -> None:
            await remover.gadgets.remove(doomed)
            if order.endswith("-commit") or order.startswith("change-flush"):
                await remover.commit()
            else:
                await remover.gadgets.count()  # flush the DELETE, keep the transaction open

        async def change() -> None:
            if order.endswith("-commit") or order.startswith("remove-flush"):
                await changer.commit()
            else:
                await changer.gadgets.count()

        if order.startswith("remove"):
            await remove()
            with pytest.raises(ConcurrencyError, match="Conflict on tuple deletion"):
                await change()
            await remover.commit()
        else:
            await change()
            with pytest.raises(ConcurrencyError, match="Conflict on tuple deletion"):
                await remove()
            await changer.commit()
    stored = await _stored(store, gadget)
    if order.startswith("remove"):
        assert stored is None  # removed, and the changer was told its change failed
        assert changed.version == 1
    else:
        assert stored is not None  # the committed change survived the removal
        assert (stored.quantity, stored.version) == (42, 2)


# -- a failed statement aborts the transaction ------------------------------------------------


def test_duckdb_commit_after_a_failed_statement_silently_rolls_back(
    raw: Callable[[], duckdb.DuckDBPyConnection],
) -> None:
    cursor = raw()
    cursor.execute("BEGIN")
    cursor.execute("UPDATE t SET v = 99 WHERE id = 1")
    with pytest.raises(duckdb.ConstraintException):
        cursor.execute("INSERT INTO t VALUES (1, 0, 1)")
    cursor.execute("COMMIT")  # raises nothing
    assert raw().execute("SELECT v FROM t").fetchall() == [(10,)]


async def test_after_a_failed_statement_commit_raises_and_nothing_is_saved(store: Store) -> None:
    gadget = await _seed(store)
    async with store.new_uow() as uow:
        anvil = await uow.gadgets.get(gadget.id)
        anvil.quantity = 99
        await uow.gadgets.add(Gadget(sku="N-1", name="innocent", price=Decimal(1)))
        await uow.gadgets.add(Gadget(sku=None, name="broken", price=Decimal(1)))  # type: ignore[arg-type]
        # The NOT NULL column refuses None in the autoflush of a query, before any SQL (as the
        # in-memory adapter does at commit), and the unit of work remembers the failure.
        with pytest.raises(DataError, match="sku = None is None"):
            await uow.gadgets.find(F("sku") == "N-1")
        with pytest.raises(UnitOfWorkError, match="earlier statement"):
            await uow.commit()
        assert (anvil.quantity, anvil.version) == (99, 1)  # still readable, not expired
    async with store.new_uow() as uow:
        assert await uow.gadgets.count() == 1
        assert (await uow.gadgets.get(gadget.id)).quantity == 0


# -- the same id inserted twice ------------------------------------------------------------------


async def test_the_same_id_added_by_two_open_units_of_work_fails_the_second_commit(
    store: Store,
) -> None:
    same = uuid7()
    async with store.new_uow() as first, store.new_uow() as second:
        assert await first.gadgets.count() == await second.gadgets.count() == 0  # both begun
        await first.gadgets.add(Gadget(id=same, sku="1ST", name="first", price=Decimal(1)))
        late = Gadget(id=same, sku="2ND", name="second", price=Decimal(2))
        await second.gadgets.add(late)
        assert await first.gadgets.count() == await second.gadgets.count() == 1  # both inserted
        await first.commit()
        with pytest.raises(DuplicateError, match="Failed to commit"):
            await second.commit()
        assert (late.version, late.sku) == (0, "2ND")  # never stored, still readable
    async with store.new_uow() as uow:
        assert (await uow.gadgets.get(same)).sku == "1ST"
        assert await uow.gadgets.count() == 1


# -- lost updates under real concurrency -----------------------------------------------------------


async def test_concurrent_increments_are_all_kept(store: Store) -> None:
    tasks, increments = 6, 20
    async with store.new_uow() as uow:
        await uow.counters.add(Counter(id="hits"))
        await uow.commit()
    conflicts: list[ConcurrencyError] = []

    async def increment() -> None:
        for _ in range(increments):
            while True:
                try:
                    async with store.new_uow() as uow:
                        counter = await uow.counters.get("hits")
                        counter.value += 1
                        await uow.commit()
                    break
                except ConcurrencyError as error:
                    conflicts.append(error)

    await asyncio.gather(*(increment() for _ in range(tasks)))
    async with store.new_uow() as uow:
        counter = await uow.counters.get("hits")
    assert (counter.value, counter.version) == (tasks * increments, tasks * increments + 1)
    assert conflicts  # the tasks really raced, and every conflict was an Andamios error
    assert all(isinstance(error.__cause__, sa.exc.SQLAlchemyError) for error in conflicts)


# -- specifications never reach the database unchecked -----------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (lambda: F("price") < "cheap", "cannot compare it with str"),
        (lambda: F("colour") == "red", "no field 'colour'"),
        (lambda: F("name.first") == "x", "not a dataclass value object"),
        (lambda: F("quantity").in_([1, "2"]), "cannot compare it with str"),
    ],
)
async def test_a_bad_spec_raises_before_any_sql_runs(
    store: Store, spec: Callable[[], Any], message: str
) -> None:
    async with store.new_uow() as uow:
        await uow.gadgets.add(Gadget(sku="P-1", name="pending", price=Decimal(1)))
        store.statements.clear()
        with pytest.raises(InvalidSpecification, match=message):
            await uow.gadgets.find(spec())
        with pytest.raises(InvalidSpecification, match=message):
            await uow.gadgets.count(spec())
        with pytest.raises(InvalidSpecification, match=message):
            await uow.gadgets.exists(spec())
        assert store.statements == []  # not even the autoflush of the pending add
        await uow.commit()


async def test_values_are_bound_parameters(store: Store) -> None:
    hostile = "x' OR '1'='1"
    await _seed(store, note=hostile)
    async with store.new_uow() as uow:
        store.statements.clear()
        found = await uow.gadgets.find(
            (F("note") == hostile) & (F("active") == True) & F("sku").contains("%")  # noqa: E712
        )
        assert found == []
        found = await uow.gadgets.find((F("note") == hostile) & (F("active") == True))  # noqa: E712
        assert [g.sku for g in found] == ["A-1"]
    [select, _] = store.statements
    assert hostile not in select
    assert "'1'" not in select
    assert "true" not in select.lower()
    assert "gadgets.note = $" in select
    assert "gadgets.active = $" in select
