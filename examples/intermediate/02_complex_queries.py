"""Queries beyond one aggregate: child specs, joins, groups, pages, Arrow and raw SQL.

A shop stores products and orders; an order's lines are child entities. The application asks:

- which orders hold a line of a product (``F("lines").any(...)``, a spec over children, in any
  repository method);
- a report of units sold per category: a :class:`~andamios.domain.ReadQuery` that joins the
  orders' lines (``join("order.lines")``) to the products by sku (``join(Product, on=...)``),
  groups and aggregates (``Count``, ``Sum``, ``Avg``), keeps the groups ``having`` more than one
  order, orders by an output, and returns typed rows (``into(CategorySales)``);
- who ordered what, with products no order names (an outer join), page by page (keyset);
- the same rows as a ``pyarrow.Table`` (zero copy from DuckDB) and a polars ``DataFrame``;
- a statement only DuckDB speaks (``GROUP BY ALL``), as raw SQL with bound parameters, and a
  formatted value refused before it reaches the database.

Every read happens in the unit of work's transaction, so the report sees the order added but
not yet committed. Run it with ``uv run python examples/intermediate/02_complex_queries.py``
(a DuckDB file in a temporary directory); ``--memory`` runs the same application on the
in-memory adapter, which prints the same lines up to raw SQL, which it refuses by naming
``uow.query``. It prints::

    orders with a TEA-01 line: ['ada', 'cy']
    orders without a POT-01 line: ['cy', 'dee', 'eve']
    tea: 3 orders, 5 units, 1.25 a line
    ware: 2 orders, 4 units, 1.33 a line
    page 1: ada TEA-01 Green tea, ada POT-01 Teapot
    page 2: bo CUP-01 Cup, bo POT-01 Teapot
    page 3: cy TEA-02 Black tea, cy TEA-01 Green tea
    page 4: dee TEA-02 Black tea, eve ZZZ-99 -
    arrow: 8 rows, columns ['customer', 'sku', 'name']
    polars: 5 customers
    raw SQL: [{'status': 'open', 'n': 4}, {'status': 'paid', 'n': 1}]
    refused: InvalidSpecification (a quoted string)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import sqlalchemy as sa

from andamios.adapters.duckdb import Database
from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import Child, Mapping, SqlAlchemyUnitOfWork
from andamios.domain import (
    AggregateRoot,
    Avg,
    Count,
    Entity,
    F,
    InvalidSpecification,
    ReadQuery,
    Sum,
)
from andamios.ports import Repository, UnitOfWork, UnitOfWorkFactory
from andamios.ports.errors import UnsupportedOperation

# -- domain ------------------------------------------------------------------------------------


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[UUID]):
    sku: str
    name: str
    category: str
    price: Decimal


@dataclass(eq=False, kw_only=True)
class OrderLine(Entity[UUID]):
    sku: str
    quantity: int


@dataclass(eq=False, kw_only=True)
class Order(AggregateRoot[UUID]):
    customer: str
    status: str = "open"
    lines: list[OrderLine] = field(default_factory=list)

    def add(self, sku: str, quantity: int = 1) -> None:
        self.lines.append(OrderLine(sku=sku, quantity=quantity))


class Shop(UnitOfWork):
    products: Repository[Product, UUID]
    orders: Repository[Order, UUID]


# -- read models: typed rows the application names -------------------------------------------


@dataclass(frozen=True)
class CategorySales:
    category: str
    orders: int
    units: int
    per_line: float


SALES_BY_CATEGORY = (
    ReadQuery(Order)
    .join("order.lines", name="line")
    .join(Product, on=("line.sku", "product.sku"))
    .group_by("product.category")
    .select(
        "product.category",
        orders=Count("order.id", distinct=True),
        units=Sum("line.quantity"),
        per_line=Avg("line.quantity"),
    )
    .having(F("orders") > 1)
    .order_by(F("units").desc())
    .into(CategorySales)
)

WHO_ORDERED_WHAT = (
    ReadQuery(Order)
    .join("order.lines", name="line")
    .join(Product, on=("line.sku", "product.sku"), outer=True)
    .select("order.customer", "line.sku", "product.name")
    .order_by(["customer", "name"])
)

# -- adapters: the mapping ----------------------------------------------------------------------

mapping = Mapping()
products = sa.Table(
    "products",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("sku", sa.String, nullable=False, unique=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("category", sa.String, nullable=False),
    sa.Column("price", sa.Numeric(10, 2), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)
orders = sa.Table(
    "orders",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("customer", sa.String, nullable=False),
    sa.Column("status", sa.String, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)
order_lines = sa.Table(
    "order_lines",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("order_id", sa.Uuid, sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("sku", sa.String, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
)
mapping.map(Product, products)
mapping.map(Order, orders, children={"lines": Child(OrderLine, order_lines, order_by="sku")})


# -- application: talks to the ports only -------------------------------------------------------


def order(customer: str, *skus: str, quantity: int = 1, status: str = "open") -> Order:
    placed = Order(customer=customer, status=status)
    for sku in skus:
        placed.add(sku, quantity)
    return placed


async def main(new_uow: UnitOfWorkFactory[Shop]) -> None:
    async with new_uow() as uow:
        await uow.products.add_many(
            [
                Product(sku="TEA-01", name="Green tea", category="tea", price=Decimal("4.50")),
                Product(sku="TEA-02", name="Black tea", category="tea", price=Decimal("3.90")),
                Product(sku="POT-01", name="Teapot", category="ware", price=Decimal("32.00")),
                Product(sku="CUP-01", name="Cup", category="ware", price=Decimal("6.00")),
            ]
        )
        await uow.orders.add_many(
            [
                order("ada", "TEA-01", "POT-01", quantity=2, status="paid"),
                order("bo", "POT-01", "CUP-01"),
                order("cy", "TEA-01", "TEA-02"),
                order("eve", "ZZZ-99"),  # a product the shop does not list
            ]
        )
        await uow.commit()

    async with new_uow() as uow:
        await uow.orders.add(order("dee", "TEA-02"))  # not committed: the reads below see it

        with_tea = await uow.orders.find(F("lines").any(F("sku") == "TEA-01"), order_by="customer")
        print(f"orders with a TEA-01 line: {[o.customer for o in with_tea]}")
        without = await uow.orders.find(~F("lines").any(F("sku") == "POT-01"), order_by="customer")
        print(f"orders without a POT-01 line: {[o.customer for o in without]}")

        for sales in await uow.query(SALES_BY_CATEGORY):
            print(
                f"{sales.category}: {sales.orders} orders, {sales.units} units, "
                f"{sales.per_line:.2f} a line"
            )

        page = await uow.query_page(WHO_ORDERED_WHAT, size=2)
        number = 1
        while True:
            shown = ", ".join(f"{r['customer']} {r['sku']} {r['name'] or '-'}" for r in page.items)
            print(f"page {number}: {shown}")
            if page.next is None:
                break
            page = await uow.query_page(WHO_ORDERED_WHAT, size=2, after=page.next)
            number += 1

        everyone = (
            ReadQuery(Order).join("order.lines", name="line").select("order.customer", "line.sku")
        )
        table = await uow.query_arrow(
            everyone.join(Product, on=("line.sku", "product.sku"), outer=True).select(
                "product.name"
            )
        )
        print(f"arrow: {table.num_rows} rows, columns {table.column_names}")
        frame = await uow.query_polars(everyone)
        print(f"polars: {frame['customer'].n_unique()} customers")

        try:
            statuses = await uow.sql.rows(
                "SELECT status, count(*) AS n FROM orders GROUP BY ALL ORDER BY status"
            )
            print(f"raw SQL: {statuses}")
            status = "paid' OR '1'='1"
            await uow.sql.rows(f"SELECT customer FROM orders WHERE status = '{status}'")
        except InvalidSpecification as error:
            print(
                f"refused: InvalidSpecification ({str(error).split('found ')[1].split(' near')[0]})"
            )
        except UnsupportedOperation as error:
            print(f"raw SQL: UnsupportedOperation, {str(error).split(': ')[1].split(' (')[0]}")


# -- composition root: the only place that picks an adapter ------------------------------------


async def run(argv: list[str]) -> None:
    if "--memory" in argv:
        await main(InMemoryUnitOfWork.factory(Shop))
        return
    with tempfile.TemporaryDirectory() as directory:
        url = f"duckdb+async:///{Path(directory) / 'shop.duckdb'}"
        async with Database(url) as database:
            await database.create_all(mapping.metadata)
            await main(SqlAlchemyUnitOfWork.factory(Shop, database=database, mapping=mapping))


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1:]))
