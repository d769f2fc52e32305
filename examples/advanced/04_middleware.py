"""Hooks and message-bus middleware together: an audit trail, a veto and a log line per run.

Hooks (:class:`andamios.ports.Hooks`) are told what each unit of work does; middleware
(:class:`andamios.application.HandlerCall`) wraps each handler run of the message bus. Here:

- ``AuditTrail`` (a hook) records every repository call of a unit of work (kind, aggregate,
  rows) and why its transaction was rolled back, if it was (a query's unit of work, which never
  commits, is rolled back when its block exits: ``exited``);
- ``OpenOrdersRule`` (a hook) vetoes a commit that would leave a customer more than two open
  orders, a rule across aggregates no single ``Order`` can check: its ``before_commit`` reads
  the customer's open orders through the unit of work being committed and raises the
  application's own ``TooManyOpenOrders``. ``commit()`` raises it and nothing is saved (on
  DuckDB that read flushes the new order into the open transaction, which the rollback
  discards);
- ``LogRuns`` (a middleware) prints one line per handler run with the number of operations the
  audit hook saw for that run's unit of work (``call.unit_of_work``), then the trail itself;
- ``StatementCount`` (a hook, DuckDB only: the in-memory adapter runs no SQL) counts the SQL
  statements of each run; the middleware prints that count on lines marked ``DuckDB``.

The same session runs on the in-memory adapter and on a DuckDB file and prints the same lines,
but for the ``DuckDB`` ones. Run it with ``uv run python examples/advanced/04_middleware.py``
(``...`` stands for the rest of a long line).

It prints::

    memory:
    command PlaceOrder -> place_order: 2 operation(s)
      add Order rows=1
      find Order rows=1
    command PlaceOrder -> place_order: 2 operation(s)
      add Order rows=1
      find Order rows=2
    query OpenOrders -> open_orders: 1 operation(s)
      count Order rows=None
      rolled back: exited
    command PlaceOrder -> place_order: 2 operation(s), raised TooManyOpenOrders: ada would have ...
      add Order rows=1
      find Order rows=3
      rolled back: error by TooManyOpenOrders
    refused: ada would have 3 open orders, at most 2
    query OpenOrders -> open_orders: 1 operation(s)
      count Order rows=None
      rolled back: exited
    open orders of ada: 2 before, 2 after the refused order
    command CloseOrder -> close_order: 1 operation(s)
      get Order rows=1
    command PlaceOrder -> place_order: 2 operation(s)
      add Order rows=1
      find Order rows=2
    query OpenOrders -> open_orders: 1 operation(s)
      count Order rows=None
      rolled back: exited
    after closing order-1: 2 open orders
    duckdb:
    command PlaceOrder -> place_order: 2 operation(s)
      add Order rows=1
      find Order rows=1
      DuckDB ran 2 statement(s)
    command PlaceOrder -> place_order: 2 operation(s)
      add Order rows=1
      find Order rows=2
      DuckDB ran 2 statement(s)
    query OpenOrders -> open_orders: 1 operation(s)
      count Order rows=None
      rolled back: exited
      DuckDB ran 1 statement(s)
    command PlaceOrder -> place_order: 2 operation(s), raised TooManyOpenOrders: ada would have ...
      add Order rows=1
      find Order rows=3
      rolled back: error by TooManyOpenOrders
      DuckDB ran 2 statement(s)
    refused: ada would have 3 open orders, at most 2
    query OpenOrders -> open_orders: 1 operation(s)
      count Order rows=None
      rolled back: exited
      DuckDB ran 1 statement(s)
    open orders of ada: 2 before, 2 after the refused order
    command CloseOrder -> close_order: 1 operation(s)
      get Order rows=1
      DuckDB ran 2 statement(s)
    command PlaceOrder -> place_order: 2 operation(s)
      add Order rows=1
      find Order rows=2
      DuckDB ran 2 statement(s)
    query OpenOrders -> open_orders: 1 operation(s)
      count Order rows=None
      rolled back: exited
      DuckDB ran 1 statement(s)
    after closing order-1: 2 open orders
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import sqlalchemy as sa

from andamios.adapters.duckdb import Database
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.application import Command, HandlerCall, MessageBus, Next, Query
from andamios.domain import AggregateRoot, F
from andamios.ports import (
    BeforeCommit,
    Hooks,
    Operation,
    Repository,
    RolledBack,
    Statement,
    UnitOfWork,
    UnitOfWorkFactory,
)

MAX_OPEN = 2

# -- domain ----------------------------------------------------------------------------------------


@dataclass(eq=False, kw_only=True)
class Order(AggregateRoot[str]):
    customer: str
    status: str = "open"

    def close(self) -> None:
        self.status = "closed"


class Shop(UnitOfWork):
    orders: Repository[Order, str]


class TooManyOpenOrders(Exception):
    """The application's own error: the rule the commit would break."""


# -- application: messages and handlers ------------------------------------------------------------


class PlaceOrder(Command[str]):
    order_id: str
    customer: str


class CloseOrder(Command[None]):
    order_id: str


class OpenOrders(Query[int]):
    customer: str


async def place_order(command: PlaceOrder, uow: Shop) -> str:
    async with uow:
        await uow.orders.add(Order(id=command.order_id, customer=command.customer))
        await uow.commit()
    return command.order_id


async def close_order(command: CloseOrder, uow: Shop) -> None:
    async with uow:
        (await uow.orders.get(command.order_id)).close()
        await uow.commit()


async def open_orders(query: OpenOrders, uow: Shop) -> int:
    async with uow:
        return await uow.orders.count((F("customer") == query.customer) & (F("status") == "open"))


# -- hooks -----------------------------------------------------------------------------------------


# --8<-- [start:audit-trail]
@dataclass
class Trail:
    """What one unit of work did: its operations, and how it was rolled back, if it was."""

    operations: list[str] = field(default_factory=list)
    rolled_back: str | None = None


class AuditTrail(Hooks):
    """Each unit of work's :class:`Trail`, kept until someone takes it (:meth:`take`)."""

    def __init__(self) -> None:
        self._trails: defaultdict[UnitOfWork, Trail] = defaultdict(Trail)

    def operation(self, event: Operation) -> None:
        name = "-" if event.aggregate_type is None else event.aggregate_type.__name__
        self._trails[event.unit_of_work].operations.append(f"{event.kind} {name} rows={event.rows}")

    def rolled_back(self, event: RolledBack) -> None:
        error = "" if event.error is None else f" by {type(event.error).__name__}"
        self._trails[event.unit_of_work].rolled_back = f"{event.reason.value}{error}"

    def take(self, uow: UnitOfWork) -> Trail:
        """The trail of ``uow``, forgotten here."""
        return self._trails.pop(uow, Trail())


# --8<-- [end:audit-trail]


# --8<-- [start:veto]
class OpenOrdersRule(Hooks):
    """Vetoes a commit that leaves a customer more than ``MAX_OPEN`` open orders."""

    async def before_commit(self, event: BeforeCommit) -> None:
        uow = cast("Shop", event.unit_of_work)  # events name the UnitOfWork port, not your shape
        customers = sorted(
            {
                order.customer
                for order in uow.seen()
                if isinstance(order, Order) and order.status == "open"
            }
        )
        for customer in customers:  # read through the unit of work: its own changes count
            held = await uow.orders.find((F("customer") == customer) & (F("status") == "open"))
            if len(held) > MAX_OPEN:
                msg = f"{customer} would have {len(held)} open orders, at most {MAX_OPEN}"
                raise TooManyOpenOrders(msg)


# --8<-- [end:veto]


# --8<-- [start:statement-count]
class StatementCount(Hooks):
    """The SQL statements each unit of work ran (SQL adapters only)."""

    def __init__(self) -> None:
        self._counts: defaultdict[UnitOfWork, int] = defaultdict(int)

    def statement(self, event: Statement) -> None:
        self._counts[event.unit_of_work] += 1

    def take(self, uow: UnitOfWork) -> int:
        """How many statements ``uow`` ran, forgotten here."""
        return self._counts.pop(uow, 0)


# --8<-- [end:statement-count]


# -- middleware ------------------------------------------------------------------------------------


# --8<-- [start:log-runs]
@dataclass
class LogRuns:
    """One line per handler run, with what the hooks saw of its unit of work."""

    audit: AuditTrail
    statements: StatementCount | None = None

    async def __call__(self, call: HandlerCall, call_next: Next) -> object:
        outcome = ""
        try:
            return await call_next()
        except Exception as error:
            outcome = f", raised {type(error).__name__}: {error}"
            raise
        finally:
            trail = self.audit.take(call.unit_of_work)
            name = type(call.message).__name__
            count = len(trail.operations)
            print(f"{call.kind} {name} -> {call.handler}: {count} operation(s){outcome}")
            for line in trail.operations:
                print(f"  {line}")
            if trail.rolled_back is not None:
                print(f"  rolled back: {trail.rolled_back}")
            if self.statements is not None:
                print(f"  DuckDB ran {self.statements.take(call.unit_of_work)} statement(s)")


# --8<-- [end:log-runs]


# -- composition root and a session ----------------------------------------------------------------


# --8<-- [start:bootstrap]
def bootstrap(new_uow: UnitOfWorkFactory[Shop], log: LogRuns) -> MessageBus[Shop]:
    bus = MessageBus(new_uow, middleware=[log])
    bus.register(PlaceOrder, place_order)
    bus.register(CloseOrder, close_order)
    bus.register(OpenOrders, open_orders)
    return bus


# --8<-- [end:bootstrap]


async def session(bus: MessageBus[Shop]) -> None:
    await bus.handle(PlaceOrder(order_id="order-1", customer="ada"))
    await bus.handle(PlaceOrder(order_id="order-2", customer="ada"))
    before = await bus.ask(OpenOrders(customer="ada"))
    try:
        await bus.handle(PlaceOrder(order_id="order-3", customer="ada"))
    except TooManyOpenOrders as refused:
        print(f"refused: {refused}")
    after = await bus.ask(OpenOrders(customer="ada"))
    print(f"open orders of ada: {before} before, {after} after the refused order")
    await bus.handle(CloseOrder(order_id="order-1"))
    await bus.handle(PlaceOrder(order_id="order-3", customer="ada"))
    print(f"after closing order-1: {await bus.ask(OpenOrders(customer='ada'))} open orders")


mapping = Mapping()
mapping.map(
    Order,
    sa.Table(
        "orders",
        mapping.metadata,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("customer", sa.String, nullable=False),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    ),
)


async def main() -> None:
    print("memory:")
    audit = AuditTrail()
    new_uow = InMemoryUnitOfWork.factory(Shop, hooks=[audit, OpenOrdersRule()])
    await session(bootstrap(new_uow, LogRuns(audit)))

    print("duckdb:")
    audit, statements = AuditTrail(), StatementCount()
    with tempfile.TemporaryDirectory() as directory:
        async with Database(f"duckdb+async:///{Path(directory) / 'shop.duckdb'}") as database:
            await database.create_all(mapping.metadata)
            new_sql_uow = SqlAlchemyUnitOfWork.factory(
                Shop,
                database=database,
                mapping=mapping,
                hooks=[audit, OpenOrdersRule(), statements],
            )
            await session(bootstrap(new_sql_uow, LogRuns(audit, statements)))


if __name__ == "__main__":
    asyncio.run(main())
