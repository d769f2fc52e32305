"""Fixtures of the PostgreSQL adapter's tests: a real server, a fresh schema, role or database.

The server is ``ANDAMIOS_TEST_POSTGRESQL_URL`` (by default the local one, trust auth). When it
cannot be reached, the tests that need it skip with one line saying why; with ``CI=true`` they
fail instead, so that a green CI run means PostgreSQL was tested.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from tests._postgresql import POSTGRESQL_URL, require_postgresql
from tests.integration.postgresql._server import run


@pytest.fixture(scope="session")
def postgresql_url() -> str:
    """The URL of the test server; skips (fails under ``CI=true``) when it cannot be reached."""
    require_postgresql()
    return POSTGRESQL_URL


@pytest.fixture
async def admin(postgresql_url: str) -> AsyncIterator[AsyncConnection]:
    """A connection to the test server in autocommit mode, for DDL (schemas, roles, databases)."""
    engine = create_async_engine(postgresql_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        yield conn
    await engine.dispose()


@pytest.fixture
async def pg_schema(admin: AsyncConnection) -> AsyncIterator[str]:
    """The name of a new, empty schema, dropped (with all it holds) after the test."""
    schema = f"t_{uuid.uuid4().hex}"
    await run(admin, f"CREATE SCHEMA {schema}")
    yield schema
    await run(admin, f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
async def pg_role(admin: AsyncConnection) -> AsyncIterator[str]:
    """The name of a new role that may log in (no superuser), dropped after the test."""
    role = f"r_{uuid.uuid4().hex}"
    await run(admin, f"CREATE ROLE {role} LOGIN")
    yield role
    await run(
        admin,
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'",
        f"DROP OWNED BY {role} CASCADE",
        f"DROP ROLE {role}",
    )


@pytest.fixture
async def pg_database(admin: AsyncConnection) -> AsyncIterator[str]:
    """The name of a new, empty database, dropped after the test (its sessions ended)."""
    database = f"d_{uuid.uuid4().hex}"
    await run(admin, f"CREATE DATABASE {database}")
    yield database
    await run(admin, f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


@pytest.fixture
async def engine(postgresql_url: str) -> AsyncIterator[AsyncEngine]:
    """A plain engine on the test server, disposed after the test."""
    made = create_async_engine(postgresql_url)
    yield made
    await made.dispose()
