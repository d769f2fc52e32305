"""The shop's domain on its own: plain objects, no unit of work, no adapter."""

from __future__ import annotations

from decimal import Decimal

import pytest

from andamios._shop.domain import (
    Order,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    OrderRejected,
    OrderStatus,
    OutOfStock,
    Product,
    StockLow,
)


def tea(stock: int = 5, reorder_level: int = 2) -> Product:
    return Product(
        id="TEA-01",
        name="Green tea",
        price=Decimal("4.50"),
        stock=stock,
        reorder_level=reorder_level,
    )


def test_reserving_stock_records_stock_low_once_when_crossing_the_level() -> None:
    product = tea()
    product.reserve(2)
    assert product.stock == 3
    assert product.pull_events() == []
    product.reserve(1)
    product.reserve(1)
    [event] = product.pull_events()
    assert isinstance(event, StockLow)
    assert (event.sku, event.stock) == ("TEA-01", 2)


def test_a_product_never_sells_what_it_does_not_have() -> None:
    product = tea(stock=1)
    assert product.shortage(1) is None
    assert product.shortage(2) == "not enough TEA-01: 1 left, 2 wanted"
    with pytest.raises(OutOfStock, match="1 left, 2 wanted"):
        product.reserve(2)
    assert product.stock == 1
    product.restock(4)
    assert product.stock == 5


def test_an_order_is_placed_then_settled_once() -> None:
    line = OrderLine("TEA-01", 3, Decimal("4.50"))
    assert line.subtotal == Decimal("13.50")
    order = Order.place("ada", [line, OrderLine("POT-01", 1, Decimal("32.00"))])
    assert (order.status, order.total) == (OrderStatus.PLACED, Decimal("45.50"))
    order.confirm()
    assert order.status == OrderStatus.CONFIRMED
    assert [type(e) for e in order.pull_events()] == [OrderPlaced, OrderConfirmed]
    with pytest.raises(ValueError, match="already confirmed"):
        order.reject("too late")


def test_a_rejected_order_keeps_its_reason() -> None:
    order = Order.place("bo", [OrderLine("TEA-01", 1, Decimal("4.50"))])
    order.reject("not enough TEA-01")
    assert (order.status, order.reason) == (OrderStatus.REJECTED, "not enough TEA-01")
    assert isinstance(order.pull_events()[-1], OrderRejected)


def test_an_order_needs_a_line() -> None:
    with pytest.raises(ValueError, match="at least one line"):
        Order.place("cy", [])
