"""Micro-benchmark of the ``duckdb+async`` driver (the numbers in ADR 0003).

Run ``uv run python benchmarks/bench_duckdb_driver.py`` (``--smoke`` for a quick pass). Prints the
median of each measurement; µs per operation unless said.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import duckdb
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from andamios.adapters.duckdb import AsyncDuckDBConnection
from andamios.adapters.duckdb._worker import Worker

ROWS = 10_000
HEAVY = "SELECT sum(a.range * b.range) FROM range({n}) a, range({n}) b"


class Base(DeclarativeBase):
    pass


class Product(Base):
    __tablename__ = "products"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    sku: Mapped[str]
    price: Mapped[int]
    version: Mapped[int] = mapped_column()
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declaration


def _median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


async def _time_async(iterations: int, fn: Callable[[], Awaitable[object]]) -> float:
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - started)
    return _median_us(samples)


def _time_sync(iterations: int, fn: Callable[[], object]) -> float:
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return _median_us(samples)


async def _max_stall(during: Awaitable[object]) -> tuple[float, float]:
    """The largest gap of a 5 ms heartbeat while ``during`` runs, and how long it ran (ms)."""
    gaps: list[float] = []

    async def heartbeat() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.02)
    started = time.perf_counter()
    await during
    elapsed = time.perf_counter() - started
    await asyncio.sleep(0.02)  # let the heartbeat wake up and record the gap it just had
    beat.cancel()
    await asyncio.gather(beat, return_exceptions=True)
    return max(gaps) * 1000, elapsed * 1000


async def run(iterations: int, heavy_n: int) -> dict[str, float]:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench.duckdb"
        with duckdb.connect(str(path)) as raw:
            raw.execute(
                "CREATE TABLE products (id UUID PRIMARY KEY, sku VARCHAR, price INTEGER, "
                "version INTEGER)"
            )
            raw.execute(
                f"INSERT INTO products SELECT uuid(), 'sku-' || range, range, 1 FROM range({ROWS})"
            )
            found = raw.execute("SELECT id FROM products WHERE price = $1", [ROWS // 2]).fetchone()
            assert found is not None
            key: uuid.UUID = found[0]

        with duckdb.connect(str(path)) as raw:
            cursor = raw.cursor()
            select = "SELECT * FROM products WHERE id = $1"
            results["raw duckdb cursor, PK select"] = _time_sync(
                iterations, lambda: cursor.execute(select, [key]).fetchall()
            )

            def raw_transaction() -> None:
                cursor.begin()
                cursor.execute(select, [key]).fetchall()
                cursor.commit()

            results["raw duckdb cursor, begin+select+commit"] = _time_sync(
                iterations, raw_transaction
            )

        table = Base.metadata.tables["products"]
        statement = sa.select(table).where(table.c.id == sa.bindparam("key"))
        sync_engine = sa.create_engine(f"duckdb:///{path}")
        with sync_engine.connect() as sync_conn:
            results["duckdb-engine (sync) select(), cache off"] = _time_sync(
                iterations, lambda: sync_conn.execute(statement, {"key": key}).all()
            )
            sync_conn.commit()

            def sync_transaction() -> None:
                with sync_conn.begin():
                    sync_conn.execute(statement, {"key": key}).all()

            results["duckdb-engine (sync) begin+select+commit"] = _time_sync(
                iterations, sync_transaction
            )
        sync_engine.dispose()

        engine = create_async_engine(f"duckdb+async:///{path}")
        async with engine.connect() as conn:
            results["AsyncConnection select() (autobegun tx)"] = await _time_async(
                iterations, lambda: conn.execute(statement, {"key": key})
            )
            uncached = await conn.execution_options(compiled_cache=None)
            results["AsyncConnection select(), statement cache off"] = await _time_async(
                iterations, lambda: uncached.execute(statement, {"key": key})
            )
            await conn.commit()

            async def in_transaction() -> None:
                async with conn.begin():
                    await conn.execute(statement, {"key": key})

            results["AsyncConnection begin+select+commit"] = await _time_async(
                iterations, in_transaction
            )
            driver = (await conn.get_raw_connection()).driver_connection
            assert isinstance(driver, AsyncDuckDBConnection)
            results["one hop to the worker thread (no-op)"] = await _time_async(
                iterations, lambda: driver.run(lambda _c: None)
            )

        async def orm_get() -> None:
            async with AsyncSession(engine) as session:
                await session.get(Product, key)

        results["AsyncSession.get (new session each time)"] = await _time_async(iterations, orm_get)
        async with AsyncSession(engine) as session:

            async def orm_get_again() -> None:
                session.expunge_all()  # no identity-map hit: a real query each time
                await session.get(Product, key)

            results["AsyncSession.get (one session, map cleared)"] = await _time_async(
                iterations, orm_get_again
            )

        worker = Worker()
        results["Worker.submit round trip (no-op)"] = await _time_async(
            iterations, lambda: worker.submit(lambda: None)
        )
        worker.stop(join=True)
        results["asyncio.to_thread round trip (no-op)"] = await _time_async(
            iterations, lambda: asyncio.to_thread(lambda: None)
        )

        heavy = sa.text(HEAVY.format(n=heavy_n))
        async with engine.connect() as conn:
            stall, elapsed = await _max_stall(conn.scalar(heavy))
        results["heavy query through duckdb+async (ms)"] = elapsed
        results["largest loop stall, duckdb+async (ms)"] = stall

        async def on_the_loop() -> None:
            # Its own in-memory database: the query reads no table, and a second connection to
            # the engine's file would need the engine's exact configuration.
            with duckdb.connect(":memory:") as blocking:
                blocking.execute(HEAVY.format(n=heavy_n)).fetchall()

        stall, elapsed = await _max_stall(on_the_loop())
        results["largest loop stall, duckdb on the loop (ms)"] = stall

        async def aggregates(parallel: bool) -> None:
            async def one() -> None:
                async with engine.connect() as conn:
                    await conn.scalar(heavy)

            if parallel:
                await asyncio.gather(*(one() for _ in range(4)))
            else:
                for _ in range(4):
                    await one()

        started = time.perf_counter()
        await aggregates(parallel=False)
        results["4 heavy queries one after another (ms)"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        await aggregates(parallel=True)
        results["4 heavy queries under gather (ms)"] = (time.perf_counter() - started) * 1000

        async def cancel_latency() -> float:
            async with engine.connect() as conn:
                task = asyncio.create_task(conn.scalar(sa.text(HEAVY.format(n=1_000_000))))
                await asyncio.sleep(0.1)
                started = time.perf_counter()
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                return (time.perf_counter() - started) * 1000

        results["cancel a running query (ms)"] = await cancel_latency()
        await engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--smoke", action="store_true", help="a quick pass (CI)")
    args = parser.parse_args()
    iterations, heavy_n = (5, 2000) if args.smoke else (args.iterations, 10_000)
    results = asyncio.run(run(iterations, heavy_n))
    width = max(map(len, results))
    for name, value in results.items():
        print(f"{name:<{width}}  {value:10.1f}")


if __name__ == "__main__":
    main()
