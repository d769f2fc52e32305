"""Timings and the slow log on a real workload: what each unit of work did and how long it took.

A small stock service: 2,000 products are loaded in one ``add_many``, then 200 requests run
through the message bus (look-ups, searches, counts, price changes), and two requests race on
the same product so that one loses and is retried. Three shipped hooks watch it:

- :class:`~andamios.observability.Metrics` counts units of work, commits, rollbacks, conflicts,
  statements and rows, and times each operation kind (p50/p99/max); its bus middleware counts
  handler runs and retries;
- :class:`~andamios.observability.SlowOperationLog` logs every operation, statement and commit
  over a threshold (here 0: everything, into a list, to show its lines);
- on DuckDB, ``Database.worker_health()`` says how long jobs waited for the connection's worker
  and how long the event loop took to take their results (the loop's stalls).

The same service runs on the in-memory adapter and on a DuckDB file. The counts are the same on
both (SQL statements aside: the in-memory adapter runs none); timings are printed as
"measured" only, so the output is the same on every run. Run it with
``uv run python examples/advanced/01_performance.py``.

It prints::

    memory:
      units of work: 203, committed: 52
      rolled back: 151, of which conflicts: 1
      bus: 201 handler runs, 1 retry
      operations: {'get': 202, 'find': 150, 'count': 150, 'add_many': 1}
      rows handed out or accepted: 3702
      find timed: p50 <= p99 <= max: True
      slow log (threshold 0): True, finds among them: 150
    duckdb:
      units of work: 203, committed: 52
      rolled back: 151, of which conflicts: 1
      bus: 201 handler runs, 1 retry
      operations: {'get': 202, 'find': 150, 'count': 150, 'add_many': 1}
      rows handed out or accepted: 3702
      find timed: p50 <= p99 <= max: True
      SQL statements measured: True
      slow log (threshold 0): True, finds among them: 150
      DuckDB worker jobs measured: True
      queue wait and loop lag measured: True
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from andamios.adapters.duckdb import Database
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.application import Command, MessageBus, RetryPolicy
from andamios.domain import AggregateRoot, F
from andamios.observability import Metrics, SlowOperationLog
from andamios.ports import Hooks, Repository, UnitOfWork, UnitOfWorkFactory

# -- domain and application ------------------------------------------------------------------


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[str]):
    category: str
    price: Decimal
    stock: int

    def reprice(self, price: Decimal) -> None:
        self.price = price


class Stock(UnitOfWork):
    products: Repository[Product, str]


class Browse(Command[int]):
    sku: str
    category: str


class Reprice(Command[None]):
    sku: str
    price: Decimal


async def browse(command: Browse, uow: Stock) -> int:
    """A look-up, a search and a count: what a product page reads."""
    async with uow:
        await uow.products.get(command.sku)
        cheaper = F("category") == command.category
        await uow.products.find(cheaper, order_by="price", limit=10)
        return await uow.products.count(cheaper)


class Race:
    """Makes the first ``reprice`` of a product lose a race with another request, once."""

    def __init__(self, new_uow: UnitOfWorkFactory[Stock]) -> None:
        self.new_uow = new_uow
        self.pending = True

    async def maybe_interfere(self, sku: str) -> None:
        if self.pending:
            self.pending = False
            async with self.new_uow() as other:
                (await other.products.get(sku)).reprice(Decimal("1.00"))
                await other.commit()


async def reprice(command: Reprice, uow: Stock, race: Race) -> None:
    async with uow:
        product = await uow.products.get(command.sku)
        await race.maybe_interfere(command.sku)  # another request commits meanwhile, once
        product.reprice(command.price)
        await uow.commit()


CATEGORIES = ("tea", "coffee", "cocoa", "herbs")


async def no_wait(_: float) -> None:
    """The bus's pause between retries, skipped here."""


async def workload(new_uow: UnitOfWorkFactory[Stock], metrics: Metrics) -> None:
    async with new_uow() as uow:
        await uow.products.add_many(
            Product(id=f"SKU-{n:04}", category=CATEGORIES[n % 4], price=Decimal(n % 50), stock=n)
            for n in range(2_000)
        )
        await uow.commit()
    bus = MessageBus(
        new_uow, retry=RetryPolicy(attempts=3), middleware=[metrics.middleware], sleep=no_wait
    )
    bus.register(Browse, browse)
    bus.register(Reprice, reprice, race=Race(new_uow))
    for n in range(150):
        await bus.handle(Browse(sku=f"SKU-{n * 13 % 2_000:04}", category=CATEGORIES[n % 4]))
    for n in range(50):
        await bus.handle(Reprice(sku=f"SKU-{n:04}", price=Decimal("9.99")))


# -- what the hooks saw ------------------------------------------------------------------------


class KeepLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def report(metrics: Metrics, slow: KeepLines, *, sql: bool) -> None:
    seen = metrics.snapshot()
    print(f"  units of work: {seen.units_of_work}, committed: {seen.committed}")
    print(f"  rolled back: {seen.rolled_back}, of which conflicts: {seen.conflicted}")
    print(f"  bus: {seen.handled} handler runs, {seen.retries} retry")
    counts = {kind: seen.operation(kind).count for kind in ("get", "find", "count", "add_many")}
    print(f"  operations: {counts}")
    print(f"  rows handed out or accepted: {seen.rows}")
    find = seen.operation("find")
    print(f"  find timed: p50 <= p99 <= max: {0 < find.p50 <= find.p99 <= find.max}")
    if sql:
        print(f"  SQL statements measured: {seen.statements > 0}")
    slow_finds = [line for line in slow.lines if " find " in line]
    print(f"  slow log (threshold 0): {len(slow.lines) > 0}, finds among them: {len(slow_finds)}")


async def run(adapter: str, directory: Path) -> None:
    metrics, slow = Metrics(), KeepLines()
    logger = logging.getLogger(f"example.slow.{adapter}")
    logger.addHandler(slow)
    logger.propagate = False
    hooks: list[Hooks] = [metrics, SlowOperationLog(threshold=0.0, logger=logger)]
    print(f"{adapter}:")
    if adapter == "memory":
        await workload(InMemoryUnitOfWork.factory(Stock, hooks=hooks), metrics)
        report(metrics, slow, sql=False)
        return
    mapping = Mapping()
    table = sa.Table(
        "products",
        mapping.metadata,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("category", sa.String, nullable=False),
        sa.Column("price", sa.Numeric(10, 2), nullable=False),
        sa.Column("stock", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(Product, table)
    async with Database(f"duckdb+async:///{directory / 'stock.duckdb'}") as db:
        await db.create_all(mapping.metadata)
        db.reset_worker_health()
        new_uow = SqlAlchemyUnitOfWork.factory(Stock, database=db, mapping=mapping, hooks=hooks)
        await workload(new_uow, metrics)
        report(metrics, slow, sql=True)
        health = db.worker_health()
        print(f"  DuckDB worker jobs measured: {health.jobs > 0}")
        waits = (health.queue_wait, health.loop_lag)
        print(f"  queue wait and loop lag measured: {all(t.count > 0 for t in waits)}")
    mapping.clear()


async def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        for adapter in ("memory", "duckdb"):
            await run(adapter, Path(directory))


if __name__ == "__main__":
    asyncio.run(main())
