"""Migrations with Alembic, on any database Andamios can open (DuckDB, PostgreSQL...).

- :class:`MigrationEnvironment` is what a migrations folder's ``env.py`` uses: the settings
  (:func:`load_settings`: flags, ``ANDAMIOS_*`` variables, ``[tool.andamios]``), the mapping's
  metadata, an async connection to the database its URL names (opened by that database's
  adapter, :mod:`andamios.adapters.databases`), and Alembic's options.
- :class:`Migrations` runs Alembic's commands for a project (``andamios db ...``).
- On every database, autogenerate leaves out the foreign keys the database's dialect does not
  create (a child table's, on DuckDB) and renders types a migration can import.
- :class:`DuckDBImpl` is Alembic's implementation for DuckDB (registered on import): DDL in one
  transaction, types compared by DuckDB's own names (:func:`canonical_type`), table rebuilds
  where DuckDB cannot alter a table in place (:class:`RebuildTableOps`), and a clear
  :class:`UnsupportedMigration` where it cannot do either (:class:`UnsupportedChangeOp`). Other
  databases use Alembic's own implementation (PostgreSQL's, with PostgreSQL's reflection).

DuckDB's reflection is the DuckDB adapter's (``andamios.adapters.duckdb.DuckDBInspector``):
this package imports no database adapter.
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
from andamios.adapters.migrations._schema_check import schema_problem
from andamios.adapters.migrations._settings import (
    ENV_DATABASE_SCHEMA,
    ENV_DATABASE_URL,
    ENV_MAPPING,
    ENV_MIGRATIONS,
    ProjectSettings,
    load_settings,
)
from andamios.adapters.migrations._types import canonical_type

__all__ = [
    "ENV_DATABASE_SCHEMA",
    "ENV_DATABASE_URL",
    "ENV_MAPPING",
    "ENV_MIGRATIONS",
    "SETTINGS_ATTRIBUTE",
    "TEMPLATE",
    "CheckResult",
    "DuckDBImpl",
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
    "schema_problem",
]
