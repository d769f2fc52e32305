"""The handlers: each opens its unit of work, changes aggregates, commits; events do the rest.

``PlaceOrder`` stores a placed order. Its ``OrderPlaced`` event reserves the stock, in a second
transaction over both aggregates, and confirms or rejects the order; ``OrderConfirmed``,
``OrderRejected`` and ``StockLow`` notify the customer and purchasing.
"""

from __future__ import annotations

from uuid import UUID

from andamios._shop.application.messages import (
    AddProduct,
    GetOrder,
    OrderView,
    PlaceOrder,
    Restock,
    StockLevels,
    UnknownProduct,
)
from andamios._shop.application.ports import Notifications, ShopUnitOfWork
from andamios._shop.domain import (
    Order,
    OrderConfirmed,
    OrderLine,
    OrderPlaced,
    OrderRejected,
    Product,
    StockLow,
)
from andamios.application import MessageBus
from andamios.domain import F

__all__ = [
    "add_product",
    "ask_purchasing",
    "get_order",
    "place_order",
    "register_handlers",
    "reserve_stock",
    "restock",
    "stock_levels",
    "tell_customer_confirmed",
    "tell_customer_rejected",
]


async def add_product(command: AddProduct, uow: ShopUnitOfWork) -> None:
    """Store a new product."""
    async with uow:
        product = Product(
            id=command.sku,
            name=command.name,
            price=command.price,
            stock=command.stock,
            reorder_level=command.reorder_level,
        )
        await uow.products.add(product)
        await uow.commit()


async def restock(command: Restock, uow: ShopUnitOfWork) -> int:
    """Add units to a product's stock; return the new stock."""
    async with uow:
        product = await uow.products.get(command.sku)
        product.restock(command.quantity)
        await uow.commit()
    return product.stock


async def place_order(command: PlaceOrder, uow: ShopUnitOfWork) -> UUID:
    """Store a placed order for known products; return its id."""
    async with uow:
        skus = sorted(command.items)
        products = {p.id: p for p in await uow.products.find(F("id").in_(skus))}
        unknown = [sku for sku in skus if sku not in products]
        if unknown:
            raise UnknownProduct(f"no such product: {', '.join(unknown)}")
        order = Order.place(
            command.customer,
            (OrderLine(sku, command.items[sku], products[sku].price) for sku in skus),
        )
        await uow.orders.add(order)
        await uow.commit()
    return order.id


async def reserve_stock(event: OrderPlaced, uow: ShopUnitOfWork) -> None:
    """Reserve every line of the order, or none: one transaction over both aggregates."""
    async with uow:
        order = await uow.orders.get(event.order_id)
        products = {line.sku: await uow.products.get(line.sku) for line in order.lines}
        shortages = [products[line.sku].shortage(line.quantity) for line in order.lines]
        reasons = [reason for reason in shortages if reason is not None]
        if reasons:
            order.reject("; ".join(reasons))
        else:
            for line in order.lines:
                products[line.sku].reserve(line.quantity)
            order.confirm()
        await uow.commit()


async def tell_customer_confirmed(
    event: OrderConfirmed, uow: ShopUnitOfWork, *, notifications: Notifications
) -> None:
    """Tell the customer their order is confirmed, with its total."""
    await notifications.send(event.customer, f"order confirmed, total {event.total}")


async def tell_customer_rejected(
    event: OrderRejected, uow: ShopUnitOfWork, *, notifications: Notifications
) -> None:
    """Tell the customer why their order was rejected."""
    await notifications.send(event.customer, f"order rejected: {event.reason}")


async def ask_purchasing(
    event: StockLow, uow: ShopUnitOfWork, *, notifications: Notifications
) -> None:
    """Ask purchasing to reorder a product whose stock ran low."""
    await notifications.send("purchasing", f"reorder {event.sku}: {event.stock} left")


async def get_order(query: GetOrder, uow: ShopUnitOfWork) -> OrderView:
    """What the customer sees of an order."""
    async with uow:
        order = await uow.orders.get(query.order_id)
    return OrderView(order.id, order.customer, str(order.status), order.total, order.reason)


async def stock_levels(query: StockLevels, uow: ShopUnitOfWork) -> dict[str, int]:
    """The units in stock of every product, by SKU."""
    async with uow:
        return {p.id: p.stock for p in await uow.products.find(order_by=F("id"))}


def register_handlers(bus: MessageBus[ShopUnitOfWork], *, notifications: Notifications) -> None:
    """Register every handler of the shop; ``notifications`` is bound to those that notify."""
    bus.register(AddProduct, add_product)
    bus.register(Restock, restock)
    bus.register(PlaceOrder, place_order)
    bus.register(GetOrder, get_order)
    bus.register(StockLevels, stock_levels)
    bus.subscribe(OrderPlaced, reserve_stock)
    bus.subscribe(OrderConfirmed, tell_customer_confirmed, notifications=notifications)
    bus.subscribe(OrderRejected, tell_customer_rejected, notifications=notifications)
    bus.subscribe(StockLow, ask_purchasing, notifications=notifications)
