"""The DuckDB adapter: an async DuckDB driver for SQLAlchemy, and the database lifecycle.

- :class:`Database` opens a DuckDB file (or ``:memory:``) and owns the ``AsyncEngine`` over it.
- :class:`DuckDBSettings` holds its settings; :class:`HealthCheck` is a health probe's answer,
  :class:`WorkerHealth` (three :class:`Timing` values) what ``Database.worker_health()`` measured.
- :class:`AsyncDuckDBDialect` is the ``duckdb+async`` SQLAlchemy dialect (registered by entry
  point, so ``create_async_engine("duckdb+async:///file.duckdb")`` works on its own), and
  :class:`AsyncDuckDBConnection` the driver connection under each pooled connection.
- :class:`DuckDBInspector` is its reflection (what ``sqlalchemy.inspect()`` returns), read from
  DuckDB's own catalog; :class:`DuckDBType` a reflected type SQLAlchemy has no type for.
- :data:`THREAD_NAME_PREFIX` starts the name of every worker thread (to count them).
- :func:`translate_error` turns DuckDB and SQLAlchemy errors into :mod:`andamios.ports.errors`.

Reflection (:class:`DuckDBInspector`, :class:`DuckDBType`) is imported on first use: opening a
database and running units of work need none of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from andamios.adapters.duckdb._connection import AsyncDuckDBConnection
from andamios.adapters.duckdb._database import Database, HealthCheck
from andamios.adapters.duckdb._dialect import AsyncDuckDBDialect
from andamios.adapters.duckdb._errors import translate_error
from andamios.adapters.duckdb._health import Timing, WorkerHealth
from andamios.adapters.duckdb._settings import DuckDBSettings
from andamios.adapters.duckdb._worker import THREAD_NAME_PREFIX
from andamios.domain._lazy import lazy_names

if TYPE_CHECKING:
    from andamios.adapters.duckdb._reflection import DuckDBInspector
    from andamios.adapters.duckdb._types import DuckDBType

__all__ = [
    "THREAD_NAME_PREFIX",
    "AsyncDuckDBConnection",
    "AsyncDuckDBDialect",
    "Database",
    "DuckDBInspector",
    "DuckDBSettings",
    "DuckDBType",
    "HealthCheck",
    "Timing",
    "WorkerHealth",
    "translate_error",
]

# Reflection: imported on first use (opening a database never needs it).
__getattr__ = lazy_names(
    __name__,
    {
        "DuckDBInspector": "andamios.adapters.duckdb._reflection",
        "DuckDBType": "andamios.adapters.duckdb._types",
    },
)
