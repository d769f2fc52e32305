"""Core operations of the DuckDB adapter beside raw duckdb and plain synchronous SQLAlchemy.

Measures, on one DuckDB file in one process: get-by-id inside an open unit of work, a ``find``
with a filter, an order and ``limit 20`` over the whole table, and entering/leaving an empty unit
of work. Each Andamios median is printed beside the raw duckdb cursor and the SQLAlchemy ORM
(duckdb-engine, sync ``Session``) on the same data, with the ratio and the target.

    uv run python -m benchmarks.bench_core            # 100,000 rows
    uv run python -m benchmarks.bench_core --quick    # CI smoke: small, never fails on timing
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
from collections.abc import Awaitable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import duckdb
import sqlalchemy as sa
from sqlalchemy import orm

from andamios.adapters.duckdb import Database
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, F
from andamios.ports import Repository, UnitOfWork
from benchmarks._harness import Result, measure, measure_async, print_table, write_json

CATEGORIES = ["tea", "coffee", "cocoa", "herbs", "spices"]
PEERS = ["raw duckdb", "SQLAlchemy ORM"]


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[UUID]):
    sku: str
    name: str
    category: str
    price: Decimal


class Shop(UnitOfWork):
    products: Repository[Product, UUID]


def build_mapping() -> tuple[Mapping, sa.Table]:
    mapping = Mapping()
    table = sa.Table(
        "products",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("sku", sa.String, nullable=False, unique=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("category", sa.String, nullable=False),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(Product, table)
    return mapping, table


def load_rows(path: Path, rows: int) -> list[UUID]:
    """Create the table and fill it with raw duckdb (fast and independent of Andamios)."""
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE products (id UUID PRIMARY KEY, sku VARCHAR NOT NULL UNIQUE, "
        "name VARCHAR NOT NULL, category VARCHAR NOT NULL, price DECIMAL(12,2) NOT NULL, "
        "version INTEGER NOT NULL)"
    )
    con.execute(
        """
        INSERT INTO products
        SELECT uuidv7(), 'SKU-' || lpad(i::VARCHAR, 7, '0'), 'Product ' || i,
               ['tea','coffee','cocoa','herbs','spices'][1 + (i % 5)],
               ((i * 7919) % 100000) / 100.0, 1
        FROM range(?) t(i)
        """,
        [rows],
    )
    ids = [row[0] for row in con.execute("SELECT id FROM products").fetchall()]
    con.close()
    return ids


class OrmProduct(orm.DeclarativeBase):
    pass


class OrmRow(OrmProduct):
    __tablename__ = "products"
    id: orm.Mapped[UUID] = orm.mapped_column(primary_key=True)
    sku: orm.Mapped[str]
    name: orm.Mapped[str]
    category: orm.Mapped[str]
    price: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(12, 2))
    version: orm.Mapped[int] = orm.mapped_column()
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own protocol


FIND_SQL = (
    "SELECT * FROM products WHERE category = ? AND price < ? ORDER BY price DESC NULLS LAST, "
    "id ASC LIMIT 20"
)


def bench_raw(path: Path, ids: list[UUID], iterations: int) -> dict[str, float]:
    con = duckdb.connect(str(path))
    cursor = con.cursor()
    results = {
        "get": measure(
            lambda i: cursor.execute("SELECT * FROM products WHERE id = ?", [ids[i]]).fetchone(),
            iterations,
        ),
        "find": measure(
            lambda i: cursor.execute(FIND_SQL, [CATEGORIES[i % 5], Decimal(500)]).fetchall(),
            iterations,
        ),
    }

    def empty_transaction(_: int) -> None:
        cursor.execute("BEGIN")
        cursor.execute("COMMIT")

    results["empty"] = measure(empty_transaction, iterations)
    con.close()
    return results


def bench_orm(path: Path, ids: list[UUID], iterations: int) -> dict[str, float]:
    engine = sa.create_engine(f"duckdb:///{path}")
    results: dict[str, float] = {}
    with orm.Session(engine) as session:
        results["get"] = measure(lambda i: session.get(OrmRow, ids[i]), iterations)
        query = (
            sa.select(OrmRow)
            .where(OrmRow.category == sa.bindparam("c"), OrmRow.price < sa.bindparam("p"))
            .order_by(OrmRow.price.desc().nulls_last(), OrmRow.id)
            .limit(20)
        )
        results["find"] = measure(
            lambda i: session.scalars(query, {"c": CATEGORIES[i % 5], "p": Decimal(500)}).all(),
            iterations,
        )

    def empty_transaction(_: int) -> None:
        with orm.Session(engine) as session, session.begin():
            pass

    results["empty"] = measure(empty_transaction, iterations)
    engine.dispose()
    return results


async def bench_andamios(path: Path, ids: list[UUID], iterations: int) -> dict[str, float]:
    mapping, _ = build_mapping()
    results: dict[str, float] = {}
    try:
        async with Database(f"duckdb+async:///{path}") as db:
            new_uow = SqlAlchemyUnitOfWork.factory(Shop, database=db, mapping=mapping)
            async with new_uow() as uow:
                results["get"] = await measure_async(lambda i: uow.products.get(ids[i]), iterations)
            async with new_uow() as uow:

                def find(i: int) -> Awaitable[list[Product]]:
                    spec = (F("category") == CATEGORIES[i % 5]) & (F("price") < 500)
                    return uow.products.find(spec, order_by=F("price").desc(), limit=20)

                results["find"] = await measure_async(find, iterations)

            async def empty(_: int) -> None:
                async with new_uow():
                    pass

            results["empty"] = await measure_async(empty, iterations)
    finally:
        mapping.clear()
    return results


TARGETS = {
    "get": ("get-by-id in an open unit of work", "< 1 ms and <= 2x raw", 1000.0, 2.0),
    "find": ("find: filter + order + limit 20", "< 10 ms", 10_000.0, None),
    "empty": ("empty unit of work (enter/exit)", "< 0.5 ms", 500.0, None),
}


def main(argv: list[str] | None = None) -> list[Result]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small smoke run for CI")
    parser.add_argument("--rows", type=int, default=None)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/core.json"))
    args = parser.parse_args(argv)
    rows = args.rows or (5_000 if args.quick else 100_000)
    iterations = 50 if args.quick else 500
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        print(f"loading {rows:,} rows ...", flush=True)
        ids = load_rows(path, rows)
        random.Random(7).shuffle(ids)
        ids = ids[: iterations + 10]
        print("raw duckdb ...", flush=True)
        raw = bench_raw(path, ids, iterations)
        print("SQLAlchemy ORM ...", flush=True)
        orm_results = bench_orm(path, ids, iterations)
        print("andamios ...", flush=True)
        ours = asyncio.run(bench_andamios(path, ids, iterations))
    results = []
    for key, (label, target, limit_us, max_ratio) in TARGETS.items():
        result = Result(
            label, ours[key], {"raw duckdb": raw[key], "SQLAlchemy ORM": orm_results[key]}, target
        )
        ratio = result.ratio("raw duckdb")
        result.passed = ours[key] < limit_us and (
            max_ratio is None or (ratio is not None and ratio <= max_ratio)
        )
        results.append(result)
    title = f"Andamios core operations, {rows:,} rows, median of {iterations}"
    print_table(title, results, PEERS)
    write_json(args.json, title, results, {"rows": rows, "iterations": iterations})
    print(f"\nwritten {args.json}")
    return results


if __name__ == "__main__":
    main()
