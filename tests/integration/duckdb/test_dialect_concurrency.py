"""Threads, the event loop and cancellation with the ``duckdb+async`` dialect."""

from __future__ import annotations

import asyncio
import gc
import statistics
import threading
import time
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from andamios.adapters.duckdb import AsyncDuckDBConnection
from andamios.adapters.duckdb._connection import SharedDatabase
from andamios.adapters.duckdb._worker import THREAD_NAME_PREFIX, Worker

# ~0.5 s of work for DuckDB here (it does not parallelize); a blocked loop would be obvious.
LONG_QUERY = "SELECT sum(a.range * b.range) FROM range(12000) a, range(12000) b"
# Days of work: it only ever ends by being interrupted.
ENDLESS_QUERY = "SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b"


def _worker_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(THREAD_NAME_PREFIX)]


async def _driver(conn: AsyncConnection) -> AsyncDuckDBConnection:
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, AsyncDuckDBConnection)
    return driver


async def _join_workers_except(keep: list[str]) -> None:
    """Wait (off the loop) for every worker thread not in ``keep`` to exit."""
    for thread in threading.enumerate():
        if thread.name.startswith(THREAD_NAME_PREFIX) and thread.name not in keep:
            await asyncio.to_thread(thread.join, 5)


async def test_event_loop_stays_responsive_during_a_long_query() -> None:
    gaps: list[float] = []

    async def heartbeat() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    # One DuckDB thread: the query leaves a core to the loop even on a busy 2-core machine.
    engine = create_async_engine("duckdb+async://", connect_args={"config": {"threads": 1}})
    try:
        async with engine.connect() as conn:
            await conn.scalar(sa.text("SELECT 1"))  # connect before measuring
            beat = asyncio.create_task(heartbeat())
            await asyncio.sleep(0.02)
            started = time.perf_counter()
            total = await conn.scalar(sa.text(LONG_QUERY))
            query_seconds = time.perf_counter() - started
            beat.cancel()
            with pytest.raises(asyncio.CancelledError):
                await beat
    finally:
        await engine.dispose()
    assert total == (sum(range(12000))) ** 2
    assert query_seconds > 0.1
    # Generous bounds: a blocked loop would show one gap as long as the query (0.3-1 s). A shared,
    # oversubscribed CI machine can pause any thread for ~100 ms; typical gaps here are 5-10 ms.
    assert statistics.median(gaps) < 0.02, gaps
    assert max(gaps) < min(0.25, query_seconds / 3), (max(gaps), query_seconds)


async def test_each_connection_owns_one_thread_and_dispose_joins_them(db_file: Path) -> None:
    baseline = _worker_threads()
    engine = create_async_engine(f"duckdb+async:///{db_file}")
    async with engine.connect() as first, engine.connect() as second:
        names = {(await _driver(first)).thread_name, (await _driver(second)).thread_name}
        assert len(names) == 2
        assert names <= set(_worker_threads())
        assert len(_worker_threads()) == len(baseline) + 2
    # Returned to the pool: connections (and their threads) stay open until dispose.
    assert len(_worker_threads()) == len(baseline) + 2
    await engine.dispose()
    assert _worker_threads() == baseline


async def test_cancelling_a_query_interrupts_it(memory_engine: AsyncEngine) -> None:
    baseline = _worker_threads()
    started = asyncio.Event()

    async def endless() -> None:
        async with memory_engine.connect() as conn:
            await conn.scalar(sa.text("SELECT 1"))
            started.set()
            await conn.scalar(sa.text(ENDLESS_QUERY))

    task = asyncio.create_task(endless())
    await started.wait()
    await asyncio.sleep(0.2)
    cancelled_at = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.perf_counter() - cancelled_at < 2.0
    # The cancelled connection was invalidated and its thread joined; the engine works on.
    async with memory_engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT 42")) == 42
    await memory_engine.dispose()
    assert _worker_threads() == baseline


async def test_timeout_around_a_query_interrupts_it(memory_engine: AsyncEngine) -> None:
    async with memory_engine.connect() as conn:
        await conn.scalar(sa.text("SELECT 1"))
        started = time.perf_counter()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await conn.scalar(sa.text(ENDLESS_QUERY))
        assert time.perf_counter() - started < 2.0
    async with memory_engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT 42")) == 42


async def test_cancel_waits_for_a_job_that_ignores_interrupt(memory_engine: AsyncEngine) -> None:
    # A Python job on the worker cannot be interrupted: cancellation keeps interrupting and
    # waiting until the thread is idle, so the connection is never used by two calls at once.
    finished = threading.Event()

    def slow(_: duckdb.DuckDBPyConnection) -> str:
        time.sleep(0.2)
        finished.set()
        return "done"

    async with memory_engine.connect() as conn:
        driver = await _driver(conn)
        task = asyncio.create_task(driver.run(slow))
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert finished.is_set()
        assert await driver.run(lambda c: c.execute("SELECT 7").fetchall()) == [(7,)]


async def test_concurrent_statements_on_one_connection_are_serialized(
    memory_engine: AsyncEngine,
) -> None:
    async with memory_engine.connect() as conn:
        results = await asyncio.gather(*(conn.exec_driver_sql(f"SELECT {i}") for i in range(5)))
    assert [r.scalar_one() for r in results] == [0, 1, 2, 3, 4]


async def test_invalidated_connection_is_closed_gracefully(memory_engine: AsyncEngine) -> None:
    async with memory_engine.connect() as conn:
        driver = await _driver(conn)
        await conn.invalidate()
        assert driver.closed
    assert driver.thread_name not in _worker_threads()


async def test_terminate_outside_a_greenlet_closes_without_waiting(
    memory_engine: AsyncEngine,
) -> None:
    # What the pool does when it garbage-collects a connection that was never returned.
    async with memory_engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver = await _driver(conn)
        raw.dbapi_connection.terminate()  # type: ignore[union-attr]
        assert driver.closed
        await _join_workers_except([n for n in _worker_threads() if n != driver.thread_name])
        assert driver.thread_name not in _worker_threads()
        # The pool closes it again when the connection is invalidated: a no-op now.
        await conn.invalidate()


async def test_driver_connection_after_close(memory_engine: AsyncEngine) -> None:
    database = SharedDatabase(":memory:")
    driver = await AsyncDuckDBConnection.open(database)
    assert database.is_open
    assert await driver.run(lambda c: c.execute("SELECT 1").fetchone()) == (1,)
    await driver.close()
    await driver.close()
    driver.close_nowait()
    assert driver.closed
    with pytest.raises(duckdb.ConnectionException, match="closed"):
        await driver.run(lambda c: c.execute("SELECT 1").fetchone())
    # Pinned: the database stays open for the next connection until the engine lets it go.
    assert database.is_open
    database.unpin()
    assert not database.is_open


async def test_failed_open_closes_the_worker(tmp_path: Path) -> None:
    database = SharedDatabase(str(tmp_path / "missing" / "x.duckdb"))
    before = _worker_threads()
    with pytest.raises(duckdb.IOException):
        await AsyncDuckDBConnection.open(database)
    await _join_workers_except(before)
    assert _worker_threads() == before
    assert not database.is_open


def test_worker_outlives_a_closed_event_loop() -> None:
    # A job that finishes after its loop is closed has nobody to tell; the thread must survive.
    worker = Worker()
    gate = threading.Event()
    loop = asyncio.new_event_loop()

    async def submit() -> asyncio.Future[bool]:
        return worker.submit(gate.wait, 5)

    loop.run_until_complete(submit())
    loop.close()
    gate.set()
    ran = threading.Event()
    worker.post(ran.set)
    worker.stop(join=True)
    assert ran.is_set()
    gc.collect()
