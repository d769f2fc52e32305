"""The message bus: commands, a query, events that cause events, a failure, and a retry.

A shop sells tea. Selling below the reorder level raises ``StockLow``; its handler places a
reorder, which raises ``ReorderPlaced``; that one's handler notifies the supplier. Handlers are
plain async functions that get a fresh unit of work, and never import a database. Run it with
``uv run python examples/intermediate/08_message_bus.py``.
``...`` stands for what varies (event ids, times, the retry's delay) and the rest of a long
line.

It prints::

    sold 4, 6 left
    log: event handler update_dashboard failed on StockLow (the commit that raised it stands ...
    low stock: TEA-01 has 2 left -> reorder of 20 placed
    supplier notified: please send 20 TEA-01
    sold 4, 2 left
    stock of TEA-01: 2, outbox: 1
    log: sell_product lost a concurrent update (attempt 1 of 3); retrying in ...
    two concurrent sales: [0, 1] left
    invalid: quantity Input should be greater than 0
    refused: no handler is registered for ReturnProduct; register one with bus.register(...)
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from uuid import UUID

from pydantic import Field, ValidationError

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.application import Command, HandlerNotFound, MessageBus, Query
from andamios.domain import AggregateRoot, DomainEvent
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory

# -- domain ------------------------------------------------------------------------------------


# --8<-- [start:domain]
@dataclass(frozen=True, kw_only=True)
class StockLow(DomainEvent):
    sku: str
    stock: int


@dataclass(frozen=True, kw_only=True)
class ReorderPlaced(DomainEvent):
    sku: str
    quantity: int


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[str]):  # the id is the SKU
    name: str
    stock: int
    reorder_level: int = 3

    def sell(self, quantity: int) -> None:
        if quantity > self.stock:
            raise ValueError(f"only {self.stock} {self.name} left")
        before, self.stock = self.stock, self.stock - quantity
        if self.stock <= self.reorder_level < before:
            self.record(StockLow(sku=self.id, stock=self.stock))


@dataclass(eq=False, kw_only=True)
class Reorder(AggregateRoot[UUID]):
    sku: str
    quantity: int

    @classmethod
    def place(cls, sku: str, quantity: int) -> Reorder:
        reorder = cls(sku=sku, quantity=quantity)
        reorder.record(ReorderPlaced(sku=sku, quantity=quantity))
        return reorder


class Shop(UnitOfWork):
    products: Repository[Product, str]
    reorders: Repository[Reorder, UUID]


# --8<-- [end:domain]


# -- application: messages and handlers ---------------------------------------------------------


# --8<-- [start:messages]
class AddProduct(Command):  # Command alone: the handler returns nothing
    sku: str = Field(min_length=1)
    name: str
    stock: int = Field(ge=0)


class SellProduct(Command[int]):  # the handler returns the stock left
    sku: str
    quantity: int = Field(gt=0)


class ReturnProduct(Command):
    sku: str


class StockOf(Query[int]):
    sku: str


# --8<-- [end:messages]


# --8<-- [start:handlers]
async def add_product(command: AddProduct, uow: Shop) -> None:
    async with uow:
        await uow.products.add(Product(id=command.sku, name=command.name, stock=command.stock))
        await uow.commit()


async def sell_product(command: SellProduct, uow: Shop) -> int:
    async with uow:
        product = await uow.products.get(command.sku)
        product.sell(command.quantity)
        await uow.commit()
    return product.stock


async def stock_of(query: StockOf, uow: Shop) -> int:
    async with uow:
        return (await uow.products.get(query.sku)).stock


# --8<-- [end:handlers]


# --8<-- [start:event-handlers]
async def place_reorder(event: StockLow, uow: Shop, *, batch: int) -> None:
    async with uow:
        await uow.reorders.add(Reorder.place(event.sku, batch))
        await uow.commit()
    print(f"low stock: {event.sku} has {event.stock} left -> reorder of {batch} placed")


async def update_dashboard(event: StockLow, uow: Shop) -> None:
    raise ConnectionError("dashboard offline")


async def notify_supplier(event: ReorderPlaced, uow: Shop, *, outbox: list[str]) -> None:
    outbox.append(f"please send {event.quantity} {event.sku}")
    print(f"supplier notified: {outbox[-1]}")


# --8<-- [end:event-handlers]


class PrintLog(logging.Handler):
    """Shows the bus's log lines (retries, failed event handlers) without tracebacks."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"log: {record.getMessage()}")


# -- composition root and a session -------------------------------------------------------------


# --8<-- [start:bootstrap]
def bootstrap(new_uow: UnitOfWorkFactory[Shop], outbox: list[str]) -> MessageBus[Shop]:
    bus = MessageBus(new_uow)
    bus.register(AddProduct, add_product)
    bus.register(SellProduct, sell_product)
    bus.register(StockOf, stock_of)
    bus.subscribe(StockLow, update_dashboard)  # fails: logged, the others still run
    bus.subscribe(StockLow, place_reorder, batch=20)  # batch= is injected on every call
    bus.subscribe(ReorderPlaced, notify_supplier, outbox=outbox)
    return bus


# --8<-- [end:bootstrap]


async def main() -> None:
    logger = logging.getLogger("andamios.application")
    logger.addHandler(PrintLog())
    logger.setLevel(logging.INFO)
    logger.propagate = False

    outbox: list[str] = []
    bus = bootstrap(InMemoryUnitOfWork.factory(Shop), outbox)

    await bus.handle(AddProduct(sku="TEA-01", name="Green tea", stock=10))
    print(f"sold 4, {await bus.handle(SellProduct(sku='TEA-01', quantity=4))} left")
    print(f"sold 4, {await bus.handle(SellProduct(sku='TEA-01', quantity=4))} left")
    print(f"stock of TEA-01: {await bus.ask(StockOf(sku='TEA-01'))}, outbox: {len(outbox)}")

    # --8<-- [start:concurrent]
    # Two sales at once: both load version 3, one commits first, the other is retried.
    lefts = await asyncio.gather(
        bus.handle(SellProduct(sku="TEA-01", quantity=1)),
        bus.handle(SellProduct(sku="TEA-01", quantity=1)),
    )
    print(f"two concurrent sales: {sorted(lefts)} left")
    # --8<-- [end:concurrent]

    try:
        SellProduct(sku="TEA-01", quantity=0)
    except ValidationError as error:
        print(f"invalid: {error.errors()[0]['loc'][0]} {error.errors()[0]['msg']}")
    try:
        await bus.handle(ReturnProduct(sku="TEA-01"))
    except HandlerNotFound as error:
        print(f"refused: {error}")


if __name__ == "__main__":
    asyncio.run(main())
