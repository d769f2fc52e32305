"""The read-model rows: Andamios' queries beside the same SQL on raw duckdb, interleaved.

Data (loaded with raw duckdb, outside any timing): ``sizes.facts`` sales (1,000,000 in the full
run) over ``sizes.dimension`` products (10,000), and ``sizes.large`` orders (100,000) with 0, 1
or 2 lines each (as many lines as orders). Each row runs both contenders interleaved, round by
round (:func:`~andamios._benchmarks._harness.measure_paired`), in one process on one database:
Andamios in one open unit of work, raw duckdb on a connection of its own to the same database
(same configuration), running **the SQL text Andamios generated** (captured from the engine on a
warm-up call) with the round's parameter. The ratio is the median of the per-round ratios. A
round's result is freed after its clock stops, on both sides (freeing a million rows of Arrow
costs as much as reading them, and lands on whichever side comes next).

- group-by: ``ReadQuery(Sale).group_by("sku").select("sku", total=Sum("amount"), n=Count())``,
  ``sizes.dimension`` groups as dicts (raw: ``fetchall()``);
- join: orders ⋈ their lines ⋈ products on sku, filtered by the products' category and grouped
  by sku (``Sum`` of quantities, ``Count()``);
- ``any()``: ``orders.count`` and ``orders.find`` of ``F("lines").any(F("sku") == sku)`` (find
  loads the matching orders and their lines, the session emptied before each round; raw runs
  the same two statements, the lines by ``IN`` of the ids);
- Arrow: ``uow.query_arrow(ReadQuery(Sale).select("id", "sku", "amount").unordered())``, every
  sale (raw: ``con.sql(sql, params=...).to_arrow_table()``). It needs pyarrow: without it the
  row is left out (the suite says so in its one line of skipped rows).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import duckdb
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from andamios._benchmarks._harness import Paired, Result, Round, Sizes, measure_paired
from andamios._benchmarks._model import CATEGORIES, Product, build_mapping
from andamios.adapters.duckdb import Database
from andamios.adapters.sqlalchemy import Child, Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, Count, Entity, F, ReadQuery, Sum
from andamios.ports import Repository, UnitOfWork

__all__ = ["READ_MODELS", "bench_read_models", "labels"]

#: The section's name in the suite's progress lines.
READ_MODELS = "read models beside raw duckdb (interleaved)"

RAW = "raw duckdb"
TARGET = 1.3
ARROW_TARGET = 1.1

LABELS = {
    "group": "query: group-by + sum over {facts} rows",
    "join": "query: join {large} lines x {dimension} products",
    "count": "count: lines.any() over {large} aggregates",
    "find": "find: lines.any() over {large} aggregates",
    "arrow": "query_arrow: {facts} rows (Arrow)",  # left out without pyarrow
}


@dataclass(eq=False, kw_only=True)
class Sale(AggregateRoot[UUID]):
    """One sale of a product (the fact table of the group-by and the Arrow result)."""

    sku: str
    amount: Decimal


@dataclass(eq=False, kw_only=True)
class OrderLine(Entity[UUID]):
    """A line of an :class:`Order`: a product and a quantity."""

    sku: str
    quantity: int


@dataclass(eq=False, kw_only=True)
class Order(AggregateRoot[UUID]):
    """An order of a customer, with its lines (child entities)."""

    customer: str
    lines: list[OrderLine] = field(default_factory=list)


class Analytics(UnitOfWork):
    """A unit of work over sales, orders and products."""

    sales: Repository[Sale, UUID]
    orders: Repository[Order, UUID]
    products: Repository[Product, UUID]


def build_analytics_mapping() -> Mapping:
    """Product, Sale and Order (with its lines) mapped (call ``mapping.clear()`` when done)."""
    mapping = build_mapping()
    sales = sa.Table(
        "sales",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("sku", sa.String, nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    orders = sa.Table(
        "orders",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("customer", sa.String, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    lines = sa.Table(
        "order_lines",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("order_id", sa.Uuid, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("sku", sa.String, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
    )
    mapping.map(Sale, sales)
    mapping.map(Order, orders, children={"lines": Child(OrderLine, lines)})
    return mapping


def _sku(expression: str) -> str:
    return f"'SKU-' || lpad(({expression})::VARCHAR, 8, '0')"


def _load(con: duckdb.DuckDBPyConnection, sizes: Sizes) -> None:
    """Fill the tables with raw duckdb (the products as :func:`~._model.load_rows` does)."""
    con.execute(
        "INSERT INTO products SELECT uuidv7(), " + _sku("i") + ", 'Product ' || i, "
        "['tea','coffee','cocoa','herbs','spices'][1 + (i % 5)], "
        "((i * 7919) % 100000) / 100.0, 1 FROM range(?) t(i)",
        [sizes.dimension],
    )
    con.execute(
        "INSERT INTO sales SELECT uuidv7(), " + _sku("(i * 7) % $products") + ", "
        "((i * 104729) % 100000) / 100.0, 1 FROM range($sales) t(i)",
        {"products": sizes.dimension, "sales": sizes.facts},
    )
    con.execute(
        "INSERT INTO orders SELECT uuidv7(), 'customer ' || (i % 1000), 1 FROM range(?) t(i)",
        [sizes.large],
    )
    # Order n has n % 3 lines: as many lines as orders, over every product.
    con.execute(
        "INSERT INTO order_lines SELECT uuidv7(), o.id, "
        + _sku("(o.n * 31 + k * 17) % $products")
        + ", 1 + (o.n + k) % 5 FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n "
        "FROM orders) o, range(2) r(k) WHERE k < o.n % 3",
        {"products": sizes.dimension},
    )
    con.execute("CHECKPOINT")


@dataclass(frozen=True)
class Statement:
    """One statement Andamios sent to the database: its SQL text and parameters."""

    sql: str
    parameters: tuple[Any, ...]


@contextmanager
def _captured(engine: AsyncEngine) -> Iterator[list[Statement]]:
    """The statements the engine sends to DuckDB while the block runs."""
    sent: list[Statement] = []

    def listen(*event: Any) -> None:  # conn, cursor, statement, parameters, context, many
        sent.append(Statement(event[2], tuple(event[3] or ())))

    sa.event.listen(engine.sync_engine, "before_cursor_execute", listen)
    try:
        yield sent
    finally:
        sa.event.remove(engine.sync_engine, "before_cursor_execute", listen)


async def _statement_of(engine: AsyncEngine, call: Awaitable[object]) -> Statement:
    """The one statement Andamios sends for ``call`` (checked: exactly one)."""
    with _captured(engine) as sent:
        await call
    (statement,) = sent
    return statement


def _holding(operation: Callable[[int], Awaitable[object]]) -> Round:
    """A round timing ``await operation(i)``, its result freed after the clock stops (a caller
    holds what it asked for; freeing 1,000,000 rows of Arrow costs as much as reading them)."""

    async def round_(i: int) -> float:
        start = time.perf_counter()
        result = await operation(i)
        elapsed = time.perf_counter() - start
        del result
        return elapsed

    return round_


def _blocking(operation: Callable[[int], object]) -> Round:
    """The same for the blocking ``operation(i)`` (raw duckdb, on the event loop's thread)."""

    async def round_(i: int) -> float:
        start = time.perf_counter()
        result = operation(i)
        elapsed = time.perf_counter() - start
        del result
        return elapsed

    return round_


def _bound(statement: Statement, value: object, first: object) -> list[Any]:
    """The statement's parameters with its one varying value (``first`` in the capture)."""
    parameters = list(statement.parameters)
    assert parameters.count(first) == 1, (statement.sql, parameters)
    parameters[parameters.index(first)] = value
    return parameters


def labels(sizes: Sizes) -> dict[str, str]:
    """The labels of the rows, with the sizes of ``sizes``."""
    counts = {
        "facts": f"{sizes.facts:,}",
        "large": f"{sizes.large:,}",
        "dimension": f"{sizes.dimension:,}",
    }
    return {key: label.format(**counts) for key, label in LABELS.items()}


def bench_read_models(directory: Path, sizes: Sizes, *, arrow: bool = True) -> list[Result]:
    """The read-model rows beside raw duckdb (``arrow``: the Arrow row too; it needs pyarrow)."""
    return asyncio.run(_bench(directory / "read_models.duckdb", sizes, arrow=arrow))


def _progress(message: str) -> None:
    print(f"  .. {message}", flush=True)


def _result(label: str, paired: Paired, target: float) -> Result:
    return Result(
        label,
        paired.ours_us,
        {RAW: paired.peer_us},
        f"<= {target}x raw (paired)",
        paired.ratio <= target,
        paired_ratios={RAW: paired.ratio},
    )


async def _bench(path: Path, sizes: Sizes, *, arrow: bool) -> list[Result]:
    mapping = build_analytics_mapping()
    try:
        async with Database(f"duckdb+async:///{path}") as db:
            await db.create_all(mapping.metadata)
            # The same database instance (one process, the same configuration), its own
            # connection: what a program using duckdb directly would hold.
            con = duckdb.connect(str(path), config=db.settings.duckdb_config())
            try:
                _progress(
                    f"loading {sizes.facts:,} sales, {sizes.dimension:,} products, "
                    f"{sizes.large:,} orders with raw duckdb"
                )
                _load(con, sizes)
                new_uow = SqlAlchemyUnitOfWork.factory(Analytics, database=db, mapping=mapping)
                async with new_uow() as uow:
                    found = await _rows(db.engine, uow, con, sizes, arrow=arrow)
            finally:
                con.close()
    finally:
        mapping.clear()
    names = labels(sizes)
    return [
        _result(names[key], paired, ARROW_TARGET if key == "arrow" else TARGET)
        for key, paired in found.items()
    ]


def _skus(sizes: Sizes) -> list[str]:
    return [f"SKU-{(i * 7919) % sizes.dimension:08}" for i in range(64)]


async def _rows(
    engine: AsyncEngine,
    uow: Analytics,
    con: duckdb.DuckDBPyConnection,
    sizes: Sizes,
    *,
    arrow: bool,
) -> dict[str, Paired]:
    rounds = sizes.query_rounds
    found: dict[str, Paired] = {}

    grouped = ReadQuery(Sale).group_by("sku").select("sku", total=Sum("amount"), n=Count())
    group = await _statement_of(engine, uow.query(grouped))
    _progress(f"group-by + sum over {sizes.facts:,} rows: andamios / raw duckdb, interleaved")
    found["group"] = await measure_paired(
        _holding(lambda _: uow.query(grouped)),
        _blocking(lambda _: con.execute(group.sql, group.parameters).fetchall()),
        rounds,
    )

    def joined(category: str) -> ReadQuery[Any]:
        return (
            ReadQuery(Order)
            .join("order.lines", name="line")
            .join(Product, on=("line.sku", "product.sku"))
            .where(F("product.category") == category)
            .group_by("product.sku")
            .select(sku="product.sku", quantity=Sum("line.quantity"), lines=Count())
        )

    join = await _statement_of(engine, uow.query(joined(CATEGORIES[0])))
    _progress(
        f"join {sizes.large:,} lines x {sizes.dimension:,} products: andamios / raw duckdb, "
        "interleaved"
    )
    found["join"] = await measure_paired(
        _holding(lambda i: uow.query(joined(CATEGORIES[i % 5]))),
        _blocking(
            lambda i: con.execute(
                join.sql, _bound(join, CATEGORIES[i % 5], CATEGORIES[0])
            ).fetchall()
        ),
        rounds,
    )

    skus = _skus(sizes)

    def has(i: int) -> Any:
        return F("lines").any(F("sku") == skus[i % len(skus)])

    counting = await _statement_of(engine, uow.orders.count(has(0)))
    _progress(f"count of lines.any() over {sizes.large:,} orders: andamios / raw, interleaved")
    found["count"] = await measure_paired(
        _holding(lambda i: uow.orders.count(has(i))),
        _blocking(
            lambda i: con.execute(
                counting.sql, _bound(counting, skus[i % len(skus)], skus[0])
            ).fetchone()
        ),
        sizes.iterations,
    )
    found["find"] = await _find(engine, uow, con, skus, sizes)

    if arrow:
        every = ReadQuery(Sale).select("id", "sku", "amount").unordered()
        # The Arrow path runs the statement as a DuckDB relation, not through a cursor; with no
        # hidden outputs (unordered) it is the statement uow.query sends.
        table = await _statement_of(engine, uow.query(every))
        _progress(f"Arrow result of {sizes.facts:,} rows: andamios / raw duckdb, interleaved")
        found["arrow"] = await measure_paired(
            _holding(lambda _: uow.query_arrow(every)),
            _blocking(
                lambda _: con.sql(table.sql, params=list(table.parameters) or None).to_arrow_table()
            ),
            rounds,
        )
    return found


async def _find(
    engine: AsyncEngine,
    uow: Analytics,
    con: duckdb.DuckDBPyConnection,
    skus: list[str],
    sizes: Sizes,
) -> Paired:
    """``orders.find`` of an ``any()`` (the orders, then their lines), beside the same two
    statements on raw duckdb."""

    session = cast("SqlAlchemyUnitOfWork", uow).session

    def find(i: int) -> Awaitable[list[Order]]:
        return uow.orders.find(F("lines").any(F("sku") == skus[i % len(skus)]))

    async def ours(i: int) -> float:
        # Each round loads the orders and their lines, as a fresh unit of work does.
        session.expunge_all()
        start = time.perf_counter()
        found = await find(i)
        elapsed = time.perf_counter() - start
        del found
        return elapsed

    with _captured(engine) as sent:
        await find(0)
    orders, children = sent  # the orders with a matching line, then their lines (selectin)
    head, _, _ = children.sql.partition(" IN (")

    def raw(i: int) -> tuple[list[Any], list[Any]]:
        found = con.execute(orders.sql, _bound(orders, skus[i % len(skus)], skus[0])).fetchall()
        ids = [row[0] for row in found]
        marks = ", ".join(f"${n}" for n in range(1, len(ids) + 1))
        return found, con.execute(f"{head} IN ({marks})", ids).fetchall()

    _progress(f"find of lines.any() over {sizes.large:,} orders: andamios / raw, interleaved")
    return await measure_paired(ours, _blocking(raw), sizes.iterations)
