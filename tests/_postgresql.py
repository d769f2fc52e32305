"""The PostgreSQL server the tests run on, and a fresh schema for each use of it.

The server is ``ANDAMIOS_TEST_POSTGRESQL_URL`` (default: the local one, trust auth). Without
it, PostgreSQL tests skip with one line saying why; with ``CI=true`` that is a failure, so a
green CI run always means PostgreSQL was tested. Each database a test opens lives in its own
schema (``search_path``), dropped afterwards: nothing is shared between tests or xdist workers.
"""

from __future__ import annotations

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
from sqlalchemy.engine import make_url

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


@contextlib.asynccontextmanager
async def schema_database(
    metadata: sa.MetaData | None = None, **settings: Any
) -> AsyncIterator[Database]:
    """A started :class:`Database` in a new schema (with ``metadata``'s tables), dropped on exit."""
    require_postgresql()
    # A unit of work waiting for another's row fails sooner than the default 5 s: the tests that
    # interleave two in one task (DuckDB refuses such a write at once) stay quick.
    settings.setdefault("lock_timeout", 0.5)
    schema = f"t_{uuid.uuid4().hex[:20]}"
    admin = await asyncpg.connect(_driver_dsn())
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            async with Database(POSTGRESQL_URL, schema=schema, **settings) as database:
                if metadata is not None:
                    async with database.engine.begin() as connection:
                        await connection.run_sync(
                            functools.partial(metadata.create_all, checkfirst=False)
                        )
                yield database
        finally:
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await admin.close()
