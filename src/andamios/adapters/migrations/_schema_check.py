"""Whether an open database's schema is what the project's migrations (or mapping) make.

An application started on a database its deployment forgot to migrate would otherwise fail at
its first query, with the driver's "table does not exist", or run against yesterday's columns.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["schema_problem"]


def _heads(folder: Path) -> tuple[str, ...]:
    config = Config()
    config.set_main_option("script_location", str(folder))
    config.set_main_option("path_separator", "os")
    return tuple(ScriptDirectory.from_config(config).get_heads())


def _current(connection: sa.Connection) -> tuple[str, ...]:
    return MigrationContext.configure(connection).get_current_heads()


def _missing_tables(connection: sa.Connection, metadata: sa.MetaData) -> list[str]:
    inspector = sa.inspect(connection)
    missing = []
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name, schema=table.schema):
            missing.append(table.fullname)
    return missing


async def schema_problem(
    database: object, engine: AsyncEngine, metadata: sa.MetaData, migrations: Path | None
) -> str | None:
    """What is wrong with the schema of the started ``database`` (over ``engine``), or None.

    With a migrations folder (``migrations/env.py`` exists): the database must be at its head
    revision(s); an empty database is at none. Without one: every table of ``metadata`` must
    exist. The message names the command that fixes it.
    """
    async with engine.connect() as connection:
        if migrations is not None and (migrations / "env.py").is_file():
            heads = _heads(migrations)
            current = await connection.run_sync(_current)
            if set(current) == set(heads):
                return None
            at = ", ".join(current) if current else "no revision (never migrated)"
            return (
                f"the database {database} is at {at}, but the migrations in {migrations} are at "
                f"{', '.join(heads) or 'no revision'}: run 'andamios db upgrade' before starting "
                'the application (or set schema_check = "warn" or "off")'
            )
        missing = await connection.run_sync(_missing_tables, metadata)
    if not missing:
        return None
    return (
        f"the database {database} lacks the mapping's tables {', '.join(missing)}: run "
        "'andamios db upgrade' (with migrations), or set database.create_tables = true for "
        'development and tests (or set schema_check = "warn" or "off")'
    )
