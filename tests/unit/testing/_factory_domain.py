"""A small shop, its factories and a repository spy, shared by the factory tests of every
adapter."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

import factory

from andamios.domain import AggregateRoot, DomainEvent, Entity, ValueObject
from andamios.ports import Repository, UnitOfWork
from andamios.testing.factories import AggregateFactory, EntityFactory, ValueObjectFactory


@dataclass(frozen=True)
class Money(ValueObject):
    amount: Decimal
    currency: str = "EUR"


@dataclass(frozen=True, kw_only=True)
class ProductStocked(DomainEvent):
    sku: str


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[UUID]):
    sku: str
    name: str
    label: str
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


@dataclass(eq=False, kw_only=True)
class Tally(AggregateRoot[int]):
    count: int = 0


class Shop(UnitOfWork):
    products: Repository[Product, UUID]
    customers: Repository[Customer, UUID]
    orders: Repository[Order, UUID]
    tallies: Repository[Tally, int]


class MoneyFactory(ValueObjectFactory[Money]):
    class Meta:
        model = Money

    amount = factory.Faker("pydecimal", left_digits=3, right_digits=2, positive=True)


class ProductFactory(AggregateFactory[Product]):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:04d}")
    name = factory.Faker("word")
    label = factory.LazyAttribute(lambda product: f"{product.sku} {product.name}")
    price = factory.SubFactory(MoneyFactory)


def _stocked(product: Product, create: bool, extracted: Any, **kwargs: Any) -> None:
    if create:
        product.record(ProductStocked(sku=product.sku))


class StockedProductFactory(ProductFactory):
    """Records an event after it is generated when it is created (a post-generation hook)."""

    stocked = factory.PostGeneration(_stocked)


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
    sku = factory.Sequence(lambda n: f"LINE-{n:04d}")
    quantity = factory.Faker("pyint", min_value=1, max_value=9)


class OrderFactory(AggregateFactory[Order]):
    """An order of a new customer (stored first by ``create``) with two lines."""

    class Meta:
        model = Order
        exclude = ("customer",)

    customer = factory.SubFactory(CustomerFactory)
    customer_id = factory.SelfAttribute("customer.id")
    lines = factory.List(
        [factory.SubFactory(OrderLineFactory, position=position) for position in (1, 2)]
    )


class TallyFactory(AggregateFactory[Tally]):
    class Meta:
        model = Tally

    id = factory.Sequence(lambda n: n + 1)


FACTORIES = (ProductFactory, CustomerFactory, OrderLineFactory, OrderFactory, TallyFactory)


class Calls:
    """Records the calls of a repository's ``add`` and ``add_many`` (then makes them)."""

    def __init__(self, repository: Repository[Any, Any]) -> None:
        self.add: list[Any] = []
        self.add_many: list[list[Any]] = []
        add, add_many = repository.add, repository.add_many

        async def record_add(aggregate: Any) -> None:
            self.add.append(aggregate)
            await add(aggregate)

        async def record_add_many(aggregates: Any) -> None:
            self.add_many.append(list(aggregates))
            await add_many(aggregates)

        repository.add = record_add  # type: ignore[method-assign]
        repository.add_many = record_add_many  # type: ignore[method-assign]
