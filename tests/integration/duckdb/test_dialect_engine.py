"""The ``duckdb+async`` dialect through SQLAlchemy's asyncio engine, on real DuckDB."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import registry
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import CacheStats
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, NullPool

from andamios.adapters.duckdb import AsyncDuckDBConnection, AsyncDuckDBDialect

metadata = sa.MetaData()
items = sa.Table(
    "items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String, nullable=False),
)


async def _driver(conn: AsyncConnection) -> AsyncDuckDBConnection:
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, AsyncDuckDBConnection)
    return driver


async def _count(conn: AsyncConnection) -> int:
    return int(await conn.scalar(sa.select(sa.func.count()).select_from(items)) or 0)


async def _create(engine: AsyncEngine, *rows: tuple[int, str]) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        if rows:
            await conn.execute(items.insert(), [{"id": i, "name": n} for i, n in rows])


# -- registration ---------------------------------------------------------------------------------


@pytest.mark.subprocess
def test_entry_point_works_without_importing_andamios() -> None:
    script = textwrap.dedent(
        """
        import asyncio, sys
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        async def main():
            engine = create_async_engine("duckdb+async://")
            async with engine.connect() as conn:
                print(await conn.scalar(text("SELECT 41 + 1")))
            await engine.dispose()
            print(type(engine.dialect).__module__)

        assert "andamios" not in sys.modules
        asyncio.run(main())
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.split() == ["42", "andamios.adapters.duckdb._dialect"]


def test_registry_loads_the_dialect() -> None:
    assert registry.load("duckdb.async") is AsyncDuckDBDialect


async def test_engine_uses_an_async_queue_pool_for_files_and_memory(
    file_engine: AsyncEngine, memory_engine: AsyncEngine
) -> None:
    assert isinstance(file_engine.pool, AsyncAdaptedQueuePool)
    assert isinstance(memory_engine.pool, AsyncAdaptedQueuePool)
    assert file_engine.dialect.is_async
    assert file_engine.dialect.driver == "async"


# -- one database per engine ----------------------------------------------------------------------


@pytest.mark.parametrize("url", ["duckdb+async:///:memory:", "duckdb+async://"])
async def test_memory_database_is_shared_by_every_connection_and_task(url: str) -> None:
    engine = create_async_engine(url)
    try:
        await _create(engine, (1, "a"))
        async with engine.connect() as first, engine.connect() as second:
            assert (await _driver(first)).thread_name != (await _driver(second)).thread_name
            counts = await asyncio.gather(_count(first), _count(second))
        assert list(counts) == [1, 1]

        async def insert(i: int) -> None:
            async with engine.begin() as conn:
                await conn.execute(items.insert().values(id=i, name=f"n{i}"))

        await asyncio.gather(*(insert(i) for i in range(2, 6)))
        async with engine.connect() as conn:
            assert await _count(conn) == 5
    finally:
        await engine.dispose()


async def test_memory_databases_of_two_engines_are_separate(memory_engine: AsyncEngine) -> None:
    await _create(memory_engine, (1, "a"))
    other = create_async_engine("duckdb+async:///:memory:")
    try:
        async with other.connect() as conn:
            assert not await conn.run_sync(lambda c: sa.inspect(c).has_table("items"))
    finally:
        await other.dispose()


async def test_memory_database_survives_invalidated_connections(
    memory_engine: AsyncEngine,
) -> None:
    await _create(memory_engine, (1, "a"))
    async with memory_engine.connect() as conn:
        await conn.invalidate()
    async with memory_engine.connect() as conn:
        assert await _count(conn) == 1


async def test_memory_database_is_kept_with_a_null_pool() -> None:
    engine = create_async_engine("duckdb+async://", poolclass=NullPool)
    try:
        await _create(engine, (1, "a"))
        async with engine.connect() as conn:
            assert await _count(conn) == 1
    finally:
        await engine.dispose()


async def test_dispose_closes_memory_database_and_engine_reopens_a_new_one(
    memory_engine: AsyncEngine,
) -> None:
    await _create(memory_engine, (1, "a"))
    await memory_engine.dispose()
    await memory_engine.dispose()  # disposing twice is harmless
    async with memory_engine.connect() as conn:
        assert not await conn.run_sync(lambda c: sa.inspect(c).has_table("items"))


async def test_disposed_database_closes_when_its_last_connection_closes() -> None:
    engine = create_async_engine("duckdb+async://", poolclass=NullPool)
    try:
        await _create(engine, (1, "a"))
        async with engine.connect() as conn:
            await engine.dispose()
            assert await _count(conn) == 1  # still open: this connection holds it
        # NullPool closed that last connection, and with it the disposed engine's database.
        async with engine.connect() as conn:
            assert not await conn.run_sync(lambda c: sa.inspect(c).has_table("items"))
    finally:
        await engine.dispose()


async def test_file_database_is_kept_across_dispose(file_engine: AsyncEngine) -> None:
    await _create(file_engine, (1, "a"))
    await file_engine.dispose()
    async with file_engine.connect() as conn:
        assert await _count(conn) == 1


async def test_connection_checked_out_during_dispose_keeps_the_database_until_closed(
    memory_engine: AsyncEngine,
) -> None:
    await _create(memory_engine, (1, "a"))
    async with memory_engine.connect() as first, memory_engine.connect() as second:
        await memory_engine.dispose()
        # Both connections still work: the database closes only when the last one is released.
        assert await _count(first) == 1
        await first.close()
        assert await _count(second) == 1


async def test_file_connections_have_their_own_transactions(file_engine: AsyncEngine) -> None:
    await _create(file_engine)
    async with file_engine.connect() as writer, file_engine.connect() as reader:
        await writer.execute(items.insert().values(id=1, name="a"))
        assert await _count(reader) == 0
        await reader.rollback()
        await writer.commit()
        assert await _count(reader) == 1


async def test_two_engines_on_one_file_in_one_process(db_file: Path) -> None:
    first = create_async_engine(f"duckdb+async:///{db_file}")
    second = create_async_engine(f"duckdb+async:///{db_file}")
    try:
        await _create(first, (1, "a"))
        async with second.connect() as conn:
            assert await _count(conn) == 1
    finally:
        await first.dispose()
        await second.dispose()


# -- statement cache and rowcount -----------------------------------------------------------------


async def test_statement_cache_is_used(memory_engine: AsyncEngine) -> None:
    assert AsyncDuckDBDialect.supports_statement_cache
    await _create(memory_engine, (1, "a"), (2, "b"))
    async with memory_engine.connect() as conn:
        statement = sa.select(items.c.name).where(items.c.id == sa.bindparam("id"))
        first = await conn.execute(statement, {"id": 1})
        second = await conn.execute(statement, {"id": 2})
        assert first.scalar_one() == "a"
        assert second.scalar_one() == "b"
        assert first.context.cache_hit == CacheStats.CACHE_MISS
        assert second.context.cache_hit == CacheStats.CACHE_HIT


async def test_rowcount_is_exact_and_trusted(memory_engine: AsyncEngine) -> None:
    dialect = memory_engine.dialect
    assert dialect.supports_sane_rowcount
    assert dialect.supports_sane_multi_rowcount
    await _create(memory_engine, (1, "a"), (2, "b"), (3, "c"))
    async with memory_engine.begin() as conn:
        updated = await conn.execute(items.update().where(items.c.id < 3).values(name="x"))
        assert updated.rowcount == 2
        many = await conn.execute(
            items.update().where(items.c.id == sa.bindparam("key")).values(name="y"),
            [{"key": 1}, {"key": 3}, {"key": 99}],
        )
        assert many.rowcount == 2
        deleted = await conn.execute(items.delete().where(items.c.id == 99))
        assert deleted.rowcount == 0


def test_rowcount_is_not_trusted_without_a_detected_duckdb() -> None:
    # A dialect built without its DBAPI (e.g. only to compile SQL) cannot know the version.
    dialect = AsyncDuckDBDialect()
    assert not dialect.supports_sane_rowcount
    assert not dialect.supports_sane_multi_rowcount


def test_dbapi_reports_duckdb_version() -> None:
    dialect = AsyncDuckDBDialect(dbapi=AsyncDuckDBDialect.import_dbapi())
    assert dialect.dbapi_version == tuple(int(p) for p in duckdb.__version__.split(".")[:3])
    assert dialect.loaded_dbapi.paramstyle == "numeric_dollar"
    assert dialect.loaded_dbapi.Binary(b"\x00") == b"\x00"


# -- statements -----------------------------------------------------------------------------------


async def test_round_trip_of_parameters_and_types(memory_engine: AsyncEngine) -> None:
    await _create(memory_engine)
    async with memory_engine.begin() as conn:
        await conn.execute(items.insert(), [{"id": i, "name": f"n{i}"} for i in range(10)])
        rows = await conn.execute(
            sa.select(items.c.id, items.c.name).where(items.c.id.in_([2, 4])).order_by(items.c.id)
        )
        assert rows.all() == [(2, "n2"), (4, "n4")]
        no_params = await conn.exec_driver_sql("SELECT 'x' || 'y'")
        assert no_params.scalar_one() == "xy"


async def test_streaming_result_fetches_in_batches(memory_engine: AsyncEngine) -> None:
    async with memory_engine.connect() as conn:
        result = await conn.stream(sa.text("SELECT range AS n FROM range(25000)"))
        total = 0
        async for partition in result.partitions(1000):
            assert len(partition) <= 1000
            total += len(partition)
        assert total == 25000


async def test_streaming_does_not_buffer_the_result(memory_engine: AsyncEngine) -> None:
    # Ten billion rows: only a stream can hand out the first ones (buffering would never end).
    async with memory_engine.connect() as conn:
        async with asyncio.timeout(10):
            result = await conn.stream(sa.text("SELECT range FROM range(10000000000)"))
            first = await result.fetchmany(3)
            await result.close()
        assert first == [(0,), (1,), (2,)]
        assert await conn.scalar(sa.text("SELECT 1")) == 1


def _use_server_side_cursor(sync_conn: Connection) -> dict[str, Any]:
    dbapi = sync_conn.connection.dbapi_connection
    assert dbapi is not None
    cursor: Any = dbapi.cursor(server_side=True)
    cursor.execute("SELECT range FROM range(2500)")
    first = cursor.fetchone()
    cursor.arraysize = 10
    batch = cursor.fetchmany()
    sized = cursor.fetchmany(5)
    iterated = sum(1 for _ in cursor)
    cursor.execute("SELECT range FROM range(3)")
    rest = cursor.fetchall()
    cursor.execute("SELECT 1 WHERE false")
    none = cursor.fetchone()
    cursor.close()
    return {
        "first": first,
        "batch": len(batch),
        "sized": len(sized),
        "iterated": iterated,
        "rest": rest,
        "none": none,
    }


async def test_server_side_cursor_fetch_methods(memory_engine: AsyncEngine) -> None:
    async with memory_engine.connect() as conn:
        fetched = await conn.run_sync(_use_server_side_cursor)
    assert fetched == {
        "first": (0,),
        "batch": 10,
        "sized": 5,
        "iterated": 2500 - 16,
        "rest": [(0,), (1,), (2,)],
        "none": None,
    }


async def test_streaming_error_raised_while_fetching(memory_engine: AsyncEngine) -> None:
    query = sa.text(
        "SELECT (CASE WHEN range = 500000 THEN 'abc' ELSE range::VARCHAR END)::INT "
        "FROM range(1000000)"
    )
    async with memory_engine.connect() as conn:
        result = await conn.stream(query)
        with pytest.raises(DBAPIError) as caught:
            async for _ in result.partitions(10000):
                pass
    assert isinstance(caught.value.orig, duckdb.ConversionException)


async def test_buffered_cursor_attributes(memory_engine: AsyncEngine) -> None:
    def use(sync_conn: Connection) -> tuple[object, ...]:
        dbapi = sync_conn.connection.dbapi_connection
        assert dbapi is not None
        cursor: Any = dbapi.cursor()
        cursor.arraysize = 3
        cursor.setinputsizes()
        cursor.execute("SELECT range FROM range(5)")
        first = cursor.fetchmany()
        cursor.nextset()
        rest = cursor.fetchall()
        lastrowid = cursor.lastrowid
        cursor.close()
        return cursor.arraysize, first, rest, lastrowid

    async with memory_engine.connect() as conn:
        assert await conn.run_sync(use) == (3, [(0,), (1,), (2,)], [(3,), (4,)], -1)


# -- transactions ---------------------------------------------------------------------------------


async def test_transaction_without_statements_needs_no_round_trip(
    memory_engine: AsyncEngine,
) -> None:
    async with memory_engine.connect() as conn:
        await conn.begin()
        await conn.commit()
        await conn.begin()
        await conn.rollback()


async def test_rollback_undoes_the_transaction(memory_engine: AsyncEngine) -> None:
    await _create(memory_engine, (1, "a"))
    async with memory_engine.connect() as conn:
        await conn.execute(items.delete())
        await conn.rollback()
        assert await _count(conn) == 1


async def test_driver_run_joins_the_sqlalchemy_transaction(memory_engine: AsyncEngine) -> None:
    await _create(memory_engine)
    async with memory_engine.connect() as conn:
        await conn.begin()
        driver = await _driver(conn)
        inserted = await driver.run(
            lambda c, n: c.execute(f"INSERT INTO items SELECT range, 'x' FROM range({n})").rowcount,
            3,
        )
        assert inserted == 3
        await conn.rollback()
        assert await _count(conn) == 0


async def test_autocommit_isolation_level(memory_engine: AsyncEngine) -> None:
    await _create(memory_engine)
    async with memory_engine.connect() as conn:
        assert str(await conn.get_isolation_level()) == "SNAPSHOT"
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        assert await auto.get_isolation_level() == "AUTOCOMMIT"
        await auto.execute(items.insert().values(id=1, name="a"))
        async with memory_engine.connect() as other:
            # Visible before any commit: the insert committed on its own.
            assert await _count(other) == 1
        await auto.rollback()
        assert await _count(auto) == 1
    async with memory_engine.connect() as conn:
        # The pool reset the connection's level when it came back.
        assert str(await conn.get_isolation_level()) == "SNAPSHOT"
        values = memory_engine.dialect.get_isolation_level_values(None)  # type: ignore[arg-type]
        assert list(values) == ["AUTOCOMMIT", "SNAPSHOT"]


async def test_rollback_of_an_autocommit_connection_can_be_skipped() -> None:
    engine = create_async_engine("duckdb+async://", skip_autocommit_rollback=True)
    try:
        async with engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            await auto.exec_driver_sql("INSERT INTO t VALUES (1)")
            await auto.rollback()  # skipped: nothing to roll back in autocommit mode
            assert await auto.scalar(sa.text("SELECT count(*) FROM t")) == 1
        async with engine.connect() as conn:
            await conn.exec_driver_sql("INSERT INTO t VALUES (2)")
            await conn.rollback()  # not skipped: a transaction is rolled back
            assert await conn.scalar(sa.text("SELECT count(*) FROM t")) == 1
    finally:
        await engine.dispose()


async def test_unknown_isolation_level_is_rejected(memory_engine: AsyncEngine) -> None:
    async with memory_engine.connect() as conn:
        with pytest.raises(ArgumentError, match="AUTOCOMMIT, SNAPSHOT"):
            await conn.execution_options(isolation_level="READ COMMITTED")


async def test_pool_pre_ping(db_file: Path) -> None:
    engine = create_async_engine(f"duckdb+async:///{db_file}", pool_pre_ping=True)
    try:
        for _ in range(2):
            async with engine.connect() as conn:
                assert await conn.scalar(sa.text("SELECT 1")) == 1
    finally:
        await engine.dispose()


# -- connect arguments ----------------------------------------------------------------------------


async def _setting(engine: AsyncEngine, name: str) -> str:
    async with engine.connect() as conn:
        return str(await conn.scalar(sa.text(f"SELECT current_setting('{name}')")))


async def test_duckdb_config_passes_through(db_file: Path) -> None:
    engine = create_async_engine(
        f"duckdb+async:///{db_file}",
        connect_args={"config": {"threads": 1, "memory_limit": "256MB"}},
    )
    try:
        assert await _setting(engine, "threads") == "1"
        assert (await _setting(engine, "memory_limit")).replace(" ", "") in {"256.0MiB", "244.1MiB"}
    finally:
        await engine.dispose()


async def test_url_query_config_passes_through(db_file: Path) -> None:
    engine = create_async_engine(f"duckdb+async:///{db_file}?threads=1")
    try:
        assert await _setting(engine, "threads") == "1"
    finally:
        await engine.dispose()


async def test_read_only_connect_arg(db_file: Path) -> None:
    duckdb.connect(str(db_file)).close()
    engine = create_async_engine(f"duckdb+async:///{db_file}", connect_args={"read_only": True})
    try:
        assert await _setting(engine, "access_mode") == "read_only"
    finally:
        await engine.dispose()


async def test_extension_settings_are_set_on_every_connection(memory_engine: AsyncEngine) -> None:
    # 'calendar' belongs to the icu extension, not to DuckDB's core configuration.
    engine = create_async_engine(
        "duckdb+async://",
        connect_args={"preload_extensions": ["icu"], "config": {"calendar": "japanese"}},
    )
    try:
        async with engine.connect() as first, engine.connect() as second:
            for conn in (first, second):
                setting = await conn.scalar(sa.text("SELECT current_setting('calendar')"))
                assert setting == "japanese"
    finally:
        await engine.dispose()


async def test_bad_extension_setting_fails_the_connect() -> None:
    engine = create_async_engine("duckdb+async://", connect_args={"config": {"no_such": "x"}})
    try:
        with pytest.raises(DBAPIError, match="no_such"):
            await engine.connect()
        # The failed connection released its cursor; the engine can still be disposed cleanly.
    finally:
        await engine.dispose()


async def test_unknown_extension_fails_the_connect() -> None:
    engine = create_async_engine(
        "duckdb+async://", connect_args={"preload_extensions": ["no_such_extension"]}
    )
    try:
        with pytest.raises(DBAPIError):
            await engine.connect()
    finally:
        await engine.dispose()


async def test_unsupported_connect_argument_is_rejected() -> None:
    engine = create_async_engine("duckdb+async://", connect_args={"register_filesystems": []})
    try:
        with pytest.raises(ArgumentError, match="register_filesystems"):
            await engine.connect()
    finally:
        await engine.dispose()


async def test_decimals_keep_every_digit(memory_engine: AsyncEngine) -> None:
    metadata = sa.MetaData()
    table = sa.Table(
        "money",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("exact", sa.Numeric(38, 10)),
    )
    value = Decimal("12345678901234567.1234567891")
    async with memory_engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
        await connection.execute(table.insert(), [{"id": 1, "exact": value}])
        stored = (await connection.execute(sa.select(table.c.exact))).scalar_one()
        matched = await connection.execute(sa.select(table.c.id).where(table.c.exact == value))
        assert matched.scalar_one() == 1
    assert stored == value
