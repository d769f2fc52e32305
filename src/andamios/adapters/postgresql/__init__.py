"""The PostgreSQL adapter: a server database over asyncpg, the way out of one writer process.

- :class:`Database` connects to a PostgreSQL server (and, optionally, a read replica) and owns
  the ``AsyncEngine`` over it; it refuses to COMMIT a transaction a failed statement aborted.
- :class:`PostgreSQLSettings` holds its settings (URL, pool, timeouts, isolation level, schema);
  :class:`HealthCheck` is a health probe's answer.
- :func:`translate_error` turns asyncpg and SQLAlchemy errors into :mod:`andamios.ports.errors`,
  by SQLSTATE.

Needs the ``postgresql`` extra (``asyncpg``).
"""

from __future__ import annotations

# Registers how PostgreSQL compiles JSON paths and code-point text order (sql_spi).
from andamios.adapters.postgresql import _compilation  # noqa: F401
from andamios.adapters.postgresql._database import Database, HealthCheck
from andamios.adapters.postgresql._errors import translate_error
from andamios.adapters.postgresql._settings import PostgreSQLSettings

__all__ = ["Database", "HealthCheck", "PostgreSQLSettings", "translate_error"]
