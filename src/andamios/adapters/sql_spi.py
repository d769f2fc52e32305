"""What a SQL database adapter supplies to the SQLAlchemy adapter: the SQL side of the SPI.

:mod:`andamios.adapters.sqlalchemy` maps aggregates, compiles specs and runs units of work for any
SQLAlchemy dialect, and names none: where databases differ, it asks what the database adapter
(:mod:`andamios.adapters.duckdb`, :mod:`andamios.adapters.postgresql`, or a third party's)
supplies through this module. Both sides import it; it imports neither.

- :class:`JsonText`: a leaf of a JSON value object, as text. A dialect compiles it with
  ``@compiles(JsonText, "<dialect name>")``; without one it is the SQL standard's
  ``JSON_VALUE(column, '$.path')``.
- :class:`CodePointText`: a text column compared and ordered by code point, as Python (and so
  the in-memory adapter) compares ``str``. It compiles to the column itself unless the dialect
  registers a form (PostgreSQL's collations sort ``"B" < "a"`` or not by locale).
- :class:`BulkStager`: how a database stages many rows for one statement (DuckDB: an Arrow
  table; PostgreSQL: ``COPY`` into a temporary table). A database without one writes through
  the ORM.
- :data:`CHILD_FOREIGN_KEYS`: the dialect attribute that, set to ``False``, leaves the foreign
  key of a child table out of DDL (DuckDB cannot update a referenced row, ADR 0009).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

__all__ = [
    "CHILD_FOREIGN_KEYS",
    "STAGED",
    "BulkStager",
    "CodePointText",
    "Convert",
    "JsonText",
    "base_type",
    "emits_child_foreign_keys",
]

#: The name of the dialect attribute saying whether child tables' foreign keys are created.
CHILD_FOREIGN_KEYS = "andamios_child_foreign_keys"

#: The name under which a bulk statement reads the staged rows (``FROM andamios_staged``).
STAGED = "andamios_staged"

type Convert = Callable[[list[Any]], Any]


def base_type(kind: sa.types.TypeEngine[Any]) -> sa.types.TypeEngine[Any]:
    """The type a column stores: under every ``TypeDecorator`` (a value object's, ``JsonValue``)."""
    while isinstance(kind, sa.types.TypeDecorator):
        kind = kind.impl_instance
    return kind


def emits_child_foreign_keys(dialect: sa.Dialect | None) -> bool:
    """Whether ``dialect`` creates the foreign key of a child table (true unless it says not)."""
    return bool(getattr(dialect, CHILD_FOREIGN_KEYS, True))


class JsonText(sa.sql.expression.ColumnElement[str]):
    """The text at ``path`` (field names) inside the JSON ``column``; NULL where there is none."""

    inherit_cache = True
    type = sa.String()
    # What the statement cache keys on: two paths into two columns are two statements.
    _traverse_internals = [  # noqa: RUF012 - SQLAlchemy's own declaration is a list
        ("column", InternalTraversal.dp_clauseelement),
        ("path", InternalTraversal.dp_string_list),
    ]

    def __init__(self, column: sa.ColumnElement[Any], path: Sequence[str]) -> None:
        self.column = column
        self.path = tuple(path)

    @property
    def json_path(self) -> str:
        """The path in JSONPath syntax: ``$.size.width_cm``."""
        return "$." + ".".join(self.path)


@compiles(JsonText)
def _json_value(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    # The SQL standard's form (SQL:2016), for dialects whose adapter registers none.
    column = compiler.process(element.column, **kw)
    path = compiler.render_literal_value(element.json_path, sa.String())
    return f"JSON_VALUE({column}, {path})"


class CodePointText(sa.sql.expression.ColumnElement[str]):
    """``column``, compared and ordered by code point wherever the dialect needs telling."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, column: sa.ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(CodePointText)
def _code_point_text(element: CodePointText, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


class BulkStager(Protocol):
    """How a database runs one statement over many staged rows, inside the current transaction.

    The SQLAlchemy adapter writes the statement (``INSERT ... SELECT ... FROM andamios_staged``,
    ``UPDATE ... FROM andamios_staged AS staged ...``); the stager makes ``andamios_staged`` hold
    the rows, from columns converted by its :meth:`converter`.
    """

    def converter(self, column: sa.Column[Any], dialect: sa.Dialect) -> Convert | None:
        """How the Python values of ``column`` become one staged column; ``None``: they cannot
        (the aggregate type is then written through the ORM)."""
        ...

    def run(
        self,
        connection: sa.Connection,
        staged: Sequence[tuple[sa.Column[Any], Any]],
        sql: str,
    ) -> list[Any]:
        """Run ``sql`` with ``staged`` (each column and its converted values) readable as
        :data:`STAGED`; return the rows the statement returned. Called from the session's flush
        (a synchronous ``connection`` inside SQLAlchemy's async bridge)."""
        ...
