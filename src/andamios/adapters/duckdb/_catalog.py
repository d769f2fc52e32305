"""Reflection of a DuckDB schema from DuckDB's own catalog functions.

duckdb-engine inherits PostgreSQL's reflection, which queries ``pg_catalog`` tables and types
DuckDB 2.0 does not have: under SQLAlchemy 2.1, reflecting columns fails with ``Binder Error:
Referenced table "pg_catalog.pg_collation" not found!``, primary keys, unique constraints and
foreign keys with ``Catalog Error: Type with name REGCLASS does not exist!``, table options with
``Table with name pg_inherits does not exist!``, and indexes are not reflected at all
("duckdb-engine doesn't yet support reflection on indices"). This module reads ``duckdb_tables()``,
``duckdb_columns()``, ``duckdb_constraints()``, ``duckdb_indexes()`` and ``duckdb_sequences()``
instead, and returns what SQLAlchemy's ``Inspector`` returns.

DuckDB does not keep the names of constraints: ``CONSTRAINT uq_sku UNIQUE (sku)`` is reported
as ``products_sku_key``. Index names are kept.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.engine.interfaces import (
    ReflectedCheckConstraint,
    ReflectedColumn,
    ReflectedForeignKeyConstraint,
    ReflectedIndex,
    ReflectedPrimaryKeyConstraint,
    ReflectedUniqueConstraint,
)

from andamios.adapters.duckdb._types import sqlalchemy_type

__all__ = ["Catalog", "TableCatalog", "read_catalog"]

# Every query is scoped to the connection's database and one schema (the current one by default).
_SCOPE = "database_name = current_database() AND schema_name = coalesce(:schema, current_schema())"

_TABLES = sa.text(
    f"SELECT table_name, comment FROM duckdb_tables() WHERE {_SCOPE} AND NOT temporary "
    "ORDER BY table_name"
)
_COLUMNS = sa.text(
    "SELECT c.table_name, c.column_name, c.data_type, c.is_nullable, c.column_default, c.comment "
    "FROM duckdb_columns() c JOIN duckdb_tables() t ON c.table_oid = t.table_oid "
    "WHERE c.database_name = current_database() "
    "AND c.schema_name = coalesce(:schema, current_schema()) AND NOT t.temporary "
    "ORDER BY c.table_name, c.column_index"
)
_CONSTRAINTS = sa.text(
    "SELECT table_name, constraint_type, constraint_name, constraint_column_names, expression, "
    f"referenced_table, referenced_column_names FROM duckdb_constraints() WHERE {_SCOPE} "
    "AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY', 'CHECK') "
    "ORDER BY table_name, constraint_index"
)
_INDEXES = sa.text(
    f"SELECT table_name, index_name, is_unique, expressions FROM duckdb_indexes() WHERE {_SCOPE} "
    "ORDER BY table_name, index_name"
)
_SEQUENCES = sa.text(
    f"SELECT sequence_name FROM duckdb_sequences() WHERE {_SCOPE} AND NOT temporary "
    "ORDER BY sequence_name"
)

# duckdb_indexes().expressions is a list rendered as text: ['"name"'], [a, '"Odd Name"'],
# ['((code || \', x\'))']. Items are separated by ", " outside quotes and parentheses; a quoted
# item escapes its quotes with a backslash.
_IDENTIFIER = re.compile(r'[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")*"')


def _split_expressions(text: str) -> list[str]:
    inner = text.strip().removeprefix("[").removesuffix("]")
    items: list[str] = []
    depth, quote, escaped, start = 0, "", False, 0
    for position, char in enumerate(inner):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(inner[start:position])
            start = position + 1
    items.append(inner[start:])
    return [item.strip() for item in items if item.strip()]


def _index_expression(item: str) -> tuple[str | None, str]:
    """(The column an index item names, or ``None`` for a computed expression; its SQL)."""
    if len(item) > 1 and item.startswith("'") and item.endswith("'"):
        item = item[1:-1].replace("\\'", "'")
    if not _IDENTIFIER.fullmatch(item):
        return None, item
    if item.startswith('"'):
        return item[1:-1].replace('""', '"'), item
    return item, item


@dataclass
class TableCatalog:
    """What DuckDB's catalog says about one table."""

    name: str
    comment: str | None = None
    columns: list[ReflectedColumn] = field(default_factory=list)
    primary_key: ReflectedPrimaryKeyConstraint = field(
        default_factory=lambda: ReflectedPrimaryKeyConstraint(name=None, constrained_columns=[])
    )
    unique_constraints: list[ReflectedUniqueConstraint] = field(default_factory=list)
    foreign_keys: list[ReflectedForeignKeyConstraint] = field(default_factory=list)
    check_constraints: list[ReflectedCheckConstraint] = field(default_factory=list)
    indexes: list[ReflectedIndex] = field(default_factory=list)


@dataclass
class Catalog:
    """The tables and sequences of one schema."""

    schema: str | None
    tables: dict[str, TableCatalog]
    sequences: list[str]


def _rows(connection: Connection, query: sa.TextClause, schema: str | None) -> list[Any]:
    return list(connection.execute(query, {"schema": schema}))


def read_catalog(
    connection: Connection, schema: str | None = None, tables: Collection[str] | None = None
) -> Catalog:
    """Read the tables (all, or those named in ``tables``) and sequences of ``schema``."""
    wanted = None if tables is None else set(tables)
    found: dict[str, TableCatalog] = {
        row.table_name: TableCatalog(row.table_name, row.comment)
        for row in _rows(connection, _TABLES, schema)
        if wanted is None or row.table_name in wanted
    }
    for row in _rows(connection, _COLUMNS, schema):
        if (table := found.get(row.table_name)) is not None:
            table.columns.append(_column(row))
    for row in _rows(connection, _CONSTRAINTS, schema):
        if (table := found.get(row.table_name)) is not None:
            _add_constraint(table, row, schema)
    for row in _rows(connection, _INDEXES, schema):
        if (table := found.get(row.table_name)) is not None:
            table.indexes.append(_index(row))
    sequences = [row.sequence_name for row in _rows(connection, _SEQUENCES, schema)]
    return Catalog(schema, found, sequences)


def _column(row: Any) -> ReflectedColumn:
    return ReflectedColumn(
        name=row.column_name,
        type=sqlalchemy_type(row.data_type),
        nullable=bool(row.is_nullable),
        default=row.column_default,
        comment=row.comment,
        # DuckDB has no SERIAL: a column counts only with an explicit nextval() default, and a
        # table rebuilt from this one must not get SERIAL for its integer key.
        autoincrement=False,
    )


def _add_constraint(table: TableCatalog, row: Any, schema: str | None) -> None:
    columns = list(row.constraint_column_names)
    match row.constraint_type:
        case "PRIMARY KEY":
            table.primary_key = ReflectedPrimaryKeyConstraint(
                name=row.constraint_name, constrained_columns=columns
            )
        case "UNIQUE":
            table.unique_constraints.append(
                ReflectedUniqueConstraint(name=row.constraint_name, column_names=columns)
            )
        case "FOREIGN KEY":
            table.foreign_keys.append(
                ReflectedForeignKeyConstraint(
                    name=row.constraint_name,
                    constrained_columns=columns,
                    referred_schema=schema,
                    referred_table=row.referenced_table,
                    referred_columns=list(row.referenced_column_names),
                    options={},
                )
            )
        case _:  # CHECK: the query selects no other kind
            table.check_constraints.append(
                ReflectedCheckConstraint(name=row.constraint_name, sqltext=row.expression)
            )


def _index(row: Any) -> ReflectedIndex:
    parts = [_index_expression(item) for item in _split_expressions(row.expressions)]
    columns = [column for column, _ in parts]
    index = ReflectedIndex(
        name=row.index_name,
        column_names=columns,
        unique=bool(row.is_unique),
        dialect_options={},
    )
    if None in columns:
        index["expressions"] = [column or sql for column, sql in parts]
    return index
