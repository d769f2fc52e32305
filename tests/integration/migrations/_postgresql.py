"""The PostgreSQL server migrations are tested on, and a schema of its own for each test.

The server is ``ANDAMIOS_TEST_POSTGRESQL_URL`` (default: the local one, trust auth). When it
cannot be reached, a test that needs it skips with one line saying why; with ``CI=true`` it
fails instead, so a green CI run always means migrations were tested on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from tests._postgresql import POSTGRESQL_URL, require_postgresql

__all__ = ["URL_VARIABLE", "fresh_schema", "query", "server_url"]

URL_VARIABLE = "ANDAMIOS_TEST_POSTGRESQL_URL"


def query(url: str, *statements: str, schema: str | None = None) -> list[tuple[Any, ...]]:
    """Run ``statements`` (autocommit, in ``schema`` if given); the rows of the last one."""

    async def run() -> list[tuple[Any, ...]]:
        settings = {} if schema is None else {"server_settings": {"search_path": schema}}
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT", connect_args=settings)
        rows: list[tuple[Any, ...]] = []
        try:
            async with engine.connect() as connection:
                for statement in statements:
                    result = await connection.execute(sa.text(statement))
                    rows = [tuple(row) for row in result] if result.returns_rows else []
        finally:
            await engine.dispose()
        return rows

    return asyncio.run(run())


def server_url() -> str:
    """The test server's URL: skips the test without a server, fails it under ``CI=true``."""
    require_postgresql()
    return POSTGRESQL_URL


@contextlib.contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A new, empty schema on the server, dropped with all it holds afterwards."""
    schema = f"t_{uuid.uuid4().hex}"
    query(url, f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        query(url, f"DROP SCHEMA {schema} CASCADE")
