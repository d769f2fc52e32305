"""A CQRS read model: an event handler keeps a view, a query reads it, on every adapter.

The write side places orders (an ``Order`` aggregate records ``OrderPlaced``). The read side
keeps ``CustomerView`` rows, one per customer, up to date from those events in its own unit of
work (the bus runs the handler after the order's commit), and answers ``TopCustomers`` with a
:class:`~andamios.domain.ReadQuery` over the view: typed rows, filtered, ordered, limited. A
second query, ``SalesBySku``, reads the write side directly: a join of the orders' lines and a
group. Neither handler imports a database; the composition root runs the same application on
the in-memory adapter and on a DuckDB file, and both print the same lines.

Run it with ``uv run python examples/intermediate/15_cqrs_read_model.py``.

It prints::

    memory:
    placed 5 orders for 3 customers
    top customers: ada 3 orders 38.00, cy 1 orders 30.00
    sales by sku: POT-01 5 in 3 orders, TEA-01 4 in 2 orders, CUP-01 2 in 1 orders
    the view after a failed order: ada 3 orders 38.00 (unchanged)
    duckdb:
    placed 5 orders for 3 customers
    top customers: ada 3 orders 38.00, cy 1 orders 30.00
    sales by sku: POT-01 5 in 3 orders, TEA-01 4 in 2 orders, CUP-01 2 in 1 orders
    the view after a failed order: ada 3 orders 38.00 (unchanged)
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import sqlalchemy as sa

from andamios.adapters.duckdb import Database
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Child, Mapping, SqlAlchemyUnitOfWork
from andamios.application import Command, MessageBus, Query
from andamios.domain import AggregateRoot, Count, DomainEvent, Entity, F, ReadQuery, Sum
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory

# -- write side: the domain ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OrderPlaced(DomainEvent):
    customer: str
    total: Decimal


@dataclass(eq=False, kw_only=True)
class Line(Entity[UUID]):
    sku: str
    quantity: int
    price: Decimal


@dataclass(eq=False, kw_only=True)
class Order(AggregateRoot[UUID]):
    customer: str
    lines: list[Line] = field(default_factory=list)

    @classmethod
    def place(cls, customer: str, lines: list[tuple[str, int, Decimal]]) -> Order:
        if not lines:
            raise ValueError("an order needs at least one line")
        order = cls(
            customer=customer, lines=[Line(sku=s, quantity=q, price=p) for s, q, p in lines]
        )
        total = sum((line.price * line.quantity for line in order.lines), Decimal(0))
        order.record(OrderPlaced(customer=customer, total=total))
        return order


# -- read side: a view the events keep, one row per customer --------------------------------------


@dataclass(eq=False, kw_only=True)
class CustomerView(AggregateRoot[str]):  # the id is the customer
    orders: int = 0
    spent: Decimal = Decimal(0)


class Shop(UnitOfWork):
    orders: Repository[Order, UUID]
    customers: Repository[CustomerView, str]


# -- application: messages and handlers ---------------------------------------------------------


class PlaceOrder(Command):
    customer: str
    lines: list[tuple[str, int, Decimal]]


@dataclass(frozen=True)
class TopCustomer:
    customer: str
    orders: int
    spent: Decimal


class TopCustomers(Query[list[TopCustomer]]):
    at_least: Decimal
    limit: int = 2


@dataclass(frozen=True)
class SkuSales:
    sku: str
    units: int
    orders: int


class SalesBySku(Query[list[SkuSales]]):
    pass


async def place_order(command: PlaceOrder, uow: Shop) -> None:
    async with uow:
        await uow.orders.add(Order.place(command.customer, command.lines))
        await uow.commit()


async def update_customer_view(event: OrderPlaced, uow: Shop) -> None:
    async with uow:
        view = await uow.customers.get_or_none(event.customer)
        if view is None:
            view = CustomerView(id=event.customer)
            await uow.customers.add(view)
        view.orders += 1
        view.spent += event.total
        await uow.commit()


async def top_customers(query: TopCustomers, uow: Shop) -> list[TopCustomer]:
    read = (
        ReadQuery(CustomerView)
        .where(F("spent") >= query.at_least)
        .select(customer=F("id"), orders=F("orders"), spent=F("spent"))
        .order_by([F("spent").desc(), "customer"])
        .limit(query.limit)
        .into(TopCustomer)
    )
    async with uow:
        return await uow.query(read)


async def sales_by_sku(query: SalesBySku, uow: Shop) -> list[SkuSales]:
    read = (
        ReadQuery(Order)
        .join("order.lines", name="line")
        .group_by("line.sku")
        .select("line.sku", units=Sum("line.quantity"), orders=Count("order.id", distinct=True))
        .order_by([F("orders").desc(), "sku"])
        .into(SkuSales)
    )
    async with uow:
        return await uow.query(read)


def bootstrap(new_uow: UnitOfWorkFactory[Shop]) -> MessageBus[Shop]:
    bus = MessageBus(new_uow)
    bus.register(PlaceOrder, place_order)
    bus.subscribe(OrderPlaced, update_customer_view)
    bus.register(TopCustomers, top_customers)
    bus.register(SalesBySku, sales_by_sku)
    return bus


async def session(new_uow: UnitOfWorkFactory[Shop]) -> None:
    bus = bootstrap(new_uow)
    tea, pot, cup = Decimal("4.50"), Decimal("10.00"), Decimal("3.00")
    placed = [
        ("ada", [("TEA-01", 2, tea), ("POT-01", 1, pot)]),
        ("bo", [("CUP-01", 2, cup)]),
        ("ada", [("POT-01", 1, pot)]),
        ("cy", [("POT-01", 3, pot)]),
        ("ada", [("TEA-01", 2, tea)]),
    ]
    for customer, lines in placed:
        await bus.handle(PlaceOrder(customer=customer, lines=lines))
    print(f"placed {len(placed)} orders for {len({c for c, _ in placed})} customers")
    top = await bus.ask(TopCustomers(at_least=Decimal(10)))
    print("top customers: " + ", ".join(f"{t.customer} {t.orders} orders {t.spent}" for t in top))
    sales = await bus.ask(SalesBySku())
    print("sales by sku: " + ", ".join(f"{s.sku} {s.units} in {s.orders} orders" for s in sales))
    try:
        await bus.handle(PlaceOrder(customer="ada", lines=[]))
    except ValueError:
        ada = (await bus.ask(TopCustomers(at_least=Decimal(0), limit=1)))[0]
        print(f"the view after a failed order: ada {ada.orders} orders {ada.spent} (unchanged)")


# -- adapters and the composition root ----------------------------------------------------------

mapping = Mapping()
mapping.map(
    Order,
    sa.Table(
        "orders",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("customer", sa.String, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    ),
    children={
        "lines": Child(
            Line,
            sa.Table(
                "order_lines",
                mapping.metadata,
                sa.Column("id", sa.Uuid, primary_key=True),
                sa.Column("order_id", sa.Uuid, sa.ForeignKey("orders.id"), nullable=False),
                sa.Column("sku", sa.String, nullable=False),
                sa.Column("quantity", sa.Integer, nullable=False),
                sa.Column("price", sa.Numeric(10, 2), nullable=False),
            ),
        )
    },
)
mapping.map(
    CustomerView,
    sa.Table(
        "customer_view",
        mapping.metadata,
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("orders", sa.Integer, nullable=False),
        sa.Column("spent", sa.Numeric(12, 2), nullable=False),
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
