"""How the library's aggregate maps onto a table: the only module that sees SQLAlchemy.

The in-memory adapter needs no mapping; DuckDB (and PostgreSQL) use this one.
"""

# --8<-- [start:mapping]
from __future__ import annotations

import sqlalchemy as sa

from andamios.adapters.sqlalchemy import Mapping

from .domain import Book

__all__ = ["mapping"]

mapping = Mapping()
mapping.map(
    Book,
    sa.Table(
        "books",
        mapping.metadata,
        sa.Column("id", sa.String(17), primary_key=True),  # ISBN-13 with its hyphens
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("copies", sa.Integer, nullable=False),
        sa.Column("on_loan", sa.Integer, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    ),
)
# --8<-- [end:mapping]
