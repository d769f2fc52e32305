"""The data every benchmark runs on: one product aggregate, its mapping and its peers' views.

Andamios sees :class:`Product` (a pure dataclass) through :func:`build_mapping`; the SQLAlchemy
ORM peer sees the same table through the declarative :class:`OrmRow`; the raw duckdb peer writes
SQL. :func:`load_rows` fills the table with raw duckdb, independently of what is measured, and
:func:`copies` gives each contender a copy of the file of its own (DuckDB refuses a second
connection with another configuration to a file one process has open, and the contenders run
side by side).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import duckdb
import sqlalchemy as sa
from sqlalchemy import orm

from andamios._benchmarks._harness import Round
from andamios.adapters.sqlalchemy import Mapping, SqlAlchemyFactory
from andamios.domain import AggregateRoot, F, uuid7
from andamios.ports import Repository, UnitOfWork

__all__ = [
    "CATEGORIES",
    "CREATE_SQL",
    "OrmBase",
    "OrmRow",
    "Product",
    "Shop",
    "build_mapping",
    "copies",
    "load_rows",
    "new_products",
    "new_rows",
    "renaming",
]

CATEGORIES = ["tea", "coffee", "cocoa", "herbs", "spices"]

CREATE_SQL = (
    "CREATE TABLE products (id UUID PRIMARY KEY, sku VARCHAR NOT NULL, "
    "name VARCHAR NOT NULL, category VARCHAR NOT NULL, price DECIMAL(12,2) NOT NULL, "
    "version INTEGER NOT NULL)"
)


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[UUID]):
    """The aggregate every benchmark stores: a product of a category, with a price."""

    sku: str
    name: str
    category: str
    price: Decimal


class Shop(UnitOfWork):
    """A unit of work over :class:`Product`."""

    products: Repository[Product, UUID]


def build_mapping() -> Mapping:
    """Product mapped onto ``products`` (call ``mapping.clear()`` when done)."""
    mapping = Mapping()
    table = sa.Table(
        "products",
        mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("sku", sa.String, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("category", sa.String, nullable=False),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(Product, table)
    return mapping


class OrmBase(orm.DeclarativeBase):
    """The declarative base of the SQLAlchemy ORM peer."""

    pass


class OrmRow(OrmBase):
    """The ORM peer's view of the ``products`` table."""

    __tablename__ = "products"
    id: orm.Mapped[UUID] = orm.mapped_column(primary_key=True)
    sku: orm.Mapped[str]
    name: orm.Mapped[str]
    category: orm.Mapped[str]
    price: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(12, 2))
    version: orm.Mapped[int] = orm.mapped_column()
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own protocol


def _values(n: int, offset: int) -> tuple[str, str, str, Decimal]:
    i = n + offset
    return f"SKU-{i:08}", f"Product {i}", CATEGORIES[i % 5], Decimal((i * 7919) % 100_000) / 100


def new_products(count: int, offset: int = 0) -> list[Product]:
    """``count`` new aggregates (built outside any timing: construction is the user's cost)."""
    products = []
    for n in range(count):
        sku, name, category, price = _values(n, offset)
        products.append(Product(sku=sku, name=name, category=category, price=price))
    return products


def new_rows(count: int, offset: int = 0) -> list[tuple[UUID, str, str, str, Decimal, int]]:
    """The same data as plain tuples, as a raw duckdb program would hold it."""
    return [(uuid7(), *_values(n, offset), 1) for n in range(count)]


def load_rows(path: Path, rows: int) -> list[UUID]:
    """Create the table and fill it with raw duckdb; return the ids."""
    con = duckdb.connect(str(path))
    con.execute(CREATE_SQL)
    con.execute(
        """
        INSERT INTO products
        SELECT uuidv7(), 'SKU-' || lpad(i::VARCHAR, 8, '0'), 'Product ' || i,
               ['tea','coffee','cocoa','herbs','spices'][1 + (i % 5)],
               ((i * 7919) % 100000) / 100.0, 1
        FROM range(?) t(i)
        """,
        [rows],
    )
    ids = [row[0] for row in con.execute("SELECT id FROM products").fetchall()]
    con.close()
    return ids


def copies(path: Path, names: list[str]) -> dict[str, Path]:
    """A copy of the closed database file ``path`` for each of ``names``, beside it."""
    found = {}
    for number, name in enumerate(names):
        copy = path.with_name(f"{path.stem}-{number}{path.suffix}")
        shutil.copyfile(path, copy)
        found[name] = copy
    return found


def renaming(new_uow: SqlAlchemyFactory[Shop], count: int) -> Round:
    """Andamios' round of the bulk update: load ``count`` products in id order (not timed),
    rename each and commit (timed: one flush), on any SQL database."""

    async def round_(i: int) -> float:
        async with new_uow() as uow:
            products = await uow.products.find(order_by=F("id"), limit=count)
            start = time.perf_counter()
            for product in products:
                product.name = f"andamios {i}"
            await uow.commit()
            return time.perf_counter() - start

    return round_
