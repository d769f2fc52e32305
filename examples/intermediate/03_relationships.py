"""Child entities inside an aggregate: an order and its lines (one-to-many) and its delivery note
(one-to-one), the same on DuckDB and in memory.

- The children are plain ``Entity`` dataclasses; the mapping puts each on its own table with
  ``children={"lines": Child(OrderLine, order_lines, order_by="position")}``.
- They load with the order, one query per child table (never lazily), are saved and removed with
  it, and a line taken out of the list is deleted (an orphan).
- A change to a child is a change of the aggregate: the order's version grows by one, so
  optimistic locking protects the whole aggregate.
- The child table declares its foreign key to the root (it defines the join), but DuckDB's DDL
  leaves it out: a foreign key would break the root's versioned ``UPDATE ... RETURNING``
  (see docs/adr/0009-rich-aggregates.md).

Run it with ``uv run python examples/intermediate/03_relationships.py``; ``--memory`` runs the
same code on the in-memory adapter.
On memory it prints the same lines but the last, which looks at DuckDB's table.

It prints::

    stored: [1:TEA-01x2, 2:POT-01x1] to 1 Loop Rd, v1
    loaded with its children: [1:TEA-01x2, 2:POT-01x1] to 1 Loop Rd, v1
    a child changed: [1:TEA-01x3, 2:POT-01x1] to 1 Loop Rd, v2
    lines replaced: [2:POT-01x1, 3:CUP-01x4] to 2 Fold St, v3
    a concurrent change to a child: ConcurrencyError
    orders after remove: 0
    order lines left in the table: 0
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass, field
from uuid import UUID

import sqlalchemy as sa

from andamios.adapters.duckdb import Database
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Child, Mapping, SqlAlchemyUnitOfWork
from andamios.domain import AggregateRoot, Entity
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import ConcurrencyError


# --8<-- [start:domain]
@dataclass(eq=False, kw_only=True)
class OrderLine(Entity[UUID]):
    position: int
    sku: str
    quantity: int


@dataclass(eq=False, kw_only=True)
class Delivery(Entity[UUID]):
    address: str


@dataclass(eq=False, kw_only=True)
class Order(AggregateRoot[UUID]):
    customer: str
    lines: list[OrderLine] = field(default_factory=list)
    delivery: Delivery | None = None

    def add_line(self, sku: str, quantity: int) -> None:
        position = max((line.position for line in self.lines), default=0) + 1
        self.lines.append(OrderLine(position=position, sku=sku, quantity=quantity))

    def remove_line(self, sku: str) -> None:
        self.lines = [line for line in self.lines if line.sku != sku]


class Shop(UnitOfWork):
    orders: Repository[Order, UUID]
    # --8<-- [end:domain]


# --8<-- [start:mapping]
mapping = Mapping()
orders = sa.Table(
    "orders",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("customer", sa.String, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)
order_lines = sa.Table(
    "order_lines",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    # Required: it defines the join. Not created on DuckDB (ADR 0009).
    sa.Column("order_id", sa.Uuid, sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("sku", sa.String, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
)
deliveries = sa.Table(
    "deliveries",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("order_id", sa.Uuid, sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("address", sa.String, nullable=False),
)
mapping.map(
    Order,
    orders,
    children={
        "lines": Child(OrderLine, order_lines, order_by="position"),  # a list: one-to-many
        "delivery": Child(Delivery, deliveries),  # Delivery | None: one-to-one
    },
)
# --8<-- [end:mapping]


def describe(order: Order) -> str:
    lines = ", ".join(f"{line.position}:{line.sku}x{line.quantity}" for line in order.lines)
    where = order.delivery.address if order.delivery else "-"
    return f"[{lines}] to {where}, v{order.version}"


async def main(new_uow: UnitOfWorkFactory[Shop]) -> None:
    order = Order(customer="Ada", delivery=Delivery(address="1 Loop Rd"))
    order.add_line("TEA-01", 2)
    order.add_line("POT-01", 1)
    async with new_uow() as uow:
        await uow.orders.add(order)
        await uow.commit()
    print(f"stored: {describe(order)}")

    # --8<-- [start:child-change]
    async with new_uow() as uow:
        loaded = await uow.orders.get(order.id)
        print(f"loaded with its children: {describe(loaded)}")
        loaded.lines[0].quantity = 3  # a change to a child ...
        await uow.commit()
    print(f"a child changed: {describe(loaded)}")  # ... is a new version of the order
    # --8<-- [end:child-change]

    async with new_uow() as uow:
        loaded = await uow.orders.get(order.id)
        loaded.remove_line("TEA-01")  # an orphan: deleted
        loaded.add_line("CUP-01", 4)
        loaded.delivery = Delivery(address="2 Fold St")  # the old one is deleted
        await uow.commit()
    async with new_uow() as uow:
        print(f"lines replaced: {describe(await uow.orders.get(order.id))}")

    # --8<-- [start:child-conflict]
    async with new_uow() as first, new_uow() as second:
        mine = await first.orders.get(order.id)
        theirs = await second.orders.get(order.id)
        mine.lines[0].quantity = 2
        theirs.lines[0].quantity = 5
        await first.commit()
        try:
            await second.commit()
        except ConcurrencyError:
            print("a concurrent change to a child: ConcurrencyError")
    # --8<-- [end:child-conflict]

    async with new_uow() as uow:
        await uow.orders.remove(await uow.orders.get(order.id))
        await uow.commit()
    async with new_uow() as uow:
        print(f"orders after remove: {await uow.orders.count()}")


async def run(memory: bool) -> None:
    if memory:
        await main(InMemoryUnitOfWork.factory(Shop))
        return
    async with Database("duckdb+async:///:memory:") as database:
        await database.create_all(mapping.metadata)
        await main(SqlAlchemyUnitOfWork.factory(Shop, database=database, mapping=mapping))
        async with database.engine.connect() as connection:
            left = await connection.scalar(sa.select(sa.func.count()).select_from(order_lines))
        print(f"order lines left in the table: {left}")


if __name__ == "__main__":
    asyncio.run(run("--memory" in sys.argv))
