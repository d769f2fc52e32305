"""Domain events through the message bus, with middleware around every handler run.

An ``Order`` aggregate records ``OrderPlaced`` and ``LineAdded``; event handlers keep a count of
the orders in the database and send the customer a "notification" (into a list). Two middleware
wrap every handler run, the first the outermost:

- ``Timing`` prints one line per run (``command PlaceOrder -> place_order (attempt 1)``) and
  keeps each handler's durations, as a metrics middleware would (the durations are not printed,
  so the output is the same on every run);
- ``Idempotent`` answers a command it has already handled (the same ``request_id``) with the
  stored result instead of running the handler again: a client that retries after a timeout
  does not place the order twice.

A conflict is retried by the bus: while ``add_line`` holds the order, another request commits a
change to it (``OtherRequest``, once, so the output is the same every time); the
commit raises ``ConcurrencyError`` and the bus runs the handler again, through the middleware,
as attempt 2. The same application runs on the in-memory adapter and on a DuckDB file, and both
print the same lines. Run it with ``uv run python examples/advanced/03_events.py``.

It prints::

    memory:
    command PlaceOrder -> place_order (attempt 1)
    event OrderPlaced -> count_orders (attempt 1)
    event OrderPlaced -> notify_customer (attempt 1)
    command PlaceOrder -> place_order (attempt 1)
      r-1 was already handled: the stored result, 'order-1'
    query OrdersPlaced -> orders_placed (attempt 1)
    the repeat answered 'order-1'; orders placed: 1
    command AddLine -> add_line (attempt 1)
      add_line raised ConcurrencyError
    command AddLine -> add_line (attempt 2)
    event LineAdded -> notify_customer (attempt 1)
    added a line: 3 items
    order-1: 3 items, gift wrap True, version 3
    outbox: ['ada: order-1 placed', 'ada: order-1 has 3 items']
    timed 8 handler runs of 5 handlers
    duckdb:
    command PlaceOrder -> place_order (attempt 1)
    event OrderPlaced -> count_orders (attempt 1)
    event OrderPlaced -> notify_customer (attempt 1)
    command PlaceOrder -> place_order (attempt 1)
      r-1 was already handled: the stored result, 'order-1'
    query OrdersPlaced -> orders_placed (attempt 1)
    the repeat answered 'order-1'; orders placed: 1
    command AddLine -> add_line (attempt 1)
      add_line raised ConcurrencyError
    command AddLine -> add_line (attempt 2)
    event LineAdded -> notify_customer (attempt 1)
    added a line: 3 items
    order-1: 3 items, gift wrap True, version 3
    outbox: ['ada: order-1 placed', 'ada: order-1 has 3 items']
    timed 8 handler runs of 5 handlers
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from andamios.adapters.duckdb import Database
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyUnitOfWork
from andamios.application import Command, HandlerCall, MessageBus, Next, Query
from andamios.domain import AggregateRoot, DomainEvent
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory

# -- domain ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OrderPlaced(DomainEvent):
    order_id: str
    customer: str


@dataclass(frozen=True, kw_only=True)
class LineAdded(DomainEvent):
    order_id: str
    customer: str
    items: int


@dataclass(eq=False, kw_only=True)
class Order(AggregateRoot[str]):
    customer: str
    items: int = 0
    gift_wrap: bool = False

    @classmethod
    def place(cls, id: str, customer: str, items: int) -> Order:
        order = cls(id=id, customer=customer, items=items)
        order.record(OrderPlaced(order_id=id, customer=customer))
        return order

    def add(self, items: int) -> None:
        self.items += items
        self.record(LineAdded(order_id=self.id, customer=self.customer, items=self.items))


@dataclass(eq=False, kw_only=True)
class Tally(AggregateRoot[str]):  # a counter kept by an event handler
    count: int = 0


class Shop(UnitOfWork):
    orders: Repository[Order, str]
    tallies: Repository[Tally, str]


# -- application: messages, handlers, middleware -------------------------------------------------


class PlaceOrder(Command[str]):
    request_id: str  # the client's key: the same request sent twice places one order
    order_id: str
    customer: str
    items: int


class AddLine(Command[int]):
    order_id: str
    items: int


class OrdersPlaced(Query[int]):
    pass


type Meanwhile = Callable[[str], Awaitable[None]]


async def place_order(command: PlaceOrder, uow: Shop) -> str:
    async with uow:
        await uow.orders.add(Order.place(command.order_id, command.customer, command.items))
        await uow.commit()
    return command.order_id


async def add_line(command: AddLine, uow: Shop, *, meanwhile: Meanwhile) -> int:
    async with uow:
        order = await uow.orders.get(command.order_id)
        order.add(command.items)
        await meanwhile(order.id)  # another request may commit the same order right now
        await uow.commit()
    return order.items


async def orders_placed(query: OrdersPlaced, uow: Shop) -> int:
    async with uow:
        tally = await uow.tallies.get_or_none("orders")
        return 0 if tally is None else tally.count


async def count_orders(event: OrderPlaced, uow: Shop) -> None:
    async with uow:
        tally = await uow.tallies.get_or_none("orders")
        if tally is None:
            tally = Tally(id="orders")
            await uow.tallies.add(tally)
        tally.count += 1
        await uow.commit()


async def notify_customer(event: DomainEvent, uow: Shop, *, outbox: list[str]) -> None:
    match event:
        case OrderPlaced(order_id=order_id, customer=customer):
            outbox.append(f"{customer}: {order_id} placed")
        case LineAdded(order_id=order_id, customer=customer, items=items):
            outbox.append(f"{customer}: {order_id} has {items} items")


# --8<-- [start:middleware]
class Timing:
    """Middleware: one line per handler run, and each handler's durations (metrics)."""

    def __init__(self) -> None:
        self.durations: defaultdict[str, list[float]] = defaultdict(list)

    async def __call__(self, call: HandlerCall, call_next: Next) -> object:
        name = type(call.message).__name__
        print(f"{call.kind} {name} -> {call.handler} (attempt {call.attempt})")
        start = time.perf_counter()
        try:
            return await call_next()
        except Exception as error:
            print(f"  {call.handler} raised {type(error).__name__}")
            raise
        finally:
            self.durations[call.handler].append(time.perf_counter() - start)


class Idempotent:
    """Middleware: a command with a ``request_id`` already handled gets its stored result.

    A real application keeps the keys in the database, in the handler's unit of work; a dict
    shows the idea.
    """

    def __init__(self) -> None:
        self.results: dict[str, object] = {}

    async def __call__(self, call: HandlerCall, call_next: Next) -> object:
        key = getattr(call.message, "request_id", None)
        if call.kind != "command" or key is None:
            return await call_next()
        if key in self.results:
            print(f"  {key} was already handled: the stored result, {self.results[key]!r}")
            return self.results[key]
        result = await call_next()
        self.results[key] = result  # only once the handler succeeded
        return result


# --8<-- [end:middleware]


class OtherRequest:
    """Another request that changes the same order between a read and its commit, once."""

    def __init__(self, new_uow: UnitOfWorkFactory[Shop]) -> None:
        self.new_uow = new_uow
        self.done = False

    async def __call__(self, order_id: str) -> None:
        if self.done:
            return
        self.done = True
        async with self.new_uow() as uow:
            (await uow.orders.get(order_id)).gift_wrap = True
            await uow.commit()


# -- composition root and a session -------------------------------------------------------------


# --8<-- [start:bootstrap]
def bootstrap(
    new_uow: UnitOfWorkFactory[Shop], outbox: list[str], timing: Timing
) -> MessageBus[Shop]:
    bus = MessageBus(new_uow, middleware=[timing, Idempotent()])  # timing is the outermost
    bus.register(PlaceOrder, place_order)
    bus.register(AddLine, add_line, meanwhile=OtherRequest(new_uow))
    bus.register(OrdersPlaced, orders_placed)
    bus.subscribe(OrderPlaced, count_orders)
    bus.subscribe(DomainEvent, notify_customer, outbox=outbox)  # every event
    return bus


# --8<-- [end:bootstrap]


async def session(new_uow: UnitOfWorkFactory[Shop]) -> None:
    outbox: list[str] = []
    timing = Timing()
    bus = bootstrap(new_uow, outbox, timing)
    await bus.handle(PlaceOrder(request_id="r-1", order_id="order-1", customer="ada", items=1))
    # The client timed out and sends the same request again: no second order.
    again = await bus.handle(
        PlaceOrder(request_id="r-1", order_id="order-1", customer="ada", items=1)
    )
    print(f"the repeat answered {again!r}; orders placed: {await bus.ask(OrdersPlaced())}")
    print(f"added a line: {await bus.handle(AddLine(order_id='order-1', items=2))} items")
    async with new_uow() as uow:
        order = await uow.orders.get("order-1")
        print(f"order-1: {order.items} items, gift wrap {order.gift_wrap}, version {order.version}")
    print(f"outbox: {outbox}")
    runs = sum(map(len, timing.durations.values()))
    print(f"timed {runs} handler runs of {len(timing.durations)} handlers")


mapping = Mapping()
mapping.map(
    Order,
    sa.Table(
        "orders",
        mapping.metadata,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("customer", sa.String, nullable=False),
        sa.Column("items", sa.Integer, nullable=False),
        sa.Column("gift_wrap", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    ),
)
mapping.map(
    Tally,
    sa.Table(
        "tallies",
        mapping.metadata,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    ),
)


async def main() -> None:
    print("memory:")
    await session(InMemoryUnitOfWork.factory(Shop))
    print("duckdb:")
    with tempfile.TemporaryDirectory() as directory:
        async with Database(f"duckdb+async:///{Path(directory) / 'shop.duckdb'}") as database:
            await database.create_all(mapping.metadata)
            await session(SqlAlchemyUnitOfWork.factory(Shop, database=database, mapping=mapping))


if __name__ == "__main__":
    asyncio.run(main())
