"""DuckDB's own names for column types.

DuckDB spells a type one way in its catalog whatever the DDL said: ``TEXT``, ``STRING`` and
``VARCHAR(50)`` are all ``VARCHAR``, ``NUMERIC`` is ``DECIMAL(18,3)``, ``TIMESTAMPTZ`` is
``TIMESTAMP WITH TIME ZONE``. Autogenerate compares types by these names: the type a mapping
asks for and the type reflected from the database are rendered by the dialect, then named by
DuckDB itself (:func:`canonical_type`, on a private in-memory database).
"""

from __future__ import annotations

import functools

import duckdb

__all__ = ["canonical_type"]


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
