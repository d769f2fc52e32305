"""DuckDB's own names for column types, and SQLAlchemy types for the names DuckDB reports.

DuckDB spells a type one way in its catalog whatever the DDL said: ``TEXT``, ``STRING`` and
``VARCHAR(50)`` are all ``VARCHAR``, ``NUMERIC`` is ``DECIMAL(18,3)``, ``TIMESTAMPTZ`` is
``TIMESTAMP WITH TIME ZONE``. Autogenerate compares types by these names: the type a mapping
asks for is rendered by the dialect, then named by DuckDB itself (:func:`canonical_type`, on a
private in-memory database), and compared with the name the catalog reports.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import duckdb
import sqlalchemy as sa
from sqlalchemy.types import TypeEngine, UserDefinedType

__all__ = ["DUCKDB_TYPE", "DuckDBType", "canonical_type", "sqlalchemy_type"]

#: The key of a reflected column's ``info`` holding the type DuckDB reports for it.
DUCKDB_TYPE = "duckdb_type"


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


_SIMPLE: dict[str, TypeEngine[Any]] = {
    "BOOLEAN": sa.BOOLEAN(),
    "TINYINT": sa.SMALLINT(),
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


@functools.lru_cache(maxsize=512)
def canonical_type(type_sql: str) -> str | None:
    """DuckDB's name for the type ``type_sql`` (``"TEXT"`` -> ``"VARCHAR"``); ``None`` if unknown.

    Asked of a private in-memory database, so a type DuckDB rejects (an enum type that exists
    only in the user's database, say) cannot abort the migration's transaction.
    """
    with duckdb.connect(":memory:") as conn:
        try:
            rows = conn.execute(f"SELECT typeof(CAST(NULL AS {type_sql}))").fetchall()
        except duckdb.Error:
            return None
    return str(rows[0][0])
