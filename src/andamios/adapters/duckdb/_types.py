"""SQLAlchemy types for the column types DuckDB's catalog reports.

Reflection (:mod:`._catalog`) turns each name DuckDB gives a column's type into a SQLAlchemy
type that renders back to the same DuckDB type, so that a table rebuilt from a reflected one
(Alembic's batch mode) keeps its types, and a type compared by rendering it (the migrations'
``compare_type``) is compared as DuckDB has it. Names SQLAlchemy has no type for
(``STRUCT(...)``, ``MAP(...)``, ``INTEGER[]``, ``HUGEINT``, ``TINYINT``...) become a
:class:`DuckDBType` of that name.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeEngine, UserDefinedType

__all__ = ["DuckDBType", "sqlalchemy_type"]


class DuckDBType(UserDefinedType[Any]):
    """A DuckDB type SQLAlchemy has no type for (``STRUCT(...)``, ``MAP(...)``, ``INTEGER[]``...).

    It renders as DuckDB named it, so a table rebuilt from a reflected table keeps the type.
    """

    cache_ok = True

    def __init__(self, name: str) -> None:
        self.name = name

    def get_col_spec(self, **kw: Any) -> str:
        """The type as DuckDB spells it."""
        return self.name

    def __repr__(self) -> str:
        return f"DuckDBType({self.name!r})"


# Each renders (on the duckdb+async dialect) to a type DuckDB names as the key: a test holds
# every entry to that. TINYINT is not here: SQLAlchemy's smallest integer is SMALLINT.
_SIMPLE: dict[str, TypeEngine[Any]] = {
    "BOOLEAN": sa.BOOLEAN(),
    "SMALLINT": sa.SMALLINT(),
    "INTEGER": sa.INTEGER(),
    "BIGINT": sa.BIGINT(),
    "FLOAT": sa.REAL(),
    "DOUBLE": sa.DOUBLE(),
    "VARCHAR": sa.VARCHAR(),
    "BLOB": sa.BLOB(),
    "UUID": sa.UUID(),
    "JSON": sa.JSON(),
    "DATE": sa.DATE(),
    "TIME": sa.TIME(),
    "TIME WITH TIME ZONE": sa.TIME(timezone=True),
    "TIMESTAMP": sa.TIMESTAMP(),
    "TIMESTAMP WITH TIME ZONE": sa.TIMESTAMP(timezone=True),
    "INTERVAL": sa.Interval(),
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),(\d+)\)")


def sqlalchemy_type(duckdb_type: str) -> TypeEngine[Any]:
    """The SQLAlchemy type of a column DuckDB's catalog describes as ``duckdb_type``."""
    simple = _SIMPLE.get(duckdb_type)
    if simple is not None:
        return simple
    if match := _DECIMAL.fullmatch(duckdb_type):
        return sa.NUMERIC(int(match[1]), int(match[2]))
    return DuckDBType(duckdb_type)
