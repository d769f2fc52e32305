"""The shop's use cases, through the message bus, on the memory adapter and on DuckDB alike."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError

from andamios._shop.adapters.notifications import Outbox
from andamios._shop.application import (
    AddProduct,
    GetOrder,
    PlaceOrder,
    Restock,
    ShopUnitOfWork,
    StockLevels,
    UnknownProduct,
)
from andamios._shop.domain import OrderStatus
from andamios.application import MessageBus
from andamios.ports.errors import DuplicateError, NotFound

type Bus = MessageBus[ShopUnitOfWork]


async def stock_up(bus: Bus) -> None:
    await bus.handle(
        AddProduct(sku="TEA-01", name="Green tea", price=Decimal("4.50"), stock=10, reorder_level=3)
    )
    await bus.handle(
        AddProduct(sku="POT-01", name="Teapot", price=Decimal("32.00"), stock=2, reorder_level=0)
    )


async def test_products_are_listed_with_their_stock(bus: Bus) -> None:
    await stock_up(bus)
    assert await bus.ask(StockLevels()) == {"POT-01": 2, "TEA-01": 10}


async def test_a_product_is_added_once(bus: Bus) -> None:
    await stock_up(bus)
    with pytest.raises(DuplicateError):
        await bus.handle(AddProduct(sku="TEA-01", name="Other tea", price=Decimal("1.00")))


async def test_an_order_in_stock_is_confirmed_and_reserves_stock(bus: Bus, outbox: Outbox) -> None:
    await stock_up(bus)
    order_id = await bus.handle(PlaceOrder(customer="ada", items={"TEA-01": 2, "POT-01": 1}))
    assert isinstance(order_id, UUID)
    view = await bus.ask(GetOrder(order_id=order_id))
    assert (view.id, view.customer, view.status) == (order_id, "ada", OrderStatus.CONFIRMED)
    assert view.total == Decimal("41.00")
    assert view.reason is None
    assert await bus.ask(StockLevels()) == {"POT-01": 1, "TEA-01": 8}
    assert outbox.to("ada") == ["order confirmed, total 41.00"]


async def test_an_order_short_of_stock_is_rejected_and_reserves_nothing(
    bus: Bus, outbox: Outbox
) -> None:
    await stock_up(bus)
    order_id = await bus.handle(PlaceOrder(customer="bo", items={"TEA-01": 1, "POT-01": 3}))
    view = await bus.ask(GetOrder(order_id=order_id))
    assert view.status == "rejected"
    assert view.reason == "not enough POT-01: 2 left, 3 wanted"
    assert view.total == Decimal("100.50")
    assert await bus.ask(StockLevels()) == {"POT-01": 2, "TEA-01": 10}
    assert outbox.to("bo") == ["order rejected: not enough POT-01: 2 left, 3 wanted"]


async def test_purchasing_hears_when_stock_falls_to_the_reorder_level(
    bus: Bus, outbox: Outbox
) -> None:
    await stock_up(bus)
    await bus.handle(PlaceOrder(customer="cy", items={"TEA-01": 6}))
    assert outbox.to("purchasing") == []
    await bus.handle(PlaceOrder(customer="cy", items={"TEA-01": 1}))
    await bus.handle(PlaceOrder(customer="cy", items={"TEA-01": 1}))  # already below: once
    assert outbox.to("purchasing") == ["reorder TEA-01: 3 left"]
    assert await bus.handle(Restock(sku="TEA-01", quantity=7)) == 9


async def test_an_unknown_product_is_refused_and_nothing_is_stored(bus: Bus, shop: Any) -> None:
    await stock_up(bus)
    with pytest.raises(UnknownProduct, match="no such product: CUP-01, CUP-02"):
        await bus.handle(PlaceOrder(customer="di", items={"CUP-02": 1, "TEA-01": 1, "CUP-01": 1}))
    async with shop.persistence.uow() as uow:
        assert await uow.orders.count() == 0
    with pytest.raises(NotFound):
        await bus.handle(Restock(sku="CUP-01", quantity=1))


async def test_two_customers_race_for_the_last_teapots(bus: Bus, outbox: Outbox) -> None:
    await stock_up(bus)
    first, second = await asyncio.gather(
        bus.handle(PlaceOrder(customer="eve", items={"POT-01": 2})),
        bus.handle(PlaceOrder(customer="fay", items={"POT-01": 2})),
    )
    statuses = sorted(
        [
            (await bus.ask(GetOrder(order_id=first))).status,
            (await bus.ask(GetOrder(order_id=second))).status,
        ]
    )
    assert statuses == ["confirmed", "rejected"]
    assert (await bus.ask(StockLevels()))["POT-01"] == 0
    assert sorted(to for to, _ in outbox.sent) == ["eve", "fay", "purchasing"]


async def test_invalid_commands_never_reach_the_shop(bus: Bus) -> None:
    with pytest.raises(ValidationError, match="items"):
        PlaceOrder(customer="gus", items={})
    with pytest.raises(ValidationError, match="quantity"):
        Restock(sku="TEA-01", quantity=0)
    with pytest.raises(ValidationError, match="price"):
        AddProduct(sku="X", name="x", price=Decimal("-1"))
    assert await bus.ask(StockLevels()) == {}
