"""Alembic's migration environment of an Andamios project (async; DuckDB, PostgreSQL...).

``andamios db ...`` runs it, and so does plain ``alembic``. The database URL and the mapping come
from ``[tool.andamios]`` in pyproject.toml, ``ANDAMIOS_*`` variables or the command's flags.
Migrations run through the database's async engine, all of them in one transaction: if one
fails, the database stays at the revision it started from.
"""

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from andamios.adapters.migrations import MigrationEnvironment

environment = MigrationEnvironment.from_config(context.config)

# The tables autogenerate compares the database with: the metadata of your Mapping.
target_metadata = environment.metadata


def run_migrations_offline() -> None:
    """Print the migrations' SQL instead of running it (``--sql``)."""
    context.configure(
        url=environment.url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        **environment.options(),
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    """Run the migrations on one connection, in one transaction."""
    context.configure(connection=connection, **environment.options())
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    """Open the database through the async engine and migrate it."""
    async with environment.connect() as connection:
        await connection.run_sync(do_run_migrations)


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_async_migrations())
