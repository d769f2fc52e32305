"""The PostgreSQL server the tests run on, and a fresh schema for each use of it.

The server is ``ANDAMIOS_TEST_POSTGRESQL_URL`` (default: the local one, trust auth). Without
it, PostgreSQL tests skip with one line saying why; with ``CI=true`` that is a failure, so a
green CI run always means PostgreSQL was tested. Each database a test opens lives in its own
schema (``search_path``), dropped afterwards: nothing is shared between tests or xdist workers.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateIndex, CreateTable

from andamios.adapters.postgresql import Database

__all__ = ["POSTGRESQL_URL", "require_postgresql", "schema_database"]

POSTGRESQL_URL = os.environ.get(
    "ANDAMIOS_TEST_POSTGRESQL_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


@functools.cache
def _unreachable() -> str | None:
    """Why the server cannot be reached, or None (asked once per process)."""
    url = make_url(POSTGRESQL_URL)
    address = (url.host or "127.0.0.1", url.port or 5432)
    try:
        with socket.create_connection(address, timeout=2):
            return None
    except OSError as error:
        return (
            f"PostgreSQL at {address[0]}:{address[1]} is not reachable ({error}); "
            "set ANDAMIOS_TEST_POSTGRESQL_URL"
        )


def require_postgresql() -> None:
    """Skip the test if there is no server; fail it instead under ``CI=true``."""
    reason = _unreachable()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must test PostgreSQL", pytrace=False)
    pytest.skip(reason)


def _driver_dsn() -> str:
    return (
        make_url(POSTGRESQL_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    )


#: Schemas whose tables a test has emptied, by the DDL of those tables, ready for the next test
#: of this process that asks for the same tables (creating them costs most of a short test).
_READY: dict[str, list[tuple[str, list[tuple[object, ...]]]]] = {}

# The shape a reused schema must still have: a test that altered its tables gets a fresh one.
_SHAPE = (
    "SELECT table_name, column_name, data_type, is_nullable, character_maximum_length, "
    "numeric_precision, numeric_scale FROM information_schema.columns "
    "WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
)


def _ddl(metadata: sa.MetaData) -> str:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    parts = []
    for table in metadata.sorted_tables:
        parts.append(str(CreateTable(table).compile(dialect=dialect)))
        parts.extend(str(CreateIndex(index).compile(dialect=dialect)) for index in table.indexes)
    return "\n".join(parts)


async def _shape(database: Database) -> list[tuple[object, ...]]:
    async with database.engine.connect() as connection:
        return [tuple(row) for row in await connection.exec_driver_sql(_SHAPE)]


async def _emptied(
    database: Database, metadata: sa.MetaData, shape: list[tuple[object, ...]]
) -> bool:
    """Empty the tables of ``metadata`` if the schema still has exactly their shape."""
    if await _shape(database) != shape:
        return False
    async with database.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            await connection.execute(table.delete())
    return True


async def _admin(*statements: str) -> None:
    connection = await asyncpg.connect(_driver_dsn())
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


def _drop_ready() -> None:
    schemas = [schema for ready in _READY.values() for schema, _ in ready]
    _READY.clear()
    if schemas:
        asyncio.run(_admin(*(f'DROP SCHEMA "{schema}" CASCADE' for schema in schemas)))


atexit.register(_drop_ready)


@contextlib.asynccontextmanager
async def schema_database(
    metadata: sa.MetaData | None = None, **settings: Any
) -> AsyncIterator[Database]:
    """A started :class:`Database` in a schema of its own with ``metadata``'s tables, empty.

    The schema is new, or one an earlier test of this process left with the same tables and
    emptied; anything else is dropped on exit.
    """
    require_postgresql()
    # A unit of work waiting for another's row fails sooner than the default 5 s: the tests that
    # interleave two in one task (DuckDB refuses such a write at once) stay quick.
    settings.setdefault("lock_timeout", 0.5)
    key = None if metadata is None else _ddl(metadata)
    ready = _READY.get(key, []) if key is not None else []
    if ready:
        schema, shape = ready.pop()
    else:
        schema, shape = f"t_{uuid.uuid4().hex[:20]}", []
        await _admin(f'CREATE SCHEMA "{schema}"')
    reusable = False
    try:
        async with Database(POSTGRESQL_URL, schema=schema, **settings) as database:
            if metadata is not None and not shape:
                async with database.engine.begin() as connection:
                    await connection.run_sync(
                        functools.partial(metadata.create_all, checkfirst=False)
                    )
                shape = await _shape(database)
            yield database
            if not database.is_started:  # the test closed it
                await database.start()
            try:
                reusable = metadata is not None and await _emptied(database, metadata, shape)
            except sa.exc.SQLAlchemyError:  # a unit of work the test left open holds a lock
                reusable = False
    finally:
        if reusable and key is not None:
            _READY.setdefault(key, []).append((schema, shape))
        else:
            await _admin(f'DROP SCHEMA "{schema}" CASCADE')
