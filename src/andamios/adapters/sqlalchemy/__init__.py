"""The SQLAlchemy adapter: imperative mapping, repositories and units of work over AsyncSession.

The only module of an application that imports SQLAlchemy is its mapping::

    import sqlalchemy as sa
    from andamios.adapters.sqlalchemy import Mapping

    mapping = Mapping()
    products = sa.Table(
        "products", mapping.metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("sku", sa.String, nullable=False, unique=True),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    mapping.map(Product, products)

    new_uow = SqlAlchemyUnitOfWork.factory(Shop, database=db, mapping=mapping)

Where its database supplies a bulk stager (DuckDB: Arrow; PostgreSQL: ``COPY``), ``add_many`` and
every flush that writes at least :data:`BULK_THRESHOLD` aggregates of one type take the bulk path
(``docs/adr/0006-bulk-path.md``). This package names no dialect: what differs between databases
comes from their adapters through :mod:`andamios.adapters.sql_spi`.
"""

from __future__ import annotations

from andamios.adapters.sqlalchemy._bulk import BULK_THRESHOLD
from andamios.adapters.sqlalchemy._compiler import compile_order, compile_spec
from andamios.adapters.sqlalchemy._mapping import AggregateMapping, Child, Mapping
from andamios.adapters.sqlalchemy._repository import SqlAlchemyRepository
from andamios.adapters.sqlalchemy._types import JsonValue
from andamios.adapters.sqlalchemy._unit_of_work import (
    SqlAlchemyFactory,
    SqlAlchemyUnitOfWork,
    SqlDatabase,
)

__all__ = [
    "BULK_THRESHOLD",
    "AggregateMapping",
    "Child",
    "JsonValue",
    "Mapping",
    "SqlAlchemyFactory",
    "SqlAlchemyRepository",
    "SqlAlchemyUnitOfWork",
    "SqlDatabase",
    "compile_order",
    "compile_spec",
]
