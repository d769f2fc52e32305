"""The PostgreSQL rows: Andamios on ``andamios.adapters.postgresql`` beside raw asyncpg.

Every operation runs both contenders interleaved, round by round, on one server and one table
(:func:`~andamios._benchmarks._harness.measure_paired`): Andamios (``SqlAlchemyUnitOfWork`` on
:class:`andamios.adapters.postgresql.Database`) and raw asyncpg on one connection of its own
(binary ``COPY`` for bulk writes, prepared statements for reads, a server-side cursor to
stream). The ratio of a row is the median of the per-round ratios. Writes on both sides run at
``REPEATABLE READ``, the isolation level of Andamios' units of work.

Everything lives in a schema made for the run (``bench_<hex>``) and dropped at its end. The
server is ``ANDAMIOS_BENCH_POSTGRESQL_URL`` (else ``ANDAMIOS_TEST_POSTGRESQL_URL``, else the local
one); when it cannot be reached, or asyncpg is not installed, the section is skipped with the
reason, and nothing else is affected.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections.abc import Awaitable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy.engine import make_url

from andamios._benchmarks._harness import Result, Round, Sizes, measure_paired, timed
from andamios._benchmarks._model import (
    CATEGORIES,
    CREATE_SQL,
    Product,
    Shop,
    build_mapping,
    new_products,
    new_rows,
    renaming,
)
from andamios.adapters.sqlalchemy import SqlAlchemyFactory, SqlAlchemyUnitOfWork
from andamios.domain import F

__all__ = ["DEFAULT_URL", "RAW_PG", "TITLE", "PostgreSQLReport", "bench_postgresql", "server_url"]

RAW_PG = "raw asyncpg"
TITLE = "PostgreSQL (ratio to raw asyncpg)"
DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
CONNECT_TIMEOUT = 5.0

COLUMNS = ["id", "sku", "name", "category", "price", "version"]
STAGED_COLUMNS = ["id", "name", "version"]
GET_SQL = "SELECT * FROM products WHERE id = $1"
FIND_SQL = (
    "SELECT * FROM products WHERE category = $1 AND price < $2 "
    "ORDER BY price DESC NULLS LAST, id ASC LIMIT 20"
)
COUNT_SQL = "SELECT count(*) FROM products WHERE category = $1"
STREAM_SQL = "SELECT * FROM products ORDER BY id"
LOADED_SQL = "SELECT id, version FROM products ORDER BY id LIMIT $1"
STAGE_SQL = "CREATE TEMPORARY TABLE staged (id UUID, name VARCHAR, version INTEGER) ON COMMIT DROP"
UPDATE_SQL = (
    "UPDATE products SET name = s.name, version = products.version + 1 FROM staged s "
    "WHERE products.id = s.id AND products.version = s.version RETURNING products.id"
)
ISOLATION = "repeatable_read"

type Uows = SqlAlchemyFactory[Shop]

# The rows, in the order of the DuckDB table's (labels name the sizes).
READ_LABELS = {
    "get": "get-by-id (open unit of work)",
    "find": "find: filter + order + limit 20",
    "count": "count with a filter",
    "update": "bulk update of {small} loaded + commit",
    "stream": "stream {large} aggregates",
    "empty": "empty unit of work (enter/exit)",
}


def server_url() -> str:
    """The server the PostgreSQL rows run on (see the module's docstring)."""
    return (
        os.environ.get("ANDAMIOS_BENCH_POSTGRESQL_URL")
        or os.environ.get("ANDAMIOS_TEST_POSTGRESQL_URL")
        or DEFAULT_URL
    )


@dataclass
class PostgreSQLReport:
    """The PostgreSQL section: its rows, or why it was skipped."""

    results: list[Result] = field(default_factory=list)
    skipped: str | None = None
    server_version: str | None = None
    schema: str | None = None  # the run's schema (dropped at its end)
    title: str = TITLE

    def as_json(self) -> dict[str, object]:
        """The section as it goes into the JSON report."""
        return {
            "title": self.title,
            "peers": [RAW_PG],
            "server_version": self.server_version,
            "schema": self.schema,
            "skipped": self.skipped,
            "results": [asdict(r) for r in self.results],
        }


def _progress(message: str) -> None:
    print(f"  .. {message}", flush=True)


def bench_postgresql(url: str, sizes: Sizes) -> PostgreSQLReport:
    """Run the PostgreSQL rows, or say why they were skipped (an unreachable server)."""
    return asyncio.run(_bench(url, sizes))


def _where(url: str) -> str:
    parsed = make_url(url)
    return f"PostgreSQL at {parsed.host}:{parsed.port or 5432}, database {parsed.database!r}"


async def _connect(asyncpg: Any, dsn: str, schema: str | None = None) -> Any:
    settings = {"application_name": "andamios-bench-raw"}
    if schema is not None:
        settings["search_path"] = schema
    return await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT, server_settings=settings)


async def _bench(url: str, sizes: Sizes) -> PostgreSQLReport:
    try:
        import asyncpg  # type: ignore[import-untyped, unused-ignore]  # noqa: PLC0415

        from andamios.adapters.postgresql import Database  # noqa: PLC0415
    except ImportError as error:
        return PostgreSQLReport(skipped=f"{error} (install the postgresql extra)")
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        admin = await _connect(asyncpg, dsn)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        return PostgreSQLReport(
            skipped=f"{_where(url)}: could not connect ({type(error).__name__}: {error})"
        )
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    try:
        version = str(await admin.fetchval("SHOW server_version")).split()[0]
        await admin.execute(f"CREATE SCHEMA {schema}")
        raw = await _connect(asyncpg, dsn, schema)
        try:
            await raw.execute(CREATE_SQL)
            mapping = build_mapping()
            try:
                async with Database(url, schema=schema) as db:
                    new_uow = SqlAlchemyUnitOfWork.factory(Shop, database=db, mapping=mapping)
                    results = await _inserts(raw, new_uow, sizes)
                    results += await _reads(raw, new_uow, sizes)
            finally:
                mapping.clear()
        finally:
            await raw.close()
    finally:
        try:
            await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await admin.close()
    title = f"{TITLE}, server {version}: medians; ratio = median of interleaved paired ratios"
    return PostgreSQLReport(results, server_version=version, schema=schema, title=title)


def _result(name: str, ours_us: float, peer_us: float, ratio: float) -> Result:
    return Result(name, ours_us, {RAW_PG: peer_us}, "-", paired_ratios={RAW_PG: ratio})


# -- bulk inserts ---------------------------------------------------------------------------------


async def _inserts(raw: Any, new_uow: Uows, sizes: Sizes) -> list[Result]:
    results = []
    for count in (sizes.small, sizes.large):

        async def peer(_: int, count: int = count) -> float:
            await raw.execute("TRUNCATE products")
            rows = new_rows(count)
            start = time.perf_counter()
            async with raw.transaction(isolation=ISOLATION):
                await raw.copy_records_to_table("products", records=rows, columns=COLUMNS)
            return time.perf_counter() - start

        async def ours(_: int, count: int = count) -> float:
            await raw.execute("TRUNCATE products")
            products = new_products(count)
            start = time.perf_counter()
            async with new_uow() as uow:
                await uow.products.add_many(products)
                await uow.commit()
            return time.perf_counter() - start

        _progress(f"add_many + commit of {count:,}: andamios / raw asyncpg COPY, interleaved")
        paired = await measure_paired(ours, peer, sizes.repeats, warmup=1)
        results.append(
            _result(f"add_many + commit, {count:,}", paired.ours_us, paired.peer_us, paired.ratio)
        )
    return results


# -- reads, the bulk update and the empty unit of work ---------------------------------------------


async def _load(raw: Any, count: int) -> list[UUID]:
    """Fill the table with raw asyncpg (outside any timing); return the ids."""
    await raw.execute("TRUNCATE products")
    rows = new_rows(count)
    await raw.copy_records_to_table("products", records=rows, columns=COLUMNS)
    await raw.execute("VACUUM ANALYZE products")
    return [row[0] for row in rows]


async def _reads(raw: Any, new_uow: Uows, sizes: Sizes) -> list[Result]:
    _progress(f"loading {sizes.large:,} rows with raw asyncpg")
    ids = await _load(raw, sizes.large)
    random.Random(7).shuffle(ids)
    ids = ids[: sizes.iterations + 10]
    n = sizes.iterations
    found = {}

    _progress("get, find, count: andamios / raw asyncpg prepared statements, interleaved")
    get_stmt = await raw.prepare(GET_SQL)
    async with new_uow() as uow:
        found["get"] = await measure_paired(
            timed(lambda i: uow.products.get(ids[i])), timed(lambda i: get_stmt.fetchrow(ids[i])), n
        )
    find_stmt = await raw.prepare(FIND_SQL)
    async with new_uow() as uow:

        def find(i: int) -> Awaitable[list[Product]]:
            spec = (F("category") == CATEGORIES[i % 5]) & (F("price") < Decimal(500))
            return uow.products.find(spec, order_by=F("price").desc(), limit=20)

        found["find"] = await measure_paired(
            timed(find), timed(lambda i: find_stmt.fetch(CATEGORIES[i % 5], Decimal(500))), n
        )
    count_stmt = await raw.prepare(COUNT_SQL)
    async with new_uow() as uow:
        found["count"] = await measure_paired(
            timed(lambda i: uow.products.count(F("category") == CATEGORIES[i % 5])),
            timed(lambda i: count_stmt.fetchval(CATEGORIES[i % 5])),
            n,
        )

    async def stream(_: int) -> None:
        async with new_uow() as uow:
            async for _product in uow.products.stream(batch_size=1000):
                pass

    async def raw_stream(_: int) -> None:
        async with raw.transaction(isolation=ISOLATION):
            async for _row in raw.cursor(STREAM_SQL, prefetch=1000):
                pass

    _progress(f"stream {sizes.large:,}: andamios / raw asyncpg cursor, interleaved")
    found["stream"] = await measure_paired(timed(stream), timed(raw_stream), sizes.repeats, 1)

    async def empty(_: int) -> None:
        async with new_uow():
            pass

    async def raw_empty(_: int) -> None:
        async with raw.transaction(isolation=ISOLATION):
            pass

    _progress("empty unit of work: andamios / raw asyncpg transaction, interleaved")
    found["empty"] = await measure_paired(timed(empty), timed(raw_empty), n)
    _progress(f"bulk update of {sizes.small:,}: andamios / raw asyncpg COPY + UPDATE, interleaved")
    found["update"] = await measure_paired(
        renaming(new_uow, sizes.small), _updating_raw(raw, sizes.small), sizes.repeats, 1
    )
    results = []
    for key, label in READ_LABELS.items():
        paired = found[key]
        name = label.format(small=f"{sizes.small:,}", large=f"{sizes.large:,}")
        results.append(_result(name, paired.ours_us, paired.peer_us, paired.ratio))
    return results


def _updating_raw(raw: Any, count: int) -> Round:
    async def peer(i: int) -> float:
        loaded = await raw.fetch(LOADED_SQL, count)
        start = time.perf_counter()
        records = [(row[0], f"raw {i}", row[1]) for row in loaded]
        async with raw.transaction(isolation=ISOLATION):
            await raw.execute(STAGE_SQL)
            await raw.copy_records_to_table("staged", records=records, columns=STAGED_COLUMNS)
            updated = await raw.fetch(UPDATE_SQL)
        elapsed = time.perf_counter() - start
        if len(updated) != len(records):
            raise AssertionError(f"raw update: {len(updated)} of {len(records)} rows updated")
        return elapsed

    return peer
