"""A failed statement poisons its transaction on every channel: COMMIT raises, nothing is saved.

DuckDB aborts a transaction at its first failed statement and a later COMMIT rolls back without
an error. The ``duckdb+async`` driver remembers the failure, so whoever caught it (a repository,
code using ``uow.session``, a raw connection, a plain SQLAlchemy engine) cannot commit by mistake.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from tests.integration.duckdb._contract_mapping import (
    DATABASE_KINDS,
    DUCKDB_KINDS,
    contract_mapping,
    database_url,
    open_database,
)

from andamios.adapters.duckdb import AsyncDuckDBConnection, Database, translate_error
from andamios.adapters.duckdb._connection import SharedDatabase, TransactionAborted
from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork
from andamios.ports import UnitOfWorkFactory
from andamios.ports.errors import OperationalError, UnitOfWorkError
from andamios.testing.models import ContractUnitOfWork, Gadget

type Factory = UnitOfWorkFactory[ContractUnitOfWork]

DUCKDB_MISSING = "Catalog Error: Table with name missing does not exist!"
#: What each database says of the missing table (DuckDB, PostgreSQL), after Andamios' words.
MISSING = rf'(?:{re.escape(DUCKDB_MISSING)}|relation "missing" does not exist)'
REFUSED = (
    r"cannot commit: an earlier statement in this unit of work failed \(OperationalError: "
    rf"{MISSING}\); nothing was saved"
)


@pytest.fixture(params=DATABASE_KINDS)
async def shop(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Factory]:
    with contract_mapping() as mapping:
        async with open_database(request.param, tmp_path, mapping) as database:
            yield SqlAlchemyUnitOfWork.factory(
                ContractUnitOfWork, database=database, mapping=mapping
            )


def _gadget(sku: str) -> Gadget:
    return Gadget(sku=sku, name=sku.lower(), price=Decimal(1))


async def _skus(new_uow: Factory) -> list[str]:
    async with new_uow() as uow:
        return [g.sku for g in await uow.gadgets.find(order_by="sku")]


async def _fail_through_the_session(uow: ContractUnitOfWork) -> None:
    session = getattr(uow, "session")  # noqa: B009 - the adapter's, not the shape's
    with pytest.raises(DBAPIError):
        await session.execute(sa.text("SELECT * FROM missing"))


async def test_a_caught_session_failure_makes_commit_raise(shop: Factory) -> None:
    async with shop() as uow:
        await uow.gadgets.add(_gadget("A"))
        assert await uow.gadgets.count() == 1  # written to the database (flushed)
        await _fail_through_the_session(uow)
        with pytest.raises(UnitOfWorkError) as caught:
            await uow.commit()
        assert re.fullmatch(REFUSED, str(caught.value))
        cause = caught.value.__cause__
        assert type(cause) is OperationalError
        # The driver's own exception, kept for debugging.
        assert isinstance(cause.__cause__, (duckdb.CatalogException, sa.exc.ProgrammingError))
        # As for a repository's failure: refused until rolled back, then usable again.
        with pytest.raises(UnitOfWorkError, match="earlier statement"):
            await uow.commit()
        await uow.rollback()
        await uow.gadgets.add(_gadget("B"))
        await uow.commit()
    assert await _skus(shop) == ["B"]


async def test_a_caught_session_failure_refuses_the_flush_of_commit(shop: Factory) -> None:
    async with shop() as uow:
        await uow.gadgets.add(_gadget("A"))
        await uow.gadgets.count()
        await uow.gadgets.add(_gadget("B"))  # still pending: commit() flushes it
        await _fail_through_the_session(uow)
        with pytest.raises(UnitOfWorkError) as caught:
            await uow.commit()
        assert re.fullmatch(REFUSED, str(caught.value))
        await uow.rollback()
        await uow.gadgets.add(_gadget("C"))
        await uow.commit()
    assert await _skus(shop) == ["C"]


async def test_a_repository_after_a_caught_session_failure_is_refused(shop: Factory) -> None:
    async with shop() as uow:
        await uow.gadgets.add(_gadget("A"))
        await uow.gadgets.count()
        await _fail_through_the_session(uow)
        with pytest.raises(UnitOfWorkError) as caught:
            await uow.gadgets.count()
        assert re.fullmatch(
            r"an earlier statement in this transaction failed \(OperationalError: "
            rf"{MISSING}\); roll back first",
            str(caught.value),
        )
        with pytest.raises(UnitOfWorkError, match="earlier statement in this unit of work"):
            await uow.commit()
    assert await _skus(shop) == []


async def test_a_caught_failure_on_the_raw_connection_makes_commit_raise(shop: Factory) -> None:
    if not isinstance(getattr(shop, "database", None), Database):
        pytest.skip("DuckDB's driver connection; PostgreSQL's is tested in its own suite")
    async with shop() as uow:
        await uow.gadgets.add(_gadget("A"))
        await uow.gadgets.count()
        session = getattr(uow, "session")  # noqa: B009 - the adapter's, not the shape's
        connection = await session.connection()
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert isinstance(driver, AsyncDuckDBConnection)
        with pytest.raises(duckdb.CatalogException):
            await driver.run(lambda conn: conn.execute("SELECT * FROM missing"))
        with pytest.raises(UnitOfWorkError) as caught:
            await uow.commit()
        assert re.fullmatch(REFUSED, str(caught.value))
    assert await _skus(shop) == []


@pytest.fixture(params=DUCKDB_KINDS)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    made = create_async_engine(database_url(request.param, tmp_path))
    async with made.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    yield made
    await made.dispose()


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.exec_driver_sql("SELECT count(*) FROM t")).scalar_one())


async def test_a_plain_connection_cannot_commit_after_a_failed_statement(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        await conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        with pytest.raises(DBAPIError) as failed:
            await conn.exec_driver_sql("SELECT * FROM missing")
        with pytest.raises(DBAPIError) as caught:
            await conn.commit()
        refused = caught.value.orig
        assert isinstance(refused, TransactionAborted)
        assert refused.committing
        assert refused.failure is failed.value.orig
        assert str(refused) == (
            "TransactionContext Error: cannot commit: an earlier statement of this transaction "
            f"failed (CatalogException: {DUCKDB_MISSING}); the transaction was rolled back"
        )
        error = translate_error(caught.value)
        assert type(error) is UnitOfWorkError
        assert str(error) == (
            "cannot commit: an earlier statement in this transaction failed "
            f"(OperationalError: {DUCKDB_MISSING}); nothing was saved"
        )
        assert isinstance(error.__cause__, OperationalError)
        # After SQLAlchemy's rollback of the failed transaction, the next one starts clean.
        await conn.rollback()
        await conn.exec_driver_sql("INSERT INTO t VALUES (2)")
        await conn.commit()
    async with engine.connect() as conn:
        assert (await conn.exec_driver_sql("SELECT id FROM t")).scalars().all() == [2]


async def test_a_rollback_forgets_the_failure(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        with pytest.raises(DBAPIError):
            await conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        await conn.rollback()
        await conn.exec_driver_sql("INSERT INTO t VALUES (3)")
        await conn.commit()
    assert await _count(engine) == 1


async def test_autocommit_is_unaffected(engine: AsyncEngine) -> None:
    autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
    async with autocommit.connect() as conn:
        await conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        with pytest.raises(DBAPIError):
            await conn.exec_driver_sql("SELECT * FROM missing")
        await conn.exec_driver_sql("INSERT INTO t VALUES (2)")  # not refused: no transaction
        await conn.commit()
    assert await _count(engine) == 2


async def test_a_database_url_behaves_the_same(tmp_path: Path) -> None:
    # Database.engine is the same dialect: create_all and a failed statement in one transaction.
    async with Database(database_url("file", tmp_path)) as database:
        async with database.engine.connect() as conn:
            await conn.exec_driver_sql("CREATE TABLE t (id INTEGER)")
            with pytest.raises(DBAPIError):
                await conn.exec_driver_sql("SELECT * FROM missing")
            with pytest.raises(DBAPIError, match="cannot commit"):
                await conn.commit()
        async with database.engine.connect() as conn:
            with pytest.raises(DBAPIError, match="does not exist"):
                await conn.exec_driver_sql("SELECT * FROM t")


ENDLESS_QUERY = "SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b"


async def test_a_statement_cancelled_inside_a_transaction_makes_commit_raise() -> None:
    database = SharedDatabase(":memory:")
    driver = await AsyncDuckDBConnection.open(database)
    try:
        driver.begin()
        await driver.run(lambda conn: conn.execute("CREATE TABLE t (id INTEGER)"))
        task = asyncio.create_task(driver.run(lambda conn: conn.execute(ENDLESS_QUERY)))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(TransactionAborted, match="statement failed") as refused:
            await driver.run(lambda conn: conn.execute("SELECT 1"))
        assert not refused.value.committing
        with pytest.raises(TransactionAborted, match=r"cannot commit.*\(CancelledError\)"):
            await driver.commit()
        # Outside a transaction (autocommit by DuckDB), a cancellation poisons nothing.
        task = asyncio.create_task(driver.run(lambda conn: conn.execute(ENDLESS_QUERY)))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await driver.run(lambda conn: conn.execute("SELECT 7").fetchall()) == [(7,)]
        with pytest.raises(duckdb.CatalogException):  # the CREATE TABLE was rolled back
            await driver.run(lambda conn: conn.execute("SELECT * FROM t"))
    finally:
        await driver.close()
        database.unpin()


def test_duckdbs_own_aborted_transaction_translates_to_operational_error() -> None:
    # Bypassing the driver: DuckDB's own message for a statement after a failure.
    with duckdb.connect() as conn:
        conn.begin()
        with pytest.raises(duckdb.CatalogException):
            conn.execute("SELECT * FROM missing")
        with pytest.raises(duckdb.TransactionException) as aborted:
            conn.execute("SELECT 1")
    error = translate_error(aborted.value)
    assert type(error) is OperationalError
    assert str(error) == (
        "TransactionContext Error: Current transaction is aborted (please ROLLBACK)"
    )
