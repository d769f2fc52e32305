"""Every Andamios benchmark beside raw duckdb and the plain SQLAlchemy ORM, in one process.

The inserts and the reads run three contenders side by side, each on its own copy of the same
data file (DuckDB refuses two connections with different configurations to one file in one
process): Andamios (``SqlAlchemyUnitOfWork`` on ``duckdb+async``), raw duckdb (an Arrow
``INSERT ... SELECT`` for bulk writes, a cursor for reads) and the synchronous SQLAlchemy ORM on
duckdb-engine (a declarative class on the same table). They are measured interleaved, round by
round (:func:`~andamios._benchmarks._harness.measure_interleaved`): each round runs a chunk of
iterations of every contender in turn, the order rotating; a row's ratio to a peer is the median
of the per-round ratios (in the bulk writes, where the ORM takes tens of seconds a round, it is
paired with Andamios in fewer rounds of their own). Rows and targets (ratios to raw duckdb,
issue 15):

- ``add_many`` + commit of 10,000 new aggregates (<= 2x and < 100 ms) and of 100,000 (< 1 s);
  each round starts from an empty, checkpointed table and new objects, not timed; beside them
  the floor of an insert that leaves its objects tracked, as raw duckdb and SQLAlchemy do it
  together: raw duckdb's Arrow ``INSERT`` of the objects' values, then SQLAlchemy's own way to
  make them persistent without SQL (``make_transient_to_detached``, ``add_all``);
- get by id in an open unit of work (<= 1.5x), find (filter + order + limit 20 over 100,000,
  <= 1.2x), count with a filter (<= 1.5x), stream 100,000 in id order (raw: ``fetchmany`` to
  Python; <= 3x), the empty unit of work (< 200 µs);
- the bulk update of 10,000 loaded rows + commit (<= 2x): the load is not timed on any side
  (raw duckdb's ``SELECT id, version`` of the rows included); timed are Andamios' renames and
  commit, the ORM's the same, raw duckdb's Arrow table, ``BEGIN``, the versioned
  ``UPDATE ... FROM staged ... RETURNING`` (the form that guards delete-vs-update) and ``COMMIT``;
- "stream: peak memory": the peak RSS growth (C allocations included) of a fresh process per
  contender streaming every row, over the same process just before the stream; "flat" asks that
  the last 90% of the rows add at most 8 MiB;
- "RSS: import + open + one get": a fresh process doing what a user does (import Andamios,
  declare an aggregate and its mapping, open ``Database``, a factory, one ``get``) beside raw
  duckdb, the ORM and the floor (DuckDB and the SQLAlchemy ORM with its asyncio extension
  imported, one file opened, one query); target <= floor + 6 MiB and <= 100 MiB.

It prints progress while it runs, then a table (operation, medians, ratios, target, pass/miss,
and a note under it where a row has one), and, with ``--json``, writes the same as JSON.

The read-model section (:mod:`andamios._benchmarks._read_models`) runs ``uow.query`` (a group-by
with a sum over 1,000,000 rows, a join of 100,000 order lines with 10,000 products), ``find`` and
``count`` of ``F("lines").any(...)`` over 100,000 orders and ``uow.query_arrow`` of 1,000,000
rows beside raw duckdb running the SQL Andamios generated, interleaved round by round (the ratio
is the median of the paired ratios; no ORM peer).

The hooks section (:mod:`andamios._benchmarks._hooks`) runs get-by-id with hooks (no-op,
:class:`~andamios.observability.Metrics`, OpenTelemetry spans) beside the same without hooks,
interleaved; its peer column is "no hooks". The OpenTelemetry rows need ``opentelemetry-sdk``
and are left out without it, with a line saying so.

A last section runs the same operations on PostgreSQL beside raw asyncpg, interleaved round by
round (:mod:`andamios._benchmarks._postgresql`), and prints its own table, "PostgreSQL (ratio to
raw asyncpg)", also under ``"postgresql"`` in the JSON. A server that cannot be reached, or no
asyncpg installed, skips it with one line saying why.

Without pyarrow (the ``bulk`` extra, not in a plain install) the rows that measure the bulk path
are skipped, with one line naming them and the extra, and listed under ``"skipped"`` in the JSON:
the bulk inserts and the bulk update (raw duckdb stages them through Arrow, and without pyarrow
Andamios' ``add_many`` and large flushes go through the ORM, which is not what they measure), and
the Arrow result of the read models. Everything else runs: get, find, count, stream, the empty
unit of work, the other read-model rows, memory and PostgreSQL.

    andamios bench                          # the full suite (10k and 100k rows)
    andamios bench --quick                  # CI smoke: small, fails only on a crash
    andamios bench --json out.json
    andamios bench --postgresql-url postgresql+asyncpg://user@host:5432/db

(``python -m andamios._benchmarks`` is the same without the progress bar; in a source checkout
``python -m benchmarks.run`` writes ``benchmarks/results/bench.json`` by default.)

``main(argv)`` returns the exit status: 0 unless a benchmark crashed (timings never fail it).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import random
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
import sqlalchemy as sa
from sqlalchemy import orm

from andamios._benchmarks import BULK, missing
from andamios._benchmarks._harness import (
    Interleaved,
    Result,
    Round,
    Sizes,
    blocking,
    measure_interleaved,
    print_table,
    timed,
    write_json,
)
from andamios._benchmarks._hooks import (
    HOOKS,
    NO_HOOKS,
    bench_hooks,
    tracing_labels,
    tracing_missing,
)
from andamios._benchmarks._model import (
    CATEGORIES,
    CREATE_SQL,
    OrmRow,
    Product,
    Shop,
    build_mapping,
    copies,
    load_rows,
    new_products,
    new_rows,
    renaming,
)
from andamios._benchmarks._postgresql import (
    DEFAULT_URL,
    RAW_PG,
    TITLE,
    PostgreSQLReport,
    bench_postgresql,
    server_url,
)
from andamios._benchmarks._read_models import READ_MODELS, bench_read_models, labels
from andamios.adapters.duckdb import Database
from andamios.adapters.sqlalchemy import SqlAlchemyFactory, SqlAlchemyUnitOfWork
from andamios.domain import F

__all__ = ["Sizes", "main"]

OURS = "andamios"
RAW = "raw duckdb"
ORM = "SQLAlchemy ORM"
#: The contenders of the inserts and reads, each on a copy of the data of its own.
CONTENDERS = [OURS, RAW, ORM]
#: The floor contender: of the RSS row, what Andamios imports below it, one file, one query; of
#: the inserts, raw duckdb's INSERT and SQLAlchemy's own no-SQL persistence (INSERT_FLOOR_NOTE).
FLOOR = "floor"
PEERS = [RAW, ORM, FLOOR, NO_HOOKS]
MIB = 1024 * 1024

GET_SQL = "SELECT * FROM products WHERE id = ?"
FIND_SQL = (
    "SELECT * FROM products WHERE category = ? AND price < ? ORDER BY price DESC NULLS LAST, "
    "id ASC LIMIT 20"
)
COUNT_SQL = "SELECT count(*) FROM products WHERE category = ?"


FULL = Sizes(10_000, 100_000, 300, 9, 2, True)
QUICK = Sizes(1_000, 5_000, 20, 2, 1, False, facts=20_000, dimension=500, query_rounds=3, chunk=5)


def _progress(message: str) -> None:
    print(f"  .. {message}", flush=True)


# -- the contenders, side by side -------------------------------------------------------------


def _result(label: str, found: Interleaved, target: str, passed: bool | None) -> Result:
    """A row of the three contenders measured interleaved (its ratios paired)."""
    peers = {name: found.medians_us[name] for name in (RAW, ORM, FLOOR) if name in found.medians_us}
    ratios = {name: found.ratios[name] for name in peers}
    return Result(label, found.medians_us[OURS], peers, target, passed, paired_ratios=ratios)


@asynccontextmanager
async def _side_by_side(
    paths: dict[str, Path],
) -> AsyncIterator[tuple[SqlAlchemyFactory[Shop], Database, duckdb.DuckDBPyConnection, sa.Engine]]:
    """The three contenders open at once, each on its own copy of the data: Andamios' factory
    (and its database), a raw duckdb connection and a SQLAlchemy engine on duckdb-engine."""
    mapping = build_mapping()
    con = duckdb.connect(str(paths[RAW]))
    engine = sa.create_engine(f"duckdb:///{paths[ORM]}")
    try:
        async with Database(f"duckdb+async:///{paths[OURS]}") as db:
            yield SqlAlchemyUnitOfWork.factory(Shop, database=db, mapping=mapping), db, con, engine
    finally:
        engine.dispose()
        con.close()
        mapping.clear()


async def _beside_a_slow_orm(
    rounds: dict[str, Round], orm_round: Round, sizes: Sizes
) -> Interleaved:
    """A bulk row whose ORM peer takes tens of seconds a round (a statement per row): Andamios
    (first of ``rounds``) and the other ``rounds`` interleaved over ``sizes.repeats`` rounds
    (Andamios' median and its ratios to them come from these), then Andamios and the ORM
    interleaved over ``sizes.orm_repeats`` rounds, without a warm-up (the first rounds warmed
    every path): every ratio paired."""
    found = await measure_interleaved(rounds, sizes.repeats)
    slow = await measure_interleaved(
        {OURS: rounds[OURS], ORM: orm_round}, sizes.orm_repeats, warmup=0
    )
    return Interleaved(
        {**found.medians_us, ORM: slow.medians_us[ORM]}, {**found.ratios, ORM: slow.ratios[ORM]}
    )


def _elapsed(start: float) -> float:
    return time.perf_counter() - start


# -- bulk inserts ---------------------------------------------------------------------------------


def _arrow_table(rows: list[tuple[UUID, str, str, str, Decimal, int]]) -> Any:
    import pyarrow as pa  # type: ignore[import-untyped]  # noqa: PLC0415 - as a user would

    ids, skus, names, categories, prices, versions = zip(*rows, strict=True)
    return pa.table(
        {
            "id": pa.array([u.bytes for u in ids], pa.binary(16)),
            "sku": pa.array(skus, pa.string()),
            "name": pa.array(names, pa.string()),
            "category": pa.array(categories, pa.string()),
            "price": pa.array(prices, pa.decimal128(12, 2)),
            "version": pa.array(versions, pa.int32()),
        }
    )


def _emptied(execute: Callable[[str], object]) -> None:
    """An empty, checkpointed table: where every contender's insert starts."""
    for sql in ("DELETE FROM products", "CHECKPOINT"):
        execute(sql)


def _inserting_raw(con: duckdb.DuckDBPyConnection, count: int) -> Round:
    """Build an Arrow table from Python tuples, ``INSERT ... SELECT`` it, commit."""

    async def round_(_: int) -> float:
        _emptied(con.execute)
        rows = new_rows(count)
        start = time.perf_counter()
        staged = _arrow_table(rows)  # noqa: F841 - read by DuckDB's replacement scan
        con.execute("BEGIN")
        con.execute("INSERT INTO products SELECT * FROM staged")
        con.execute("COMMIT")
        return _elapsed(start)

    return round_


def _inserting_orm(engine: sa.Engine, count: int) -> Round:
    """``session.add_all`` of new ORM objects, then commit (duckdb-engine, sync)."""

    def execute(sql: str) -> None:
        with engine.connect() as conn:
            conn.execute(sa.text(sql))
            conn.commit()

    async def round_(_: int) -> float:
        _emptied(execute)
        objects = [
            OrmRow(id=row[0], sku=row[1], name=row[2], category=row[3], price=row[4])
            for row in new_rows(count)
        ]
        start = time.perf_counter()
        with orm.Session(engine) as session:
            session.add_all(objects)
            session.commit()
        return _elapsed(start)

    return round_


def _inserting_floor(con: duckdb.DuckDBPyConnection, count: int) -> Round:
    """The floor of an insert that leaves the objects tracked: raw duckdb's Arrow ``INSERT`` of
    new ORM objects' values, then SQLAlchemy's own way to make them persistent without SQL
    (``make_transient_to_detached``, ``add_all``), and the session closed, as a unit of work
    ends."""

    async def round_(_: int) -> float:
        _emptied(con.execute)
        objects = [
            OrmRow(id=row[0], sku=row[1], name=row[2], category=row[3], price=row[4])
            for row in new_rows(count)
        ]
        start = time.perf_counter()
        rows = [(o.id, o.sku, o.name, o.category, o.price, 1) for o in objects]
        staged = _arrow_table(rows)  # noqa: F841 - read by DuckDB's replacement scan
        con.execute("BEGIN")
        con.execute("INSERT INTO products SELECT * FROM staged")
        con.execute("COMMIT")
        with orm.Session() as session:
            for each in objects:
                each.version = 1
                orm.make_transient_to_detached(each)
            session.add_all(objects)
        return _elapsed(start)

    return round_


def _inserting_ours(new_uow: SqlAlchemyFactory[Shop], db: Database, count: int) -> Round:
    """``add_many`` of new aggregates, then commit."""

    async def round_(_: int) -> float:
        async with db.engine.connect() as conn:
            for sql in ("DELETE FROM products", "CHECKPOINT"):
                await conn.execute(sa.text(sql))
                await conn.commit()
        products = new_products(count)
        start = time.perf_counter()
        async with new_uow() as uow:
            await uow.products.add_many(products)
            await uow.commit()
        return _elapsed(start)

    return round_


def _insert_label(count: int) -> str:
    return f"add_many + commit, {count:,}"


#: What the floor of the inserts is (a note under their rows).
INSERT_FLOOR_NOTE = (
    "floor = raw duckdb's Arrow INSERT of the objects' values + SQLAlchemy's own way to make "
    "them persistent without SQL (make_transient_to_detached, add_all), the session closed"
)


async def _inserts(paths: dict[str, Path], sizes: Sizes) -> list[Result]:
    results = []
    floor_con = duckdb.connect(str(paths[FLOOR]))
    try:
        async with _side_by_side(paths) as (new_uow, db, con, engine):
            for count, small in ((sizes.small, True), (sizes.large, False)):
                rounds = {
                    OURS: _inserting_ours(new_uow, db, count),
                    RAW: _inserting_raw(con, count),
                    FLOOR: _inserting_floor(floor_con, count),
                }
                if small or sizes.orm_large:
                    _progress(
                        f"add_many + commit of {count:,}: andamios, raw duckdb, floor, ORM, "
                        "interleaved"
                    )
                    found = await _beside_a_slow_orm(rounds, _inserting_orm(engine, count), sizes)
                else:
                    _progress(f"add_many + commit of {count:,}: andamios, raw duckdb, floor")
                    found = await measure_interleaved(rounds, sizes.repeats)
                ours, ratio = found.medians_us[OURS], found.ratios[RAW]
                if small:
                    target, passed = "<= 2x raw and < 100 ms", ratio <= 2 and ours < 100_000
                else:
                    target, passed = "< 1 s", ours < 1_000_000
                row = _result(_insert_label(count), found, target, passed)
                row.note = INSERT_FLOOR_NOTE
                results.append(row)
    finally:
        floor_con.close()
    return results


def bench_inserts(directory: Path, sizes: Sizes) -> list[Result]:
    """``add_many`` + commit of the small and the large count beside the peers, interleaved."""
    path = directory / "writes.duckdb"
    con = duckdb.connect(str(path))
    con.execute(CREATE_SQL)
    con.close()
    return asyncio.run(_inserts(copies(path, [*CONTENDERS, FLOOR]), sizes))


# -- reads, the bulk update and the empty unit of work ---------------------------------------------

#: The rows of the section: label, target (ratios to raw duckdb, paired) and the verdict.
READ_TARGETS: dict[str, tuple[str, str, Callable[[float, float], bool]]] = {
    "get": ("get-by-id (open unit of work)", "<= 1.5x raw", lambda _, r: r <= 1.5),
    "find": ("find: filter + order + limit 20", "<= 1.2x raw", lambda _, r: r <= 1.2),
    "count": ("count with a filter", "<= 1.5x raw", lambda _, r: r <= 1.5),
    "update": ("bulk update of {small} loaded + commit", "<= 2x raw", lambda _, r: r <= 2),
    "stream": ("stream {large} aggregates", "<= 3x raw", lambda _, r: r <= 3),
    "empty": ("empty unit of work (enter/exit)", "< 200 µs", lambda us, _: us < 200),
}

UPDATE_SQL = (
    "UPDATE products SET name = s.name, version = products.version + 1 FROM staged s "
    "WHERE products.id = s.id AND products.version = s.version RETURNING products.id"
)


def _read_label(key: str, sizes: Sizes) -> str:
    return READ_TARGETS[key][0].format(small=f"{sizes.small:,}", large=f"{sizes.large:,}")


def _update_table(rows: list[tuple[UUID, int]], i: int) -> Any:
    import pyarrow as pa  # noqa: PLC0415 - as a user would

    return pa.table(
        {
            "id": pa.array([row[0].bytes for row in rows], pa.binary(16)),
            "name": pa.array([f"renamed {i}"] * len(rows), pa.string()),
            "version": pa.array([row[1] for row in rows], pa.int32()),
        }
    )


def _updating_raw(cursor: duckdb.DuckDBPyConnection, count: int) -> Round:
    """The rows' ids and versions read before the clock (as Andamios' load is), then timed:
    an Arrow table staged, ``BEGIN``, the versioned ``UPDATE ... FROM staged RETURNING`` and
    ``COMMIT``."""

    async def round_(i: int) -> float:
        rows = cursor.execute(
            "SELECT id, version FROM products ORDER BY id LIMIT ?", [count]
        ).fetchall()
        start = time.perf_counter()
        staged = _update_table(rows, i)  # noqa: F841 - read by DuckDB's replacement scan
        cursor.execute("BEGIN")
        updated = cursor.execute(UPDATE_SQL).fetchall()
        cursor.execute("COMMIT")
        elapsed = _elapsed(start)
        assert len(updated) == count, f"raw update: {len(updated)} of {count} rows updated"
        return elapsed

    return round_


def _updating_orm(engine: sa.Engine, count: int) -> Round:
    """The SQLAlchemy ORM: load the rows (not timed), rename each object, commit (timed)."""
    loading = sa.select(OrmRow).order_by(OrmRow.id).limit(count)

    async def round_(i: int) -> float:
        with orm.Session(engine) as session:
            objects = session.scalars(loading).all()
            start = time.perf_counter()
            with warnings.catch_warnings():
                # duckdb-engine cannot verify versions (rowcount); the peer runs as it ships.
                warnings.simplefilter("ignore", sa.exc.SAWarning)
                for row in objects:
                    row.name = f"orm {i}"
                session.commit()
            return _elapsed(start)

    return round_


async def _reads(
    paths: dict[str, Path], ids: list[UUID], sizes: Sizes, *, bulk: bool
) -> dict[str, Interleaved]:
    """Each read row (and the empty unit of work, and the bulk update) of the three contenders,
    interleaved."""
    found: dict[str, Interleaved] = {}
    fast = max(1, sizes.iterations // sizes.chunk)
    chunked = functools.partial(measure_interleaved, rounds=fast, chunk=sizes.chunk)
    async with _side_by_side(paths) as (new_uow, _db, con, engine):
        cursor = con.cursor()
        _progress("get, find, count: andamios, raw duckdb cursor, SQLAlchemy ORM, interleaved")
        async with new_uow() as uow:
            with orm.Session(engine) as session:
                found["get"] = await chunked(
                    {
                        OURS: timed(lambda i: uow.products.get(ids[i])),
                        RAW: blocking(lambda i: cursor.execute(GET_SQL, [ids[i]]).fetchone()),
                        ORM: blocking(lambda i: session.get(OrmRow, ids[i])),
                    }
                )

                def find(i: int) -> Awaitable[list[Product]]:
                    spec = (F("category") == CATEGORIES[i % 5]) & (F("price") < Decimal(500))
                    return uow.products.find(spec, order_by=F("price").desc(), limit=20)

                query = (
                    sa.select(OrmRow)
                    .where(OrmRow.category == sa.bindparam("c"), OrmRow.price < sa.bindparam("p"))
                    .order_by(OrmRow.price.desc().nulls_last(), OrmRow.id)
                    .limit(20)
                )
                found["find"] = await chunked(
                    {
                        OURS: timed(find),
                        RAW: blocking(
                            lambda i: cursor.execute(
                                FIND_SQL, [CATEGORIES[i % 5], Decimal(500)]
                            ).fetchall()
                        ),
                        ORM: blocking(
                            lambda i: session.scalars(
                                query, {"c": CATEGORIES[i % 5], "p": Decimal(500)}
                            ).all()
                        ),
                    }
                )
                counting = sa.select(sa.func.count()).where(OrmRow.category == sa.bindparam("c"))
                found["count"] = await chunked(
                    {
                        OURS: timed(
                            lambda i: uow.products.count(F("category") == CATEGORIES[i % 5])
                        ),
                        RAW: blocking(
                            lambda i: cursor.execute(COUNT_SQL, [CATEGORIES[i % 5]]).fetchone()
                        ),
                        ORM: blocking(lambda i: session.scalar(counting, {"c": CATEGORIES[i % 5]})),
                    }
                )
        _progress(f"stream {sizes.large:,}: andamios, raw duckdb fetchmany, ORM yield_per")
        found["stream"] = await measure_interleaved(
            {
                OURS: timed(_streaming_ours(new_uow)),
                RAW: blocking(_streaming_raw(cursor)),
                ORM: blocking(_streaming_orm(engine)),
            },
            sizes.repeats,
        )

        async def empty(_: int) -> None:
            async with new_uow():
                pass

        def raw_empty(_: int) -> None:
            cursor.execute("BEGIN")
            cursor.execute("COMMIT")

        def orm_empty(_: int) -> None:
            with orm.Session(engine) as session, session.begin():
                pass

        _progress("empty unit of work: andamios, raw BEGIN/COMMIT, ORM session, interleaved")
        found["empty"] = await chunked(
            {OURS: timed(empty), RAW: blocking(raw_empty), ORM: blocking(orm_empty)}
        )
        if bulk:  # last: it changes the rows the others read
            _progress(f"bulk update of {sizes.small:,}: andamios, raw Arrow + UPDATE, ORM")
            found["update"] = await _beside_a_slow_orm(
                {OURS: renaming(new_uow, sizes.small), RAW: _updating_raw(cursor, sizes.small)},
                _updating_orm(engine, sizes.small),
                sizes,
            )
    return found


def _streaming_ours(new_uow: SqlAlchemyFactory[Shop]) -> Callable[[int], Awaitable[None]]:
    async def stream(_: int) -> None:
        async with new_uow() as uow:
            async for _product in uow.products.stream(batch_size=1000):
                pass

    return stream


def _streaming_raw(cursor: duckdb.DuckDBPyConnection) -> Callable[[int], None]:
    def stream(_: int) -> None:
        cursor.execute("SELECT * FROM products ORDER BY id")
        while cursor.fetchmany(1000):
            pass

    return stream


def _streaming_orm(engine: sa.Engine) -> Callable[[int], None]:
    streaming = sa.select(OrmRow).order_by(OrmRow.id).execution_options(yield_per=1000)

    def stream(_: int) -> None:
        with orm.Session(engine) as session:
            for _row in session.scalars(streaming):
                pass

    return stream


def bench_reads(directory: Path, sizes: Sizes, *, bulk: bool = True) -> list[Result]:
    """get, find, count, stream (and its peak memory), the empty unit of work and (``bulk``)
    the bulk update, beside the peers, interleaved."""
    path = directory / "reads.duckdb"
    _progress(f"loading {sizes.large:,} rows with raw duckdb")
    ids = load_rows(path, sizes.large)
    random.Random(7).shuffle(ids)
    paths = copies(path, [*CONTENDERS, "memory"])
    memory = stream_memory(paths.pop("memory"), ids[0], sizes)
    found = asyncio.run(_reads(paths, ids[: sizes.iterations + sizes.chunk], sizes, bulk=bulk))
    results = []
    for key, (_label, target, verdict) in READ_TARGETS.items():
        if key not in found:  # the bulk update, without pyarrow
            continue
        each = found[key]
        passed = verdict(each.medians_us[OURS], each.ratios[RAW])
        results.append(_result(_read_label(key, sizes), each, f"{target} (paired)", passed))
        if key == "stream":
            results.append(memory)
    return results


# -- memory ---------------------------------------------------------------------------------------

#: What a user's program holds: the aggregate, the unit of work's shape and the mapping.
_USER_MODEL = """
import asyncio, sys, uuid
from dataclasses import dataclass
from decimal import Decimal
import sqlalchemy as sa
import andamios
from andamios.adapters.duckdb import Database
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot
from andamios.ports import Repository, UnitOfWork

@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[uuid.UUID]):
    sku: str
    name: str
    category: str
    price: Decimal

class Shop(UnitOfWork):
    products: Repository[Product, uuid.UUID]

mapping = Mapping()
mapping.map(Product, sa.Table(
    "products", mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("sku", sa.String, nullable=False),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("category", sa.String, nullable=False),
    sa.Column("price", sa.Numeric(12, 2), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
))
"""

#: The SQLAlchemy ORM peer's own declarative class (not the suite's: that module imports
#: Andamios).
_ORM_MODEL = """
import sys, uuid
from decimal import Decimal
import sqlalchemy as sa
from sqlalchemy import orm

class Base(orm.DeclarativeBase):
    pass

class Row(Base):
    __tablename__ = "products"
    id: orm.Mapped[uuid.UUID] = orm.mapped_column(primary_key=True)
    sku: orm.Mapped[str]
    name: orm.Mapped[str]
    category: orm.Mapped[str]
    price: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(12, 2))
    version: orm.Mapped[int] = orm.mapped_column()
    __mapper_args__ = {"version_id_col": version}

engine = sa.create_engine("duckdb:///" + sys.argv[1])
"""


#: Each program gets the file and an existing id; it prints its RSS after one get.
_RSS_PROGRAMS = {
    OURS: _USER_MODEL
    + """
async def main():
    async with Database("duckdb+async:///" + sys.argv[1]) as db:
        new_uow = SqlAlchemyUnitOfWork.factory(Shop, database=db, mapping=mapping)
        async with new_uow() as uow:
            await uow.products.get(uuid.UUID(sys.argv[2]))
        print(MARK, rss())

asyncio.run(main())
""",
    RAW: """
import sys, uuid, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("SELECT * FROM products WHERE id = ?", [uuid.UUID(sys.argv[2])]).fetchall()
print(MARK, rss())
""",
    ORM: _ORM_MODEL
    + """
with orm.Session(engine) as session:
    assert session.get(Row, uuid.UUID(sys.argv[2])) is not None
print(MARK, rss())
""",
    # What Andamios cannot go below: its drivers imported (DuckDB, the SQLAlchemy ORM and its
    # asyncio extension), one file opened, one query.
    FLOOR: """
import sys, uuid, duckdb
import sqlalchemy.ext.asyncio, sqlalchemy.orm
con = duckdb.connect(sys.argv[1])
con.execute("SELECT * FROM products WHERE id = ?", [uuid.UUID(sys.argv[2])]).fetchall()
print(MARK, rss())
""",
}

_RSS_PRELUDE = """
MARK = "measured:"  # what follows it, on stdout; DuckDB may print a progress bar before it

def _status(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise LookupError(field)

def rss():
    try:
        return _status("VmRSS")
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

def peak_from_here():
    # The peak RSS reset to the current one (Linux: clear_refs 5), so the peak read later is
    # the peak of what follows; elsewhere the process's peak so far, read as the baseline.
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        return rss()
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

def peak():
    try:
        return _status("VmHWM")
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

def report(baseline, tenth, last, rows):
    assert rows == int(sys.argv[3]), rows
    print(MARK, peak() - baseline, last - tenth)
"""

#: Each program streams every row in id order, 1,000 a batch, after one warm-up get (what is
#: compiled or imported on first use is not the stream's), and prints its peak RSS growth over
#: the process before the stream and the RSS its last 90% of rows added.
_STREAM_PROGRAMS = {
    OURS: _USER_MODEL
    + """
async def main():
    async with Database("duckdb+async:///" + sys.argv[1]) as db:
        new_uow = SqlAlchemyUnitOfWork.factory(Shop, database=db, mapping=mapping)
        async with new_uow() as uow:
            await uow.products.get(uuid.UUID(sys.argv[2]))
        async with new_uow() as uow:
            tenth, rows = None, 0
            baseline = peak_from_here()
            async for _product in uow.products.stream(batch_size=1000):
                rows += 1
                if rows == int(sys.argv[3]) // 10:
                    tenth = rss()
            report(baseline, tenth, rss(), rows)

asyncio.run(main())
""",
    RAW: """
import sys, uuid, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("SELECT * FROM products WHERE id = ?", [uuid.UUID(sys.argv[2])]).fetchall()
tenth, rows = None, 0
baseline = peak_from_here()
con.execute("SELECT * FROM products ORDER BY id")
while batch := con.fetchmany(1000):
    rows += len(batch)
    if tenth is None and rows >= int(sys.argv[3]) // 10:
        tenth = rss()
report(baseline, tenth, rss(), rows)
""",
    ORM: _ORM_MODEL
    + """
with orm.Session(engine) as session:
    session.get(Row, uuid.UUID(sys.argv[2]))
with orm.Session(engine) as session:
    tenth, rows = None, 0
    baseline = peak_from_here()
    streaming = sa.select(Row).order_by(Row.id).execution_options(yield_per=1000)
    for _row in session.scalars(streaming):
        rows += 1
        if rows == int(sys.argv[3]) // 10:
            tenth = rss()
    report(baseline, tenth, rss(), rows)
""",
}

#: The RSS the last 90% of a stream may add, for "memory flat".
FLAT = 8 * MIB


def _run(program: str, path: Path, *args: object) -> list[float]:
    # Isolated (-I): the installed Andamios, never a module of the current directory.
    completed = subprocess.run(
        [sys.executable, "-I", "-c", _RSS_PRELUDE + program, str(path), *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
        cwd=path.parent,
    )
    measured = completed.stdout.rpartition("measured:")[2]
    return [float(word) for word in measured.split()]


def _mib(value: float) -> str:
    return f"{value / MIB:+.1f} MiB"


def stream_memory(path: Path, some_id: UUID, sizes: Sizes) -> Result:
    """The peak memory of streaming every row of ``path``, each contender in a fresh process.

    It is the peak resident set (RSS, so DuckDB's C allocations and Python's alike) over the
    process just before the stream (opened, warmed by one get); "flat" asks that the last 90%
    of rows add at most :data:`FLAT` to the RSS (a stream holding what it streamed grows with
    every row)."""
    peaks, late = {}, {}
    for name, program in _STREAM_PROGRAMS.items():
        _progress(f"peak memory of streaming {sizes.large:,}: {name} (fresh process)")
        peaks[name], late[name] = _run(program, path, some_id, sizes.large)
    ours = peaks.pop(OURS)
    added = ", ".join(f"{name} {_mib(value)}" for name, value in late.items())
    return Result(
        f"stream {sizes.large:,}: peak memory",
        ours,
        peaks,
        f"flat: last 90% of rows add <= {FLAT // MIB} MiB",
        late[OURS] <= FLAT,
        unit="bytes",
        note=f"peak RSS growth over the process before the stream; its last 90% of rows: {added}",
    )


def bench_memory(directory: Path, sizes: Sizes) -> list[Result]:
    """The resident memory of a fresh process after import, open and one get, beside the floor
    (DuckDB and the SQLAlchemy ORM with its asyncio extension imported, one file, one query)."""
    path = directory / "memory.duckdb"
    some_id = load_rows(path, min(sizes.large, 1000))[0]
    found = {}
    for name, program in _RSS_PROGRAMS.items():
        _progress(f"RSS after import + open + one get: {name} (fresh process)")
        (found[name],) = _run(program, path, some_id, 0)
    ours = found.pop(OURS)
    floor = found[FLOOR]
    result = Result(
        "RSS: import + open + one get",
        ours,
        found,
        "<= floor + 6 MiB and <= 100 MiB",
        ours <= floor + 6 * MIB and ours <= 100 * MIB,
        unit="bytes",
        note=f"andamios - floor = {_mib(ours - floor)}",
    )
    return [result]


# -- entry point ----------------------------------------------------------------------------------

type Section = Callable[[Path, Sizes], list[Result]]


def _reads_name(bulk: bool) -> str:
    return "reads, bulk update, empty unit of work" if bulk else "reads, empty unit of work"


def sections(bulk: bool) -> list[tuple[str, Section]]:
    """The DuckDB sections, in order; without ``bulk`` (pyarrow), those of the bulk path are
    left out: the bulk inserts, the bulk update of the reads section and the Arrow result of
    the read models."""
    reads: Section = functools.partial(bench_reads, bulk=bulk)
    queries: Section = functools.partial(bench_read_models, arrow=bulk)
    inserts: list[tuple[str, Section]] = [("bulk inserts", bench_inserts)] if bulk else []
    return [
        *inserts,
        (_reads_name(bulk), reads),
        (READ_MODELS, queries),
        (HOOKS, bench_hooks),
        ("memory", bench_memory),
    ]


@dataclass(frozen=True)
class Skipped:
    """The rows left out of a run: which, what is not installed (and how to install it), why."""

    operations: list[str]
    absent: str
    why: str

    def line(self) -> str:
        """The one line the run prints for them."""
        return f"skipped, {self.absent}: {'; '.join(self.operations)} ({self.why})"

    def as_json(self) -> list[dict[str, str]]:
        """One entry per row left out, with the reason."""
        reason = f"{self.absent}: {self.why}"
        return [{"operation": name, "reason": reason} for name in self.operations]


def skipped_without_bulk(sizes: Sizes) -> Skipped | None:
    """What a run of ``sizes`` leaves out here: the bulk rows, if pyarrow is not installed."""
    absent = missing(BULK)
    if not absent:
        return None
    operations = [
        _insert_label(sizes.small),
        _insert_label(sizes.large),
        _read_label("update", sizes),
        labels(sizes)["arrow"],
    ]
    why = (
        "raw duckdb stages them through Arrow, and without pyarrow Andamios writes them through "
        "the ORM, not its bulk path; an Arrow result is pyarrow's on both sides"
    )
    return Skipped(operations, "; ".join(absent), why)


def skipped_without_tracing() -> Skipped | None:
    """The OpenTelemetry rows, if the SDK is not installed (the extra brings only the API)."""
    if not tracing_missing():
        return None
    why = "they time the SDK's spans; andamios[opentelemetry] brings only the API"
    absent = "opentelemetry-sdk is not installed (pip install opentelemetry-sdk)"
    return Skipped(tracing_labels(), absent, why)


def _postgresql_section(url: str, sizes: Sizes, crashed: list[str]) -> PostgreSQLReport:
    try:
        report = bench_postgresql(url, sizes)
    except Exception:
        crashed.append("PostgreSQL")
        traceback.print_exc()
        return PostgreSQLReport(skipped="crashed (traceback above)")
    return report


def main(argv: list[str] | None = None, *, json_default: Path | None = None) -> int:
    """Run every benchmark, print the tables, write the JSON; 0 unless one crashed.

    The JSON report is written to ``--json PATH``, else to ``json_default``, else nowhere.
    """
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run (CI)")
    parser.add_argument(
        "--json",
        type=Path,
        default=json_default,
        help=f"write the report as JSON to this file (default: {json_default or 'none'})",
    )
    parser.add_argument(
        "--postgresql-url",
        default=None,
        help=(
            "the PostgreSQL server of the last section (default: $ANDAMIOS_BENCH_POSTGRESQL_URL, "
            f"else $ANDAMIOS_TEST_POSTGRESQL_URL, else {DEFAULT_URL})"
        ),
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    results: list[Result] = []
    crashed: list[str] = []
    skipped = skipped_without_bulk(sizes)
    left_out = [each for each in (skipped, skipped_without_tracing()) if each is not None]
    run = sections(bulk=skipped is None)
    total = len(run) + 1
    with tempfile.TemporaryDirectory() as tmp:
        for number, (name, section) in enumerate(run, 1):
            print(f"[{number}/{total}] {name}", flush=True)
            try:
                results.extend(section(Path(tmp), sizes))
            except Exception:
                crashed.append(name)
                traceback.print_exc()
    print(f"[{total}/{total}] PostgreSQL beside raw asyncpg", flush=True)
    postgresql = _postgresql_section(args.postgresql_url or server_url(), sizes, crashed)
    mode = "quick" if args.quick else "full"
    title = (
        f"Andamios benchmarks ({mode}: {sizes.small:,} / {sizes.large:,} rows), medians, "
        f"{time.perf_counter() - started:.0f} s"
    )
    print_table(title, results, PEERS)
    for each in left_out:
        print(f"\n{each.line()}")
    if postgresql.skipped is None:
        print_table(postgresql.title, postgresql.results, [RAW_PG])
    else:
        print(f"\n{TITLE}: skipped: {postgresql.skipped}")
    if args.json is not None:
        write_json(
            args.json,
            title,
            results,
            {
                "mode": mode,
                "sizes": sizes.__dict__,
                "crashed": crashed,
                "skipped": [entry for each in left_out for entry in each.as_json()],
                "postgresql": postgresql.as_json(),
            },
        )
        print(f"\nwritten {args.json}")
    if crashed:
        print(f"crashed: {', '.join(crashed)}", file=sys.stderr)
    return 1 if crashed else 0
