"""Test data with factory-boy: factories for an aggregate, its children and a value object.

- ``ProductFactory.build()`` makes a pure aggregate: no unit of work, nothing stored.
- ``await OrderFactory.create(uow=uow)`` builds an order and adds it to the unit of work's
  ``orders`` repository (its customer, from a sub-factory, to ``customers``);
  ``await ProductFactory.create_batch(50, uow=uow)`` adds fifty products with one ``add_many``.
- A factory never commits: what it created is stored when the caller commits, and dropped when
  the block ends without a commit.
- Sequences, lazy attributes, sub-factories and ``factory.Faker`` work as in any factory-boy
  project; ids are left to the aggregates (new UUIDv7s) unless a test passes one.

It needs the ``testing`` extra (``pip install 'andamios[testing]'``). Run it with
``uv run python examples/intermediate/14_factories.py``: the same code runs on the in-memory
adapter and on an in-memory DuckDB database.

It prints::

    memory:
      built SKU-0000, version 0, a UUIDv7 id: 7
      created an order with 2 lines and 3 products, not committed
      after a block without commit: 0 products, 0 orders
      committed: 50 products, an order of [1:SKU-0002x1, 2:SKU-0003x5] v1
      and its customer, from a sub-factory: True
    duckdb:
      built SKU-0000, version 0, a UUIDv7 id: 7
      created an order with 2 lines and 3 products, not committed
      after a block without commit: 0 products, 0 orders
      committed: 50 products, an order of [1:SKU-0002x1, 2:SKU-0003x5] v1
      and its customer, from a sub-factory: True
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID

import factory
import factory.random
import sqlalchemy as sa

from andamios.adapters.duckdb import Database
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Child, JsonValue, Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, Entity, ValueObject
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.testing.factories import AggregateFactory, EntityFactory, ValueObjectFactory

# -- the domain and its unit-of-work shape -------------------------------------------------------


@dataclass(frozen=True)
class Money(ValueObject):
    amount: Decimal
    currency: str = "EUR"


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[UUID]):
    sku: str
    name: str
    price: Money


@dataclass(eq=False, kw_only=True)
class Customer(AggregateRoot[UUID]):
    name: str
    email: str


@dataclass(eq=False, kw_only=True)
class OrderLine(Entity[UUID]):
    position: int
    sku: str
    quantity: int


@dataclass(eq=False, kw_only=True)
class Order(AggregateRoot[UUID]):
    customer_id: UUID
    lines: list[OrderLine] = field(default_factory=list)


class Shop(UnitOfWork):
    products: Repository[Product, UUID]
    customers: Repository[Customer, UUID]
    orders: Repository[Order, UUID]


# -- the mapping (DuckDB) ------------------------------------------------------------------------

mapping = Mapping()
products = sa.Table(
    "products",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("sku", sa.String, nullable=False, unique=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("price", JsonValue(Money), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)
customers = sa.Table(
    "customers",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("email", sa.String, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)
orders = sa.Table(
    "orders",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("customer_id", sa.Uuid, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)
order_lines = sa.Table(
    "order_lines",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("order_id", sa.Uuid, sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("sku", sa.String, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
)
mapping.map(Product, products)
mapping.map(Customer, customers)
mapping.map(Order, orders, children={"lines": Child(OrderLine, order_lines, order_by="position")})


# -- the factories: what a test suite declares once ----------------------------------------------


class MoneyFactory(ValueObjectFactory[Money]):
    class Meta:
        model = Money

    amount = factory.Faker("pydecimal", left_digits=2, right_digits=2, positive=True)


class ProductFactory(AggregateFactory[Product]):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Faker("word")
    price = factory.SubFactory(MoneyFactory)


class CustomerFactory(AggregateFactory[Customer]):
    class Meta:
        model = Customer

    name = factory.Faker("name")
    email = factory.LazyAttribute(
        lambda customer: f"{customer.name.split()[0].lower()}@example.com"
    )


class OrderLineFactory(EntityFactory[OrderLine]):
    class Meta:
        model = OrderLine

    position = 1
    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    quantity = 1


class OrderFactory(AggregateFactory[Order]):
    class Meta:
        model = Order
        exclude = ("customer",)  # a sub-factory's aggregate, referred to by its id

    customer = factory.SubFactory(CustomerFactory)
    customer_id = factory.SelfAttribute("customer.id")
    lines = factory.List([factory.SubFactory(OrderLineFactory, position=p) for p in (1, 2)])


# -- a test's worth of use, on any adapter -------------------------------------------------------


async def main(new_uow: UnitOfWorkFactory[Shop]) -> None:
    for each in (ProductFactory, OrderLineFactory):
        each.reset_sequence()
    factory.random.reseed_random("andamios")  # the same faker values on every run

    product = ProductFactory.build()
    print(f"  built {product.sku}, version {product.version}, a UUIDv7 id: {product.id.version}")

    async with new_uow() as uow:
        order = await OrderFactory.create(uow=uow)
        await ProductFactory.create_batch(3, uow=uow)
        print(
            f"  created an order with {len(order.lines)} lines and {await uow.products.count()} "
            "products, not committed"
        )
    async with new_uow() as uow:
        counts = [await uow.products.count(), await uow.orders.count()]
        print(f"  after a block without commit: {counts[0]} products, {counts[1]} orders")

    async with new_uow() as uow:
        order = await OrderFactory.create(uow=uow, lines__1__quantity=5)
        await ProductFactory.create_batch(50, uow=uow)
        await uow.commit()
    async with new_uow() as uow:
        loaded = await uow.orders.get(order.id)
        customer = await uow.customers.get(loaded.customer_id)
        lines = ", ".join(f"{line.position}:{line.sku}x{line.quantity}" for line in loaded.lines)
        stored = await uow.products.count()
        print(f"  committed: {stored} products, an order of [{lines}] v{loaded.version}")
        print(f"  and its customer, from a sub-factory: {customer.email.endswith('@example.com')}")


async def run() -> None:
    print("memory:")
    await main(InMemoryUnitOfWork.factory(Shop))
    print("duckdb:")
    async with Database("duckdb+async:///:memory:") as database:
        await database.create_all(mapping.metadata)
        await main(SqlAlchemyUnitOfWork.factory(Shop, database=database, mapping=mapping))


if __name__ == "__main__":
    asyncio.run(run())
