"""``andamios.testing.factories`` on the in-memory adapter: pure builds, creates through a unit of
work that the caller commits, one ``add_many`` per batch, and factory-boy's declarations.

The same creates on DuckDB: ``tests/integration/duckdb/test_factories.py``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, assert_type, cast
from uuid import UUID

import factory
import factory.random
import pytest
from tests.unit.testing._factory_domain import (
    FACTORIES,
    Calls,
    Customer,
    CustomerFactory,
    Money,
    MoneyFactory,
    Order,
    OrderFactory,
    OrderLine,
    OrderLineFactory,
    Product,
    ProductFactory,
    ProductStocked,
    Shop,
    StockedProductFactory,
    Tally,
    TallyFactory,
)

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.domain import AggregateRoot
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import MappingError, UnitOfWorkError
from andamios.testing.factories import AggregateFactory, EntityFactory, ValueObjectFactory


@pytest.fixture(autouse=True)
def _fresh_sequences() -> None:
    for each in FACTORIES:
        each.reset_sequence()


@pytest.fixture
def new_uow() -> UnitOfWorkFactory[Shop]:
    return InMemoryUnitOfWork.factory(Shop)


# -- build: pure aggregates ---------------------------------------------------------------------


def test_build_gives_a_pure_aggregate_with_its_declarations() -> None:
    product = ProductFactory.build()
    assert_type(product, Product)
    assert type(product) is Product
    assert product.sku == "SKU-0000"  # a sequence
    assert product.label == f"SKU-0000 {product.name}"  # a lazy attribute
    assert isinstance(product.name, str)
    assert product.name  # faker
    assert isinstance(product.price, Money)  # a value object from a sub-factory
    assert product.price.currency == "EUR"
    assert isinstance(product.price.amount, Decimal)
    assert product.price.amount > 0
    assert product.version == 0
    assert product.pending_events == ()


def test_build_leaves_the_id_to_the_aggregate_unless_asked() -> None:
    first, second = ProductFactory.build_batch(2)
    assert isinstance(first.id, UUID)
    assert first.id.version == 7
    assert first.id < second.id  # new UUIDv7s, in creation order
    known = UUID("01890000-0000-7000-8000-000000000001")
    assert ProductFactory.build(id=known).id == known
    assert [tally.id for tally in TallyFactory.build_batch(3)] == [1, 2, 3]  # a declared id


def test_build_batch_and_calling_the_factory_build() -> None:
    batch = ProductFactory.build_batch(3)
    assert_type(batch, list[Product])
    assert [product.sku for product in batch] == ["SKU-0000", "SKU-0001", "SKU-0002"]
    assert len({product.id for product in batch}) == 3
    called = cast("Any", ProductFactory)()  # factory-boy's call is untyped: prefer build()
    assert type(called) is Product
    assert called.sku == "SKU-0003"


def test_overrides_reach_fields_and_sub_factories() -> None:
    product = ProductFactory.build(name="Tea", price__amount=Decimal("4.50"))
    assert product.name == "Tea"
    assert product.label == "SKU-0000 Tea"
    assert product.price == Money(Decimal("4.50"))
    assert ProductFactory.build(price=Money(Decimal(1), "USD")).price.currency == "USD"


def test_children_come_from_a_list_of_sub_factories() -> None:
    order = OrderFactory.build()
    assert [type(line) for line in order.lines] == [OrderLine, OrderLine]
    assert [line.position for line in order.lines] == [1, 2]
    assert [line.sku for line in order.lines] == ["LINE-0000", "LINE-0001"]
    assert all(1 <= line.quantity <= 9 for line in order.lines)
    assert order.lines[0].id != order.lines[1].id
    assert isinstance(order.customer_id, UUID)  # from an excluded sub-factory's aggregate
    assert not hasattr(order, "customer")
    assert OrderFactory.build(lines=[]).lines == []
    assert OrderFactory.build(lines__0__quantity=7).lines[0].quantity == 7


def test_a_lazy_attribute_sees_the_faker_values() -> None:
    customer = CustomerFactory.build()
    assert customer.email == f"{customer.name.split()[0].lower()}@example.com"
    assert CustomerFactory.build(name="Ada Lovelace").email == "ada@example.com"


def test_faker_values_repeat_after_reseeding_factory_boy_s_random() -> None:
    factory.random.reseed_random("andamios")
    first = [CustomerFactory.build().name for _ in range(3)]
    factory.random.reseed_random("andamios")
    assert [CustomerFactory.build().name for _ in range(3)] == first
    assert len(set(first)) > 1


def test_a_post_generation_hook_under_build_is_told_nothing_is_created() -> None:
    assert StockedProductFactory.build().pending_events == ()


def test_entity_and_value_object_factories_build_on_create() -> None:
    line = OrderLineFactory.create()
    assert type(line) is OrderLine
    assert type(cast("Any", OrderLineFactory)()) is OrderLine
    assert [type(line) for line in OrderLineFactory.build_batch(2)] == [OrderLine, OrderLine]
    money = MoneyFactory.create(currency="USD")
    assert type(money) is Money
    assert money.currency == "USD"
    assert_type(MoneyFactory.build(), Money)
    assert_type(OrderLineFactory.build_batch(1), list[OrderLine])


def test_a_child_factory_refuses_a_unit_of_work(new_uow: UnitOfWorkFactory[Shop]) -> None:
    with pytest.raises(TypeError, match=r"OrderLine is stored with its aggregate.*SubFactory"):
        OrderLineFactory.create(uow=new_uow())
    with pytest.raises(TypeError, match=r"Money is stored with its aggregate"):
        MoneyFactory.build(uow=new_uow())


# -- create: stored through the caller's unit of work -------------------------------------------


async def test_create_adds_the_aggregate_and_the_caller_commits(
    new_uow: UnitOfWorkFactory[Shop],
) -> None:
    async with new_uow() as uow:
        calls = Calls(uow.products)
        product = await ProductFactory.create(uow=uow, name="Tea")
        assert_type(product, Product)
        assert calls.add == [product]
        assert calls.add_many == []
        assert await uow.products.get(product.id) is product  # visible to this unit of work
        assert product.version == 0
        async with new_uow() as other:
            assert await other.products.count() == 0  # not committed: not stored
        await uow.commit()
    assert product.version == 1
    async with new_uow() as uow:
        stored = await uow.products.get(product.id)
        assert (stored.sku, stored.name, stored.price) == ("SKU-0000", "Tea", product.price)


async def test_nothing_created_is_stored_when_the_caller_does_not_commit(
    new_uow: UnitOfWorkFactory[Shop],
) -> None:
    async with new_uow() as uow:
        await ProductFactory.create(uow=uow)
        await ProductFactory.create_batch(3, uow=uow)
        await OrderFactory.create(uow=uow)
        assert await uow.products.count() == 4
    async with new_uow() as uow:
        await ProductFactory.create(uow=uow)
        await uow.rollback()
        assert await uow.products.count() == 0
    async with new_uow() as uow:
        assert [await uow.products.count(), await uow.orders.count()] == [0, 0]
        assert await uow.customers.count() == 0


async def test_create_batch_adds_every_aggregate_with_one_add_many(
    new_uow: UnitOfWorkFactory[Shop],
) -> None:
    async with new_uow() as uow:
        calls = Calls(uow.products)
        products = await ProductFactory.create_batch(5, uow=uow, name="Tea")
        assert_type(products, list[Product])
        assert calls.add_many == [products]
        assert calls.add == []
        assert [p.sku for p in products] == [f"SKU-{n:04d}" for n in range(5)]
        assert {p.name for p in products} == {"Tea"}
        one = await ProductFactory.create_batch(1, uow=uow)
        assert calls.add_many[1] == one  # a batch of one is a batch too
        assert await ProductFactory.create_batch(0, uow=uow) == []
        assert len(calls.add_many) == 2
        await uow.commit()
    async with new_uow() as uow:
        assert await uow.products.count() == 6
        assert {p.version for p in await uow.products.find()} == {1}


async def test_an_aggregate_is_created_with_its_children_and_the_aggregates_it_refers_to(
    new_uow: UnitOfWorkFactory[Shop],
) -> None:
    async with new_uow() as uow:
        customers, orders = Calls(uow.customers), Calls(uow.orders)
        order = await OrderFactory.create(uow=uow)
        assert len(customers.add) == 1  # the sub-factory's customer, stored first
        assert orders.add == [order]
        batch = await OrderFactory.create_batch(3, uow=uow, lines__0__sku="TEA-01")
        assert [len(each) for each in customers.add_many] == [3]  # one add_many per type
        assert orders.add_many == [batch]
        await uow.commit()
    async with new_uow() as uow:
        loaded = await uow.orders.get(order.id)
        customer = await uow.customers.get(loaded.customer_id)
        assert customer.email.endswith("@example.com")
        assert [(line.position, line.sku) for line in loaded.lines] == [
            (1, "LINE-0000"),
            (2, "LINE-0001"),
        ]
        assert await uow.customers.count() == 4
        assert [
            line.sku
            for each in await uow.orders.find()
            for line in each.lines
            if line.position == 1
        ].count("TEA-01") == 3


async def test_a_related_factory_s_aggregate_is_created_after_the_one_it_refers_to(
    new_uow: UnitOfWorkFactory[Shop],
) -> None:
    class CustomerWithAnOrderFactory(CustomerFactory):
        order = factory.RelatedFactory(OrderFactory, factory_related_name="customer")

    async with new_uow() as uow:
        customers, orders = Calls(uow.customers), Calls(uow.orders)
        customer = await CustomerWithAnOrderFactory.create(uow=uow)
        assert customers.add == [customer]
        (order,) = orders.add
        assert order.customer_id == customer.id
        built = CustomerWithAnOrderFactory.build()  # the related order is built, not stored
        assert await uow.orders.count() == 1
        assert await uow.customers.get_or_none(built.id) is None


async def test_a_post_generation_hook_sees_create_and_its_changes_are_stored(
    new_uow: UnitOfWorkFactory[Shop],
) -> None:
    async with new_uow() as uow:
        product = await StockedProductFactory.create(uow=uow)
        await StockedProductFactory.create_batch(2, uow=uow)
        await uow.commit()
    events = list(uow.collect_events())
    assert [type(event) for event in events] == [ProductStocked] * 3
    assert isinstance(events[0], ProductStocked)
    assert events[0].sku == product.sku


async def test_an_integer_id_from_a_sequence_is_stored_as_declared(
    new_uow: UnitOfWorkFactory[Shop],
) -> None:
    async with new_uow() as uow:
        assert [t.id for t in await TallyFactory.create_batch(2, uow=uow)] == [1, 2]
        assert (await TallyFactory.create(uow=uow, id=10, count=3)).id == 10
        await uow.commit()
    async with new_uow() as uow:
        assert (await uow.tallies.get(10)).count == 3


async def test_a_subclass_of_a_declared_aggregate_goes_to_its_repository() -> None:
    class Gift(Product):
        pass

    class GiftFactory(ProductFactory):
        class Meta:
            model = Gift

    new_uow = InMemoryUnitOfWork.factory(Shop)
    async with new_uow() as uow:
        gift = await GiftFactory.create(uow=uow)
        assert type(gift) is Gift
        assert await uow.products.get(gift.id) is gift


# -- errors: clear, and before anything is built or added ---------------------------------------


async def test_create_needs_an_open_unit_of_work(new_uow: UnitOfWorkFactory[Shop]) -> None:
    uow = new_uow()
    with pytest.raises(UnitOfWorkError, match=r"not open: call ProductFactory.create inside"):
        await ProductFactory.create(uow=uow)
    async with uow:
        pass
    with pytest.raises(UnitOfWorkError, match=r"has ended: create ProductFactory aggregates in"):
        await ProductFactory.create_batch(2, uow=uow)
    assert ProductFactory.build().sku == "SKU-0000"  # no sequence number was used


async def test_create_takes_a_unit_of_work_only() -> None:
    create: Callable[..., Awaitable[Product]] = ProductFactory.create
    with pytest.raises(TypeError, match=r"ProductFactory.create takes a unit of work as uow="):
        await create(uow="shop")
    with pytest.raises(TypeError, match="uow"):
        await create()


class Catalogue(UnitOfWork):
    products: Repository[Product, UUID]
    orders: Repository[Order, UUID]


class Empty(UnitOfWork):
    pass


async def test_an_aggregate_type_the_shape_does_not_declare_is_refused() -> None:
    async with InMemoryUnitOfWork.factory(Catalogue)() as uow:
        with pytest.raises(MappingError) as refused:
            await CustomerFactory.create(uow=uow)
        message = str(refused.value)
        assert "InMemoryUnitOfWork[Catalogue] has no repository for Customer" in message
        assert "(products: Product, orders: Order)" in message
        assert "CustomerFactory.create cannot store it" in message
        assert "'customers: Repository[Customer, UUID]'" in message
        with pytest.raises(MappingError, match=r"no repository for Customer.*OrderFactory"):
            await OrderFactory.create_batch(2, uow=uow)  # its customers have nowhere to go
        assert await uow.orders.count() == 0  # nothing was added
    async with InMemoryUnitOfWork.factory(Empty)() as empty:
        with pytest.raises(MappingError, match=r"no repository for Product \(none declared\)"):
            await ProductFactory.create(uow=empty)
        with pytest.raises(MappingError, match=r"e\.g\. 'tallys: Repository\[Tally, int\]'"):
            await TallyFactory.create(uow=empty)

        @dataclass(eq=False, kw_only=True)
        class Anything(AggregateRoot):  # type: ignore[type-arg]  # no id type named
            pass

        class AnythingFactory(AggregateFactory[Any]):
            class Meta:
                model = Anything

        with pytest.raises(MappingError, match=r"Repository\[Anything, IdType\]'"):
            await AnythingFactory.create(uow=empty)


async def test_a_read_only_unit_of_work_refuses_what_a_factory_creates() -> None:
    async with InMemoryUnitOfWork.factory(Shop, read_only=True)() as uow:
        with pytest.raises(UnitOfWorkError, match="read-only: add is refused"):
            await ProductFactory.create(uow=uow)
        with pytest.raises(UnitOfWorkError, match="read-only: add_many is refused"):
            await ProductFactory.create_batch(2, uow=uow)


def test_factory_boy_s_synchronous_create_strategy_is_refused_for_aggregates() -> None:
    class Holder(factory.DictFactory):  # a plain factory-boy factory: create is synchronous
        product = factory.SubFactory(ProductFactory)

    with pytest.raises(TypeError, match=r"'await ProductFactory.create\(uow=uow\)' inside"):
        Holder.create()
    assert isinstance(Holder.build()["product"], Product)


async def test_a_failing_declaration_leaves_no_create_running(
    new_uow: UnitOfWorkFactory[Shop],
) -> None:
    def fail(product: Any) -> str:
        raise LookupError("no label")

    async with new_uow() as uow:
        with pytest.raises(LookupError, match="no label"):
            await ProductFactory.create(uow=uow, label=factory.LazyAttribute(fail))
        assert await uow.products.count() == 0
    with pytest.raises(TypeError, match="asynchronously"):
        ProductFactory._create(Product, sku="x")


@pytest.mark.parametrize(
    ("base", "model", "expected"),
    [
        (AggregateFactory, OrderLine, "an AggregateRoot subclass (use EntityFactory"),
        (AggregateFactory, Money, "an AggregateRoot subclass"),
        (EntityFactory, Product, "an Entity subclass that is not an aggregate (use Aggregate"),
        (EntityFactory, Money, "an Entity subclass"),
        (ValueObjectFactory, Customer, "a ValueObject subclass (a plain factory.Factory"),
        (AggregateFactory, "Product", "an AggregateRoot subclass"),
    ],
)
def test_a_model_of_the_wrong_kind_is_refused_when_declared(
    base: type, model: object, expected: str
) -> None:
    with pytest.raises(TypeError) as refused:
        type("WrongFactory", (base,), {"Meta": type("Meta", (), {"model": model})})
    shown = model.__name__ if isinstance(model, type) else repr(model)
    assert str(refused.value).startswith(f"WrongFactory.Meta.model must be {expected}")
    assert str(refused.value).endswith(f", got {shown}")


def test_the_bases_and_a_user_s_own_abstract_base_are_abstract() -> None:
    with pytest.raises(factory.FactoryError, match="abstract factory AggregateFactory"):
        AggregateFactory.build()

    class ShopFactory(AggregateFactory[Any]):  # a user's base, with the shop's defaults
        class Meta:
            abstract = True

    class TallyFromTenFactory(ShopFactory):
        class Meta:
            model = Tally

        id = factory.Sequence(lambda n: n + 10)

    with pytest.raises(factory.FactoryError, match="abstract factory ShopFactory"):
        ShopFactory.build()
    assert TallyFromTenFactory.build().id == 10
    assert OrderFactory._meta.model is Order


# -- without factory-boy ------------------------------------------------------------------------


@pytest.mark.parametrize("module", ["factory", "faker"])
def test_the_module_without_factory_boy_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, module: str
) -> None:
    for name in list(sys.modules):
        if name in {"factory", "faker", "andamios.testing.factories"} or name.startswith(
            ("factory.", "faker.")
        ):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'andamios\[testing\]'") as caught:
        importlib.import_module("andamios.testing.factories")
    assert caught.value.name == module
    assert f"builds on factory-boy, and {module} is not installed" in str(caught.value)
