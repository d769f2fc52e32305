"""Migrations with Alembic on DuckDB.

- :class:`DuckDBImpl` is Alembic's implementation for DuckDB (registered on import): DDL in one
  transaction, types compared by DuckDB's own names, table rebuilds where DuckDB cannot alter
  a table in place, and a clear :class:`UnsupportedMigration` where it cannot do either.
- :class:`MigrationEnvironment` is what a migrations folder's ``env.py`` uses: the settings
  (:func:`load_settings`: flags, ``ANDAMIOS_*`` variables, ``[tool.andamios]``), the mapping's
  metadata, the async ``duckdb+async`` connection, and Alembic's options for DuckDB.
- :class:`Migrations` runs Alembic's commands for a project (``andamios db ...``).
- :class:`DuckDBInspector` reflects DuckDB schemas from DuckDB's own catalog.
"""

from __future__ import annotations

from andamios.adapters.migrations._autogenerate import (
    RebuildTableOps,
    UnsupportedChangeOp,
    describe_diff,
    process_revision_directives,
    render_item,
)
from andamios.adapters.migrations._commands import TEMPLATE, CheckResult, Migrations
from andamios.adapters.migrations._environment import SETTINGS_ATTRIBUTE, MigrationEnvironment
from andamios.adapters.migrations._errors import MigrationError, UnsupportedMigration
from andamios.adapters.migrations._impl import DuckDBImpl
from andamios.adapters.migrations._reflection import DuckDBInspector, use_catalog_reflection
from andamios.adapters.migrations._settings import (
    ENV_DATABASE_URL,
    ENV_MAPPING,
    ENV_MIGRATIONS,
    ProjectSettings,
    load_settings,
)
from andamios.adapters.migrations._types import DuckDBType, canonical_type

__all__ = [
    "ENV_DATABASE_URL",
    "ENV_MAPPING",
    "ENV_MIGRATIONS",
    "SETTINGS_ATTRIBUTE",
    "TEMPLATE",
    "CheckResult",
    "DuckDBImpl",
    "DuckDBInspector",
    "DuckDBType",
    "MigrationEnvironment",
    "MigrationError",
    "Migrations",
    "ProjectSettings",
    "RebuildTableOps",
    "UnsupportedChangeOp",
    "UnsupportedMigration",
    "canonical_type",
    "describe_diff",
    "load_settings",
    "process_revision_directives",
    "render_item",
    "use_catalog_reflection",
]
