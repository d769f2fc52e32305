"""PersistenceContainer: adapter selection, the database resource, misconfiguration, the bus."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

import pytest
from dependency_injector import containers, providers
from dependency_injector.wiring import Provide, inject
from tests.unit.composition._app import (
    AddNote,
    CountNotes,
    Ledger,
    Note,
    Notebook,
    Sketchbook,
    mapping,
    register_notes,
    sketch_mapping,
)

from andamios.adapters.duckdb import Database, DuckDBSettings
from andamios.adapters.memory import InMemoryFactory, InMemoryStore, InMemoryUnitOfWork
from andamios.adapters.sqlalchemy import SqlAlchemyFactory, SqlAlchemyUnitOfWork
from andamios.application import MessageBus, RetryPolicy
from andamios.containers import PersistenceContainer
from andamios.ports import UnitOfWorkFactory
from andamios.ports.errors import ConfigurationError, DatabaseError, MappingError
from andamios.testing import FakeClock
from andamios.testing.models import Ticket


async def add_and_count(new_uow: UnitOfWorkFactory[Notebook], text: str) -> int:
    async with new_uow() as uow:
        await uow.notes.add(Note(text=text))
        await uow.commit()
    async with new_uow() as uow:
        return await uow.notes.count()


# -- both adapters, same code -------------------------------------------------------------------


async def test_each_call_gives_a_fresh_unit_of_work_over_the_same_data(
    started: PersistenceContainer,
) -> None:
    first, second = started.uow(), started.uow()
    assert first is not second
    assert isinstance(first, Notebook)
    assert await add_and_count(started.uow, "one") == 1
    assert await add_and_count(started.uow, "two") == 2


async def test_the_bus_runs_registered_handlers_on_the_configured_adapter(
    started: PersistenceContainer,
) -> None:
    bus = started.bus()
    assert bus is started.bus()  # one bus per container
    with pytest.raises(LookupError):  # no handlers given
        await bus.ask(CountNotes())


async def test_adapter_chosen_by_configuration(started: PersistenceContainer) -> None:
    uow = started.uow()
    expected = InMemoryUnitOfWork if started.config.adapter() == "memory" else SqlAlchemyUnitOfWork
    assert isinstance(uow, expected)


# -- memory --------------------------------------------------------------------------------------


async def test_memory_opens_no_database_and_keeps_one_store_per_container(
    container: PersistenceContainer,
) -> None:
    container.config.adapter.from_value("memory")
    await container.init_resources()
    assert await container.database() is None
    factory = container.uow_factory()
    assert isinstance(factory, InMemoryFactory)
    assert factory is container.uow_factory()
    assert factory.store is container.store()
    assert isinstance(container.store(), InMemoryStore)
    assert await add_and_count(container.uow, "kept") == 1
    other = PersistenceContainer(unit_of_work=Notebook)
    other.config.adapter.from_value("memory")
    assert await add_and_count(other.uow, "elsewhere") == 1  # its own store
    await container.shutdown_resources()


async def test_memory_bounds_open_transactions_by_the_pool_settings(
    container: PersistenceContainer,
) -> None:
    # The same settings as a SQL pool's, so a test on memory waits where production would.
    container.config.adapter.from_value("memory")
    container.config.database.pool_size.from_value(2)
    container.config.database.pool_timeout.from_value(0.25)
    pool = container.store().pool
    assert (pool.size, pool.timeout) == (2, 0.25)
    other = PersistenceContainer(unit_of_work=Notebook)
    other.config.adapter.from_value("memory")
    assert (other.store().pool.size, other.store().pool.timeout) == (5, 30.0)  # the defaults


async def test_memory_needs_no_started_resources(container: PersistenceContainer) -> None:
    container.config.adapter.from_value("memory")
    assert await add_and_count(container.uow, "no init") == 1


async def test_started_database_is_an_error_on_memory(container: PersistenceContainer) -> None:
    container.config.adapter.from_value("memory")
    await container.init_resources()
    with pytest.raises(DatabaseError, match="not started"):
        container.started_database()
    await container.shutdown_resources()


# -- duckdb --------------------------------------------------------------------------------------


async def test_duckdb_is_the_default_and_opens_the_database_at_startup(
    container: PersistenceContainer, duckdb_url: str
) -> None:
    assert container.config.adapter() == "duckdb"
    container.config.database.url.from_value(duckdb_url)
    container.config.schema_check.from_value("off")  # its tables are made below
    await container.init_resources()
    database = container.started_database()
    assert isinstance(database, Database)
    assert container.started_database().is_started
    assert await container.database() is database
    assert isinstance(container.uow_factory(), SqlAlchemyFactory)
    await database.create_all(mapping.metadata)  # create_tables is off by default
    assert await add_and_count(container.uow, "on disk") == 1
    await container.shutdown_resources()
    assert not database.is_started
    with pytest.raises(DatabaseError, match=r"init_resources\(\)"):
        container.uow()


async def test_duckdb_data_survives_a_restart(
    container: PersistenceContainer, duckdb_url: str
) -> None:
    container.config.from_dict({"database": {"url": duckdb_url, "create_tables": True}})
    await container.init_resources()
    await add_and_count(container.uow, "persisted")
    await container.shutdown_resources()
    await container.init_resources()  # create_tables again: the table is kept
    async with container.uow() as uow:
        assert [n.text for n in await uow.notes.find()] == ["persisted"]
    await container.shutdown_resources()


async def test_duckdb_settings_reach_the_database(
    container: PersistenceContainer, duckdb_url: str
) -> None:
    container.config.from_dict(
        {
            "database": {
                "url": duckdb_url,
                "threads": 1,
                "pool_size": 2,
                "pool_timeout": 4,
                "memory_limit": "256MB",
            },
            "schema_check": "off",  # an empty database, on purpose
        }
    )
    await container.init_resources()
    settings = container.started_database().settings
    assert isinstance(settings, DuckDBSettings)
    assert (settings.threads, settings.pool_size, settings.memory_limit) == (1, 2, "256MB")
    assert settings.pool_timeout == 4.0
    # Andamios's defaults: a file opened for writing, no external access, no extension loaded.
    assert (settings.read_only, settings.external_access, settings.extensions) == (
        False,
        False,
        (),
    )
    await container.shutdown_resources()


async def test_uow_before_startup_names_the_fix(
    container: PersistenceContainer, duckdb_url: str
) -> None:
    container.config.database.url.from_value(duckdb_url)
    with pytest.raises(DatabaseError, match=r"await container\.init_resources\(\)"):
        container.uow()


async def test_started_database_while_starting_is_not_started(
    container: PersistenceContainer, duckdb_url: str
) -> None:
    container.config.database.url.from_value(duckdb_url)
    container.config.database.create_tables.from_value(True)
    starting = container.init_resources()
    with pytest.raises(DatabaseError, match="not started"):
        container.started_database()
    await starting
    assert container.started_database().is_started
    await container.shutdown_resources()


# -- misconfiguration fails at startup, naming the setting ---------------------------------------


async def test_missing_url_for_duckdb(container: PersistenceContainer) -> None:
    with pytest.raises(ConfigurationError, match=r"database\.url \(ANDAMIOS_DATABASE__URL\)"):
        await container.init_resources()
    assert not container.database.initialized


async def test_unknown_adapter_at_startup_and_at_use(container: PersistenceContainer) -> None:
    container.config.adapter.from_value("postgres")
    with pytest.raises(ConfigurationError, match=r"adapter \(ANDAMIOS_ADAPTER\).*'postgres'"):
        await container.init_resources()
    with pytest.raises(
        ConfigurationError,
        match=r"^adapter \(ANDAMIOS_ADAPTER\) must be 'memory', 'duckdb' or 'postgresql', got 'p",
    ):
        container.uow()


async def test_not_a_duckdb_url(container: PersistenceContainer) -> None:
    container.config.database.url.from_value("sqlite:///shop.db")
    with pytest.raises(
        ConfigurationError, match=r"^database\.url \(ANDAMIOS_DATABASE__URL\): .*not a DuckDB URL"
    ):
        await container.init_resources()


async def test_a_postgresql_url_for_duckdb(container: PersistenceContainer) -> None:
    container.config.database.url.from_value("postgresql://db/shop")
    with pytest.raises(
        ConfigurationError, match=r"^database\.url \(ANDAMIOS_DATABASE__URL\): a postgresql URL"
    ):
        await container.init_resources()
    assert not container.database.initialized


async def test_a_duckdb_setting_error_names_its_variable(
    container: PersistenceContainer, duckdb_url: str
) -> None:
    container.config.database.from_dict({"url": duckdb_url, "memory_limit": " "})
    with pytest.raises(
        ConfigurationError, match=r"^database\.memory_limit \(ANDAMIOS_DATABASE__MEMORY_LIMIT\): "
    ):
        await container.init_resources()


async def test_inconsistent_database_settings(container: PersistenceContainer) -> None:
    container.config.database.from_dict({"url": "duckdb+async:///:memory:", "read_only": True})
    with pytest.raises(
        ConfigurationError,
        match=r"^database\.read_only \(ANDAMIOS_DATABASE__READ_ONLY\): .*read-only",
    ):
        await container.init_resources()


async def test_wrong_value_type(container: PersistenceContainer) -> None:
    container.config.database.pool_size.from_value(0)
    container.config.database.url.from_value("duckdb+async://")
    with pytest.raises(ConfigurationError, match=r"database\.pool_size \(ANDAMIOS_DATABASE__POOL"):
        await container.init_resources()


async def test_duckdb_needs_the_mapping(duckdb_url: str) -> None:
    container = PersistenceContainer(unit_of_work=Notebook)
    container.config.database.url.from_value(duckdb_url)
    with pytest.raises(ConfigurationError, match=r"mapping=mapping"):
        await container.init_resources()


async def test_unmapped_aggregate_fails_at_startup(duckdb_url: str) -> None:
    container = PersistenceContainer(unit_of_work=Ledger, mapping=mapping)
    container.config.database.url.from_value(duckdb_url)
    with pytest.raises(MappingError, match="Tally"):
        await container.init_resources()


class Outer(containers.DeclarativeContainer):
    """Nests the persistence container with the mapping as a plain value."""

    persistence = providers.Container(
        PersistenceContainer, unit_of_work=Sketchbook, mapping=sketch_mapping
    )


async def test_a_nested_container_keeps_the_one_mapping(duckdb_url: str) -> None:
    outer: Any = Outer()  # dependency-injector deep-copies plain values; a Mapping stays itself
    outer.persistence.config.from_dict({"database": {"url": duckdb_url, "create_tables": True}})
    await outer.init_resources()
    try:
        async with outer.persistence.uow() as uow:
            assert await uow.sketches.count() == 0
    finally:
        await outer.shutdown_resources()


async def test_not_a_unit_of_work_shape() -> None:
    container = PersistenceContainer(unit_of_work=Note)
    container.config.adapter.from_value("memory")
    with pytest.raises(MappingError, match="must subclass UnitOfWork"):
        await container.init_resources()


async def test_unopenable_database_fails_at_startup(
    container: PersistenceContainer, tmp_path: Any
) -> None:
    container.config.database.url.from_value(f"duckdb+async:///{tmp_path / 'no' / 'x.duckdb'}")
    with pytest.raises(DatabaseError, match="does not exist"):
        await container.init_resources()


# -- postgresql: what fails before any server is asked -------------------------------------------
#
# A server is needed only to open the database: tests/integration/postgresql/test_container.py.

PG_URL = "postgresql+asyncpg://shop:secret@db.invalid:5432/shop"


def on_postgresql(container: PersistenceContainer, **database: Any) -> PersistenceContainer:
    container.config.from_dict({"adapter": "postgresql", "database": {"url": PG_URL, **database}})
    return container


async def test_postgresql_without_a_url(container: PersistenceContainer) -> None:
    container.config.adapter.from_value("postgresql")
    with pytest.raises(
        ConfigurationError,
        match=r"^database\.url \(ANDAMIOS_DATABASE__URL\) is not set: the postgresql",
    ):
        await container.init_resources()


async def test_a_duckdb_url_for_postgresql(
    container: PersistenceContainer, duckdb_url: str
) -> None:
    on_postgresql(container, url=duckdb_url)
    with pytest.raises(ConfigurationError) as caught:
        await container.init_resources()
    assert str(caught.value).startswith(
        "database.url (ANDAMIOS_DATABASE__URL): a duckdb URL (duckdb+async://...) does not fit "
        "adapter (ANDAMIOS_ADAPTER) 'postgresql': give a postgresql URL such as "
    )
    assert not container.database.initialized


async def test_duckdb_settings_for_postgresql(container: PersistenceContainer) -> None:
    on_postgresql(container, threads=2, memory_limit="1GB")
    with pytest.raises(ConfigurationError) as caught:
        await container.init_resources()
    message = str(caught.value)
    assert message.startswith("database.threads (ANDAMIOS_DATABASE__THREADS) does not apply to ")
    assert "; database.memory_limit (ANDAMIOS_DATABASE__MEMORY_LIMIT) does not apply" in message


async def test_postgresql_settings_for_duckdb(
    container: PersistenceContainer, duckdb_url: str
) -> None:
    container.config.database.from_dict({"url": duckdb_url, "schema": "shop"})
    with pytest.raises(
        ConfigurationError,
        match=r"^database\.schema \(ANDAMIOS_DATABASE__SCHEMA\) does not apply to the duckdb ",
    ):
        await container.init_resources()


@pytest.mark.parametrize(
    ("setting", "value", "problem"),
    [
        ("url", "postgresql+asyncpg://shop:secret@/shop", "must name the server's host"),
        ("url", "postgresql://db/shop?search_path=x", "pass the setting as a keyword instead"),
        ("isolation_level", "read committed", "isolation_level must be one of"),
        ("schema", "Shop", "schema must be a plain lowercase identifier"),
        ("replica_url", "postgresql://shop:secret@replica", "must name the server's host"),
        ("replica_url", "duckdb+async:///x.duckdb", "is not a PostgreSQL URL"),
    ],
)
async def test_a_wrong_postgresql_setting_names_its_variable(
    container: PersistenceContainer, setting: str, value: str, problem: str
) -> None:
    on_postgresql(container, **{setting: value})
    with pytest.raises(ConfigurationError) as caught:
        await container.init_resources()
    message = str(caught.value)
    assert message.startswith(f"database.{setting} (ANDAMIOS_DATABASE__{setting.upper()}): ")
    assert problem in message
    assert "secret" not in message  # the adapter hides passwords; the prefix shows no value
    assert not container.database.initialized


async def test_postgresql_needs_the_mapping() -> None:
    container = on_postgresql(PersistenceContainer(unit_of_work=Notebook))
    with pytest.raises(ConfigurationError, match=r"^the postgresql adapter needs the mapping"):
        await container.init_resources()


async def test_unmapped_aggregate_fails_before_connecting_to_postgresql() -> None:
    # db.invalid never resolves: the mapping is checked before the server is asked.
    container = on_postgresql(PersistenceContainer(unit_of_work=Ledger, mapping=mapping))
    with pytest.raises(MappingError, match="Tally"):
        await container.init_resources()


async def test_postgresql_without_its_extra(
    container: PersistenceContainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # None in sys.modules makes the import fail as it does without asyncpg installed.
    monkeypatch.setitem(sys.modules, "andamios.adapters.postgresql", None)
    on_postgresql(container)
    with pytest.raises(
        ConfigurationError,
        match=r"^the postgresql adapter needs the postgresql extra \(pip install 'andamios\[postgr",
    ) as caught:
        await container.init_resources()
    assert isinstance(caught.value.__cause__, ImportError)


async def test_postgresql_uow_before_startup_names_the_fix(
    container: PersistenceContainer,
) -> None:
    on_postgresql(container)
    with pytest.raises(DatabaseError, match=r"await container\.init_resources\(\)"):
        container.uow()


# -- configuration sources -----------------------------------------------------------------------


def test_environment_is_read_when_the_container_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANDAMIOS_ADAPTER", "memory")
    monkeypatch.setenv("ANDAMIOS_DATABASE__POOL_SIZE", "3")
    monkeypatch.setenv("ANDAMIOS_DATABASE__SCHEMA", "shop")
    container = PersistenceContainer(unit_of_work=Notebook)
    assert container.config.adapter() == "memory"
    assert container.config.database.pool_size() == 3
    assert container.config.database.schema() == "shop"  # not schema_
    monkeypatch.setenv("ANDAMIOS_ADAPTER", "duckdb")
    assert container.config.adapter() == "memory"  # read once, when made
    container.config.adapter.from_value("duckdb")  # code overrides the environment
    assert container.config.adapter() == "duckdb"


def test_a_wrong_environment_fails_when_the_container_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ANDAMIOS_ADAPTER", "sqlite")
    with pytest.raises(ConfigurationError, match=r"adapter \(ANDAMIOS_ADAPTER\)"):
        PersistenceContainer(unit_of_work=Notebook)


def test_application_settings_share_the_config(container: PersistenceContainer) -> None:
    container.config.from_dict({"notes": {"max_length": 80}})
    assert container.config.notes.max_length() == 80
    assert container.config.adapter() == "duckdb"


async def test_config_override_for_a_test(container: PersistenceContainer, duckdb_url: str) -> None:
    container.config.database.url.from_value(duckdb_url)
    with container.config.adapter.override("memory"):
        assert isinstance(container.uow(), InMemoryUnitOfWork)
    with pytest.raises(DatabaseError):
        container.uow()  # back to duckdb, not started


# -- overriding and wiring -----------------------------------------------------------------------


async def test_override_the_unit_of_work_factory(container: PersistenceContainer) -> None:
    factory = InMemoryUnitOfWork.factory(Notebook)
    with container.uow_factory.override(providers.Object(factory)):
        assert await add_and_count(container.uow, "overridden") == 1
    assert factory.store.count(Note) == 1


@inject
async def count_with(
    new_uow: UnitOfWorkFactory[Notebook] = Provide[PersistenceContainer.uow.provider],
    bus: MessageBus[Notebook] = Provide[PersistenceContainer.bus],
) -> tuple[int, int]:
    note_id = await bus.handle(AddNote(text="wired"))
    async with new_uow() as uow:
        assert (await uow.notes.get(note_id)).text == "wired"
        return await uow.notes.count(), await bus.ask(CountNotes())


async def test_wiring_injects_the_containers_providers() -> None:
    seen: list[str] = []
    container = PersistenceContainer(
        unit_of_work=Notebook, handlers=[lambda bus: register_notes(bus, seen=seen)]
    )
    container.config.adapter.from_value("memory")
    container.wire(modules=[sys.modules[__name__]])
    try:
        assert await count_with() == (1, 1)
    finally:
        container.unwire()
    assert seen == ["wired"]


async def test_bus_takes_the_retry_policy(container: PersistenceContainer) -> None:
    policy = RetryPolicy(attempts=7)
    configured = PersistenceContainer(unit_of_work=Notebook, retry=policy)
    assert configured.bus().retry is policy
    assert container.bus().retry == RetryPolicy()


async def test_missing_unit_of_work_is_named() -> None:
    container = PersistenceContainer()
    container.config.adapter.from_value("memory")
    with pytest.raises(Exception, match=r"PersistenceContainer\.unit_of_work"):
        container.uow()


async def test_the_bus_dispatches_to_handlers_on_both_adapters(
    started: PersistenceContainer,
) -> None:
    seen: list[str] = []
    started.handlers.override([lambda bus: register_notes(bus, seen=seen)])
    bus = started.bus()
    await asyncio.gather(*(bus.handle(AddNote(text=f"n{i}")) for i in range(3)))
    assert await bus.ask(CountNotes()) == 3
    assert sorted(seen) == ["n0", "n1", "n2"]


async def test_the_clock_reaches_both_adapters(duckdb_url: str) -> None:
    clock = FakeClock()
    for adapter in ("memory", "duckdb"):
        container = PersistenceContainer(unit_of_work=Notebook, mapping=mapping, clock=clock)
        container.config.from_dict(
            {"adapter": adapter, "database": {"url": duckdb_url, "create_tables": True}}
        )
        await container.init_resources()
        try:
            factory: Any = container.uow_factory()
            assert factory.clock is clock
        finally:
            await container.shutdown_resources()


async def test_audit_timestamps_come_from_the_containers_clock() -> None:
    clock = FakeClock(datetime(2030, 5, 1, 12, 0, tzinfo=UTC))
    container = PersistenceContainer(unit_of_work=Notebook, clock=clock)
    container.config.adapter.from_value("memory")
    await container.init_resources()
    async with container.uow() as uow:
        ticket = Ticket(title="stamped")
        await uow.repository(Ticket).add(ticket)
        await uow.commit()
    assert ticket.created_at == datetime(2030, 5, 1, 12, 0, tzinfo=UTC)
    await container.shutdown_resources()
