"""Run the shop end to end on a DuckDB file in a temporary directory, and print a short report.

``python -m andamios._shop`` (add ``--memory`` to run the same code on the memory adapter);
``andamios demo`` runs the same scenario on a schema made by migrations. The scenario is an
entry point like a web handler or a CLI command would be: dependency-injector injects the bus
and the outbox into it (``@inject``, ``Provide[...]``).
"""

from __future__ import annotations

import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from dependency_injector.wiring import Provide, inject

import andamios
from andamios._shop.adapters.notifications import Outbox
from andamios._shop.application import (
    AddProduct,
    GetOrder,
    PlaceOrder,
    Restock,
    ShopUnitOfWork,
    StockLevels,
)
from andamios._shop.bootstrap import ShopContainer
from andamios.application import MessageBus
from andamios.ports import UnitOfWorkFactory

__all__ = ["main", "scenario"]


@inject
async def scenario(
    bus: MessageBus[ShopUnitOfWork] = Provide[ShopContainer.persistence.bus],
    new_uow: UnitOfWorkFactory[ShopUnitOfWork] = Provide[ShopContainer.persistence.uow.provider],
    outbox: Outbox = Provide[ShopContainer.notifications],
) -> None:
    """Add two products, place three orders (one cannot be served), restock; print the outcome."""
    await bus.handle(
        AddProduct(sku="TEA-01", name="Green tea", price=Decimal("4.50"), stock=10, reorder_level=3)
    )
    await bus.handle(
        AddProduct(sku="POT-01", name="Teapot", price=Decimal("32.00"), stock=2, reorder_level=1)
    )
    orders = [
        await bus.handle(PlaceOrder(customer="alice", items={"TEA-01": 4, "POT-01": 1})),
        await bus.handle(PlaceOrder(customer="bob", items={"POT-01": 2})),
        await bus.handle(PlaceOrder(customer="carol", items={"TEA-01": 4})),
    ]
    await bus.handle(Restock(sku="POT-01", quantity=5))

    for order_id in orders:
        view = await bus.ask(GetOrder(order_id=order_id))
        detail = f"total {view.total}" if view.reason is None else view.reason
        print(f"order of {view.customer}: {view.status}, {detail}")
    stock = await bus.ask(StockLevels())
    print("stock: " + ", ".join(f"{sku}={units}" for sku, units in stock.items()))
    for to, message in outbox.sent:
        print(f"to {to}: {message}")
    async with new_uow() as uow:
        stored = f"{await uow.products.count()} products, {await uow.orders.count()} orders"
    print(f"stored: {stored}")


def main(argv: list[str]) -> None:
    """Run :func:`scenario` on a temporary DuckDB file, or in memory with ``--memory``."""
    container = ShopContainer()
    persistence: Any = container.persistence  # the nested PersistenceContainer
    with tempfile.TemporaryDirectory() as directory:
        if "--memory" in argv:
            persistence.config.adapter.from_value("memory")
            where = "in memory"
        else:
            path = Path(directory) / "shop.duckdb"
            persistence.config.from_dict(
                {
                    "adapter": "duckdb",
                    "database": {"url": f"duckdb+async:///{path}", "create_tables": True},
                }
            )
            where = f"on DuckDB, {path.name}"
        container.wire(modules=[sys.modules[__name__]])
        try:
            print(f"shop {where}")
            andamios.run(scenario(), container=container)
        finally:
            container.unwire()
