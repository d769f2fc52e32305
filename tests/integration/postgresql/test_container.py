"""PersistenceContainer on the postgresql adapter: a real server, a fresh schema per test.

The settings and errors that need no server are tested in tests/unit/composition; these open the
database, run units of work and the bus on it, and check that shutting down closes every
connection. Each test's tables live in a schema of its own (``tests._postgresql``), dropped after.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from tests._postgresql import POSTGRESQL_URL, schema_database
from tests.unit.composition._app import AddNote, CountNotes, Note, Notebook, mapping, register_notes

from andamios.adapters.postgresql import Database
from andamios.adapters.sqlalchemy import SqlAlchemyFactory, SqlAlchemyUnitOfWork
from andamios.containers import PersistenceContainer
from andamios.ports import UnitOfWorkFactory
from andamios.ports.errors import ConfigurationError, DatabaseError, DatabaseUnavailable
from andamios.testing import FakeClock


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ``ANDAMIOS_*`` variable of the developer's shell reaches the containers."""
    # tests._postgresql read ANDAMIOS_TEST_POSTGRESQL_URL at import, so it may go too.
    for name in list(os.environ):
        if name.startswith("ANDAMIOS_"):
            monkeypatch.delenv(name)


@pytest.fixture
async def admin() -> AsyncIterator[Database]:
    """A database in a new schema holding the mapping's tables (as a migrated one would)."""
    async with schema_database(mapping.metadata) as database:
        yield database


@pytest.fixture
def schema(admin: Database) -> str:
    assert admin.settings.schema is not None
    return admin.settings.schema


@pytest.fixture
async def empty_schema() -> AsyncIterator[str]:
    """A new schema without tables."""
    async with schema_database() as database:
        assert database.settings.schema is not None
        yield database.settings.schema


def on_postgresql(container: PersistenceContainer, schema: str, **database: object) -> None:
    container.config.from_dict(
        {
            "adapter": "postgresql",
            "database": {"url": POSTGRESQL_URL, "schema": schema, **database},
        }
    )


@pytest.fixture
async def started(schema: str) -> AsyncIterator[PersistenceContainer]:
    container = PersistenceContainer(unit_of_work=Notebook, mapping=mapping)
    on_postgresql(container, schema)
    await container.init_resources()
    yield container
    await container.shutdown_resources()


def started_database(container: PersistenceContainer) -> Database:
    database = container.started_database()
    assert isinstance(database, Database)
    return database


async def add_and_count(new_uow: UnitOfWorkFactory[Notebook], text: str) -> int:
    async with new_uow() as uow:
        await uow.notes.add(Note(text=text))
        await uow.commit()
    async with new_uow() as uow:
        return await uow.notes.count()


def _is_started(database: Database) -> bool:
    # A function, so that mypy does not carry a narrowed property across the awaits.
    return database.is_started


async def _backend_ended(admin: Database, pid: int) -> bool:
    """Whether the server backend ``pid`` is gone (it ends a moment after its client leaves)."""
    async with asyncio.timeout(10):
        while True:
            async with admin.engine.connect() as conn:
                found = await conn.scalar(
                    sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
                )
            if found == 0:
                return True
            await asyncio.sleep(0.05)


# -- a unit of work end to end --------------------------------------------------------------------


async def test_a_unit_of_work_runs_end_to_end_and_shutdown_closes_every_connection(
    admin: Database, schema: str
) -> None:
    container = PersistenceContainer(unit_of_work=Notebook, mapping=mapping)
    on_postgresql(container, schema)
    await container.init_resources()
    database = started_database(container)
    assert _is_started(database)
    assert await container.database() is database
    assert database.settings.schema == schema
    assert isinstance(container.uow_factory(), SqlAlchemyFactory)
    uow = container.uow()
    assert isinstance(uow, Notebook)
    assert isinstance(uow, SqlAlchemyUnitOfWork)
    assert await add_and_count(container.uow, "on the server") == 1
    assert await add_and_count(container.uow, "and another") == 2
    async with admin.engine.connect() as conn:
        # Written to the schema's table, as seen by another connection.
        assert await conn.scalar(sa.text("SELECT count(*) FROM composition_notes")) == 2
    async with database.engine.connect() as conn:
        pid = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
    assert isinstance(pid, int)

    await container.shutdown_resources()
    assert not _is_started(database)
    assert await _backend_ended(admin, pid)  # the pooled connection was closed
    with pytest.raises(DatabaseError, match=r"init_resources\(\)"):
        container.uow()


async def test_the_bus_runs_handlers_on_postgresql(started: PersistenceContainer) -> None:
    seen: list[str] = []
    started.handlers.override([lambda bus: register_notes(bus, seen=seen)])
    bus = started.bus()
    await asyncio.gather(*(bus.handle(AddNote(text=f"n{i}")) for i in range(3)))
    assert await bus.ask(CountNotes()) == 3
    assert sorted(seen) == ["n0", "n1", "n2"]


async def test_create_tables_creates_the_mappings_tables(empty_schema: str) -> None:
    container = PersistenceContainer(unit_of_work=Notebook, mapping=mapping)
    on_postgresql(container, empty_schema, create_tables=True)
    await container.init_resources()
    try:
        assert await add_and_count(container.uow, "created") == 1
    finally:
        await container.shutdown_resources()


async def test_data_survives_a_restart(schema: str) -> None:
    container = PersistenceContainer(unit_of_work=Notebook, mapping=mapping)
    on_postgresql(container, schema, create_tables=True)  # the tables exist: kept as they are
    await container.init_resources()
    await add_and_count(container.uow, "persisted")
    await container.shutdown_resources()
    await container.init_resources()  # a new engine, which the factory picks up
    try:
        async with container.uow() as uow:
            assert [n.text for n in await uow.notes.find()] == ["persisted"]
    finally:
        await container.shutdown_resources()


async def test_the_clock_reaches_the_postgresql_factory(schema: str) -> None:
    clock = FakeClock()
    container = PersistenceContainer(unit_of_work=Notebook, mapping=mapping, clock=clock)
    on_postgresql(container, schema)
    await container.init_resources()
    try:
        factory = container.uow_factory()
        assert isinstance(factory, SqlAlchemyFactory)
        assert factory.clock is clock
    finally:
        await container.shutdown_resources()


# -- settings from the environment reach the server ----------------------------------------------


async def test_environment_settings_reach_the_server(
    monkeypatch: pytest.MonkeyPatch, schema: str
) -> None:
    for name, value in {
        "ADAPTER": "postgresql",
        "DATABASE__URL": POSTGRESQL_URL,
        "DATABASE__SCHEMA": schema,
        "DATABASE__POOL_SIZE": "2",
        "DATABASE__MAX_OVERFLOW": "1",
        "DATABASE__POOL_TIMEOUT": "5",
        "DATABASE__STATEMENT_TIMEOUT": "15",
        "DATABASE__ISOLATION_LEVEL": "SERIALIZABLE",
    }.items():
        monkeypatch.setenv(f"ANDAMIOS_{name}", value)
    container = PersistenceContainer(unit_of_work=Notebook, mapping=mapping)  # reads them now
    await container.init_resources()
    try:
        database = started_database(container)
        settings = database.settings
        assert (settings.pool_size, settings.max_overflow, settings.pool_timeout) == (2, 1, 5.0)
        async with database.engine.connect() as conn:
            assert await conn.scalar(sa.text("SELECT current_schema()")) == schema
            assert await conn.scalar(sa.text("SHOW statement_timeout")) == "15s"
            assert await conn.scalar(sa.text("SHOW transaction_isolation")) == "serializable"
        assert await add_and_count(container.uow, "serializable") == 1
    finally:
        await container.shutdown_resources()


# -- what fails at startup -----------------------------------------------------------------------


async def test_a_schema_that_does_not_exist_fails_at_startup(schema: str) -> None:
    container = PersistenceContainer(unit_of_work=Notebook, mapping=mapping)
    on_postgresql(container, f"{schema}_missing")
    with pytest.raises(ConfigurationError, match=r"does not exist .*CREATE SCHEMA"):
        await container.init_resources()
    assert not container.database.initialized


def _closed_port() -> int:
    """A local port nothing listens on (it was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_a_server_that_cannot_be_reached_fails_at_startup() -> None:
    # No server needed: nothing listens on the port, so connecting is refused at once.
    container = PersistenceContainer(unit_of_work=Notebook, mapping=mapping)
    url = f"postgresql+asyncpg://andamios:secret@127.0.0.1:{_closed_port()}/shop"
    container.config.from_dict(
        {"adapter": "postgresql", "database": {"url": url, "pool_timeout": 2}}
    )
    with pytest.raises(DatabaseUnavailable, match=r"127\.0\.0\.1:\d+, database 'shop'") as caught:
        await container.init_resources()
    assert "secret" not in str(caught.value)
    assert not container.database.initialized
