"""Every Andamios benchmark beside raw duckdb and the plain SQLAlchemy ORM, in one process.

Each operation runs on the same data for three contenders, one after the other (never two
connections to one file at once): Andamios (``SqlAlchemyUnitOfWork`` on ``duckdb+async``), raw
duckdb (an Arrow ``INSERT ... SELECT`` for bulk writes, a cursor for reads) and the synchronous
SQLAlchemy ORM on duckdb-engine (a declarative class on the same table). It prints progress while
it runs, then a table (operation, medians, ratios, target, pass/miss), and, with ``--json``, writes
the same as JSON.

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
from collections.abc import Awaitable, Callable
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
    Result,
    Sizes,
    Timer,
    measure,
    measure_async,
    print_table,
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
    load_rows,
    new_products,
    new_rows,
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

RAW = "raw duckdb"
ORM = "SQLAlchemy ORM"
PEERS = [RAW, ORM, NO_HOOKS]
MIB = 1024 * 1024

FIND_SQL = (
    "SELECT * FROM products WHERE category = ? AND price < ? ORDER BY price DESC NULLS LAST, "
    "id ASC LIMIT 20"
)


FULL = Sizes(10_000, 100_000, 300, 5, 2, True)
QUICK = Sizes(1_000, 5_000, 20, 2, 1, False, facts=20_000, dimension=500, query_rounds=3)


def _progress(message: str) -> None:
    print(f"  .. {message}", flush=True)


def _median_of(samples: list[float]) -> float:
    ordered = sorted(samples)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle] * 1e6
    return (ordered[middle - 1] + ordered[middle]) / 2 * 1e6


# -- bulk inserts ---------------------------------------------------------------------------------


def _empty(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("DELETE FROM products")
    con.execute("CHECKPOINT")
    con.close()


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


def raw_insert(path: Path, count: int, repeats: int) -> float:
    """Build an Arrow table from Python tuples, ``INSERT ... SELECT`` it, commit."""
    samples = []
    for _ in range(repeats + 1):  # the first one warms up (imports, caches)
        _empty(path)
        rows = new_rows(count)
        con = duckdb.connect(str(path))
        with Timer() as timer:
            staged = _arrow_table(rows)
            con.execute("BEGIN")
            con.execute("INSERT INTO products SELECT * FROM staged")
            con.execute("COMMIT")
        con.close()
        del staged
        samples.append(timer.seconds)
    return _median_of(samples[1:])


def orm_insert(path: Path, count: int, repeats: int) -> float:
    """``session.add_all`` of new ORM objects, then commit (duckdb-engine, sync)."""
    samples = []
    engine = sa.create_engine(f"duckdb:///{path}")
    for _ in range(repeats):
        _empty_with(engine)
        objects = [
            OrmRow(id=row[0], sku=row[1], name=row[2], category=row[3], price=row[4])
            for row in new_rows(count)
        ]
        with Timer() as timer, orm.Session(engine) as session:
            session.add_all(objects)
            session.commit()
        samples.append(timer.seconds)
    engine.dispose()
    return _median_of(samples)


def _empty_with(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("DELETE FROM products"))
        conn.commit()
        conn.execute(sa.text("CHECKPOINT"))
        conn.commit()


async def andamios_insert(path: Path, count: int, repeats: int) -> float:
    """``add_many`` of new aggregates, then commit."""
    mapping = build_mapping()
    samples = []
    try:
        async with Database(f"duckdb+async:///{path}") as db:
            new_uow = SqlAlchemyUnitOfWork.factory(Shop, database=db, mapping=mapping)
            for _ in range(repeats + 1):  # the first one warms up (imports, caches)
                async with db.engine.connect() as conn:
                    # As the peers start: an empty, checkpointed table.
                    await conn.execute(sa.text("DELETE FROM products"))
                    await conn.commit()
                    await conn.execute(sa.text("CHECKPOINT"))
                    await conn.commit()
                products = new_products(count)
                with Timer() as timer:
                    async with new_uow() as uow:
                        await uow.products.add_many(products)
                        await uow.commit()
                samples.append(timer.seconds)
    finally:
        mapping.clear()
    return _median_of(samples[1:])


def _insert_label(count: int) -> str:
    return f"add_many + commit, {count:,}"


def bench_inserts(directory: Path, sizes: Sizes) -> list[Result]:
    """``add_many`` + commit of the small and the large count, beside the peers."""
    path = directory / "writes.duckdb"
    con = duckdb.connect(str(path))
    con.execute(CREATE_SQL)
    con.close()
    results = []
    for count, label in ((sizes.small, "small"), (sizes.large, "large")):
        _progress(f"add_many + commit of {count:,}: raw duckdb (pyarrow)")
        raw = raw_insert(path, count, sizes.repeats)
        peers = {RAW: raw}
        if label == "small" or sizes.orm_large:
            _progress(f"add_many + commit of {count:,}: SQLAlchemy ORM add_all")
            peers[ORM] = orm_insert(path, count, sizes.orm_repeats)
        _progress(f"add_many + commit of {count:,}: andamios")
        ours = asyncio.run(andamios_insert(path, count, sizes.repeats))
        result = Result(_insert_label(count), ours, peers)
        if label == "small":
            result.target = "< 100 ms, <= 3x raw, >= 20x faster than ORM"
            orm_ratio = result.ratio(ORM)
            result.passed = (
                ours < 100_000
                and (result.ratio(RAW) or 0) <= 3
                and orm_ratio is not None
                and orm_ratio <= 1 / 20
            )
        else:
            result.target = "< 1 s"
            result.passed = ours < 1_000_000
        results.append(result)
    return results


# -- reads, the bulk update and the empty unit of work ---------------------------------------------


def raw_reads(path: Path, ids: list[UUID], sizes: Sizes, *, bulk: bool) -> dict[str, float]:
    """The read rows, the empty transaction and (``bulk``) the bulk update on raw duckdb."""
    con = duckdb.connect(str(path))
    cursor = con.cursor()
    n = sizes.iterations
    found = {
        "get": measure(
            lambda i: cursor.execute("SELECT * FROM products WHERE id = ?", [ids[i]]).fetchone(),
            n,
        ),
        "find": measure(
            lambda i: cursor.execute(FIND_SQL, [CATEGORIES[i % 5], Decimal(500)]).fetchall(), n
        ),
        "count": measure(
            lambda i: cursor.execute(
                "SELECT count(*) FROM products WHERE category = ?", [CATEGORIES[i % 5]]
            ).fetchone(),
            n,
        ),
    }

    def stream(_: int) -> None:
        cursor.execute("SELECT * FROM products ORDER BY id")
        while cursor.fetchmany(1000):
            pass

    found["stream"] = measure(stream, sizes.repeats, warmup=1)

    def empty(_: int) -> None:
        cursor.execute("BEGIN")
        cursor.execute("COMMIT")

    found["empty"] = measure(empty, n)

    def update(i: int) -> None:
        rows = cursor.execute(
            "SELECT id, version FROM products ORDER BY id LIMIT ?", [sizes.small]
        ).fetchall()
        staged = _update_table(rows, i)  # noqa: F841 - read by DuckDB's replacement scan
        cursor.execute("BEGIN")
        cursor.execute(
            "UPDATE products SET name = s.name, version = products.version + 1 FROM staged s "
            "WHERE products.id = s.id AND products.version = s.version RETURNING products.id"
        ).fetchall()
        cursor.execute("COMMIT")

    if bulk:
        found["update"] = measure(update, sizes.repeats, warmup=1)
    con.close()
    return found


def _update_table(rows: list[tuple[UUID, int]], i: int) -> Any:
    import pyarrow as pa  # noqa: PLC0415 - as a user would

    return pa.table(
        {
            "id": pa.array([row[0].bytes for row in rows], pa.binary(16)),
            "name": pa.array([f"renamed {i}"] * len(rows), pa.string()),
            "version": pa.array([row[1] for row in rows], pa.int32()),
        }
    )


def orm_reads(path: Path, ids: list[UUID], sizes: Sizes, *, bulk: bool) -> dict[str, float]:
    """The read rows, the empty session and (``bulk``) the bulk update on the SQLAlchemy ORM."""
    engine = sa.create_engine(f"duckdb:///{path}")
    n = sizes.iterations
    found: dict[str, float] = {}
    with orm.Session(engine) as session:
        found["get"] = measure(lambda i: session.get(OrmRow, ids[i]), n)
        query = (
            sa.select(OrmRow)
            .where(OrmRow.category == sa.bindparam("c"), OrmRow.price < sa.bindparam("p"))
            .order_by(OrmRow.price.desc().nulls_last(), OrmRow.id)
            .limit(20)
        )
        found["find"] = measure(
            lambda i: session.scalars(query, {"c": CATEGORIES[i % 5], "p": Decimal(500)}).all(), n
        )
        counting = sa.select(sa.func.count()).where(OrmRow.category == sa.bindparam("c"))
        found["count"] = measure(lambda i: session.scalar(counting, {"c": CATEGORIES[i % 5]}), n)
    streaming = sa.select(OrmRow).order_by(OrmRow.id).execution_options(yield_per=1000)

    def stream(_: int) -> None:
        with orm.Session(engine) as session:
            for _row in session.scalars(streaming):
                pass

    found["stream"] = measure(stream, sizes.orm_repeats, warmup=1)

    def empty(_: int) -> None:
        with orm.Session(engine) as session, session.begin():
            pass

    found["empty"] = measure(empty, n)
    if bulk:
        found["update"] = _orm_update(engine, sizes)
    engine.dispose()
    return found


def _orm_update(engine: sa.Engine, sizes: Sizes) -> float:
    """The bulk update on the SQLAlchemy ORM: load, rename each object, commit."""
    samples = []
    for i in range(sizes.orm_repeats):
        with orm.Session(engine) as session:
            loaded = session.scalars(sa.select(OrmRow).order_by(OrmRow.id).limit(sizes.small))
            objects = loaded.all()
            with Timer() as timer, warnings.catch_warnings():
                # duckdb-engine cannot verify versions (rowcount); the peer runs as it ships.
                warnings.simplefilter("ignore", sa.exc.SAWarning)
                for row in objects:
                    row.name = f"orm {i}"
                session.commit()
        samples.append(timer.seconds)
    return _median_of(samples)


async def andamios_reads(
    path: Path, ids: list[UUID], sizes: Sizes, *, bulk: bool
) -> dict[str, float]:
    """The read rows, the empty unit of work and (``bulk``) the bulk update on Andamios."""
    mapping = build_mapping()
    n = sizes.iterations
    found: dict[str, float] = {}
    try:
        async with Database(f"duckdb+async:///{path}") as db:
            new_uow = SqlAlchemyUnitOfWork.factory(Shop, database=db, mapping=mapping)
            async with new_uow() as uow:
                found["get"] = await measure_async(lambda i: uow.products.get(ids[i]), n)
            async with new_uow() as uow:

                def find(i: int) -> Awaitable[list[Product]]:
                    spec = (F("category") == CATEGORIES[i % 5]) & (F("price") < 500)
                    return uow.products.find(spec, order_by=F("price").desc(), limit=20)

                found["find"] = await measure_async(find, n)
            async with new_uow() as uow:
                found["count"] = await measure_async(
                    lambda i: uow.products.count(F("category") == CATEGORIES[i % 5]), n
                )

            async def stream(_: int) -> None:
                async with new_uow() as uow:
                    async for _product in uow.products.stream(batch_size=1000):
                        pass

            found["stream"] = await measure_async(stream, sizes.repeats, warmup=1)

            async def empty(_: int) -> None:
                async with new_uow():
                    pass

            found["empty"] = await measure_async(empty, n)
            if bulk:
                found["update"] = await _andamios_update(new_uow, sizes)
    finally:
        mapping.clear()
    return found


async def _andamios_update(new_uow: SqlAlchemyFactory[Shop], sizes: Sizes) -> float:
    """The bulk update on Andamios: load, rename each aggregate, commit (one flush)."""
    samples = []
    for i in range(sizes.repeats):
        async with new_uow() as uow:
            products = await uow.products.find(limit=sizes.small)
            with Timer() as timer:
                for product in products:
                    product.name = f"andamios {i}"
                await uow.commit()
        samples.append(timer.seconds)
    return _median_of(samples)


READ_TARGETS: dict[str, tuple[str, str]] = {
    "get": ("get-by-id (open unit of work)", "< 1 ms and <= 2x raw"),
    "find": ("find: filter + order + limit 20", "< 10 ms"),
    "count": ("count with a filter", "-"),
    "update": ("bulk update of {small} loaded + commit", "-"),
    "stream": ("stream {large} aggregates", "-"),
    "empty": ("empty unit of work (enter/exit)", "< 0.5 ms"),
}


def _read_verdict(key: str, ours: float, raw: float) -> bool | None:
    if key == "get":
        return ours < 1000 and ours <= 2 * raw
    if key == "find":
        return ours < 10_000
    if key == "empty":
        return ours < 500
    return None


def _read_label(key: str, sizes: Sizes) -> str:
    return READ_TARGETS[key][0].format(small=f"{sizes.small:,}", large=f"{sizes.large:,}")


def bench_reads(directory: Path, sizes: Sizes, *, bulk: bool = True) -> list[Result]:
    """get, find, count, stream, (``bulk``) bulk update, empty unit of work, beside the peers."""
    path = directory / "reads.duckdb"
    _progress(f"loading {sizes.large:,} rows with raw duckdb")
    ids = load_rows(path, sizes.large)
    random.Random(7).shuffle(ids)
    ids = ids[: sizes.iterations + 10]
    what = _reads_name(bulk)
    _progress(f"{what}: raw duckdb")
    raw = raw_reads(path, ids, sizes, bulk=bulk)
    _progress(f"{what}: SQLAlchemy ORM")
    orm_found = orm_reads(path, ids, sizes, bulk=bulk)
    _progress(f"{what}: andamios")
    ours = asyncio.run(andamios_reads(path, ids, sizes, bulk=bulk))
    results = []
    for key, (_label, target) in READ_TARGETS.items():
        if key not in ours:  # the bulk update, without pyarrow
            continue
        name = _read_label(key, sizes)
        result = Result(name, ours[key], {RAW: raw[key], ORM: orm_found[key]}, target)
        result.passed = _read_verdict(key, ours[key], raw[key])
        results.append(result)
    return results


# -- memory ---------------------------------------------------------------------------------------

_RSS_PROGRAMS = {
    "andamios": """
import asyncio, sys, uuid
import andamios
from andamios.adapters.duckdb import Database
from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork
from andamios._benchmarks._model import Shop, build_mapping

async def main():
    mapping = build_mapping()
    async with Database("duckdb+async:///" + sys.argv[1]) as db:
        new_uow = SqlAlchemyUnitOfWork.factory(Shop, database=db, mapping=mapping)
        async with new_uow() as uow:
            await uow.products.get_or_none(uuid.uuid4())
        print(rss())

asyncio.run(main())
""",
    RAW: """
import sys, uuid, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("SELECT * FROM products WHERE id = ?", [uuid.uuid4()]).fetchall()
print(rss())
""",
    ORM: """
import sys, uuid
import sqlalchemy as sa
from sqlalchemy import orm
from andamios._benchmarks._model import OrmRow
engine = sa.create_engine("duckdb:///" + sys.argv[1])
with orm.Session(engine) as session:
    session.get(OrmRow, uuid.uuid4())
print(rss())
""",
}

_RSS_PRELUDE = """
def rss():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
"""


def _rss_of(program: str, path: Path) -> float:
    # Isolated (-I): the installed Andamios, never a module of the current directory.
    completed = subprocess.run(
        [sys.executable, "-I", "-c", _RSS_PRELUDE + program, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        cwd=path.parent,
    )
    return float(completed.stdout.split()[0])


def bench_memory(directory: Path, sizes: Sizes) -> list[Result]:
    """The resident memory of a fresh process after import, open and one read."""
    path = directory / "memory.duckdb"
    load_rows(path, min(sizes.large, 1000))
    found = {}
    for name, program in _RSS_PROGRAMS.items():
        _progress(f"RSS after import + open + one round-trip: {name} (fresh process)")
        found[name] = _rss_of(program, path)
    ours = found.pop("andamios")
    result = Result("RSS: import + open + 1 round-trip", ours, found, "<= 100 MiB", unit="bytes")
    result.passed = ours <= 100 * MIB
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
