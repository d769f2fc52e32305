"""The DuckDB adapter: an async DuckDB driver for SQLAlchemy, and the database lifecycle.

- :class:`Database` opens a DuckDB file (or ``:memory:``) and owns the ``AsyncEngine`` over it.
- :class:`DuckDBSettings` holds its settings; :class:`HealthCheck` is a health probe's answer.
- :class:`AsyncDuckDBDialect` is the ``duckdb+async`` SQLAlchemy dialect (registered by entry
  point, so ``create_async_engine("duckdb+async:///file.duckdb")`` works on its own), and
  :class:`AsyncDuckDBConnection` the driver connection under each pooled connection.
- :func:`translate_error` turns DuckDB and SQLAlchemy errors into :mod:`andamios.ports.errors`.
"""

from __future__ import annotations

from andamios.adapters.duckdb._connection import AsyncDuckDBConnection
from andamios.adapters.duckdb._database import Database, HealthCheck
from andamios.adapters.duckdb._dialect import AsyncDuckDBDialect
from andamios.adapters.duckdb._errors import translate_error
from andamios.adapters.duckdb._settings import DuckDBSettings

__all__ = [
    "AsyncDuckDBConnection",
    "AsyncDuckDBDialect",
    "Database",
    "DuckDBSettings",
    "HealthCheck",
    "translate_error",
]
