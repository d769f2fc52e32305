"""The composition root: a dependency-injector container that chooses, starts and closes an adapter.

::

    from andamios.containers import PersistenceContainer

    container = PersistenceContainer(unit_of_work=Shop, mapping=mapping, handlers=[register])
    container.config.from_dict({"database": {"url": "duckdb+async:///shop.duckdb"}})
    # or a server: {"adapter": "postgresql", "database": {"url": "postgresql+asyncpg://..."}}
    # tests: container.config.adapter.from_value("memory") -- same code, no database

    await container.init_resources()       # checks the settings, opens the database
    async with container.uow() as uow: ...  # a fresh unit of work per call
    await container.bus().handle(command)   # the message bus, with your handlers
    await container.shutdown_resources()   # closes the database

The container reads :class:`~andamios.settings.AndamiosSettings` from the environment
(``ANDAMIOS_ADAPTER``, ``ANDAMIOS_DATABASE__URL``, ...) and ``[tool.andamios]`` of the nearest
``pyproject.toml`` into ``config`` when it is made, as ``andamios db`` reads them (a relative
DuckDB file is taken from that ``pyproject.toml``'s folder); later ``config.from_*`` calls
override it. ``init_resources()`` validates the whole configuration (a wrong or missing setting
is a :class:`~andamios.ports.errors.ConfigurationError` naming it) and, for ``duckdb`` and
``postgresql``, opens the database and checks that it is migrated to head
(:class:`~andamios.ports.errors.SchemaNotMigrated` otherwise; ``schema_check``). The in-memory
adapter keeps one store per container, so every unit of work of a container sees what the others
committed.

This is the only module of Andamios that imports adapters. The DuckDB, PostgreSQL and
SQLAlchemy ones are imported when their adapter starts, so a process on the memory adapter
never loads a database driver, and one on DuckDB never loads asyncpg. See
``docs/adr/0007-composition-root.md`` and ``docs/guides/containers.md``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dependency_injector import containers, providers

from andamios.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from andamios.application import MessageBus, Middleware, RetryPolicy
from andamios.observability import Metrics, OpenTelemetryHooks, SlowOperationLog
from andamios.ports import Clock, Hooks, UnitOfWork, UnitOfWorkFactory, compose
from andamios.ports.errors import ConfigurationError, DatabaseError, SchemaNotMigrated
from andamios.project import Project
from andamios.settings import (
    ADAPTERS,
    AndamiosSettings,
    ObservabilitySettings,
    check_settings,
    env_name,
)

if TYPE_CHECKING:
    from dependency_injector.providers import BaseResource

    from andamios.adapters import duckdb, postgresql
    from andamios.adapters.sqlalchemy import Mapping as TableMapping
    from andamios.adapters.sqlalchemy import SqlAlchemyFactory

    type Database = duckdb.Database | postgresql.Database

__all__ = ["PersistenceContainer"]

_log = logging.getLogger(__name__)


def _adapter(name: object) -> str:
    """The configured adapter's name, checked (``Selector`` would only say "no provider")."""
    if name not in ADAPTERS:
        *first, last = (repr(each) for each in ADAPTERS)
        choices = f"{', '.join(first)} or {last}"  # as pydantic lists them
        msg = f"adapter ({env_name('adapter')}) must be {choices}, got {name!r}"
        raise ConfigurationError(msg)
    return str(name)


def _checked_setting[T](name: str, make: Callable[..., T], **values: Any) -> T:
    """``make(**values)``, its error prefixed with the setting ``name`` and its variable."""
    try:
        return make(**values)
    except ConfigurationError as error:
        setting = f"database.{name}"
        msg = f"{setting} ({env_name(setting)}): {error}"
        raise ConfigurationError(msg) from error


def _with_resolved_url(
    settings: AndamiosSettings, resolve_url: Callable[..., str], project: Project
) -> AndamiosSettings:
    """``settings`` with a relative database file taken from the project's folder (where the
    ``andamios`` command takes it from), not from the current directory.

    A URL its adapter refuses is left as it is: :func:`_adapter_settings` names the setting.
    """
    options = settings.database.options(settings.adapter)
    url = options.pop("url")
    try:
        resolved = resolve_url(url, project.root, **options)
    except ConfigurationError:
        return settings
    database = settings.database.model_copy(update={"url": resolved})
    return settings.model_copy(update={"database": database})


def _adapter_settings[T](make: Callable[..., T], settings: AndamiosSettings) -> T:
    """The adapter's settings class ``make`` filled in, an error naming the setting at fault.

    The settings classes check the values, and their messages name a keyword, not a variable:
    so when the settings fail together, the URL is checked alone, then each setting with the URL
    alone, and the error is prefixed with the one setting that fails. (Together first: a URL
    option that a setting allows, ``?enable_external_access=true`` with ``external_access``,
    fails with the URL alone.)
    """
    options = settings.database.options(settings.adapter)
    url = options.pop("url")
    try:
        return make(url=url, **options)
    except ConfigurationError:
        _checked_setting("url", make, url=url)
        for name, value in options.items():
            _checked_setting(name, make, url=url, **{name: value})
        # Every rule of both adapters' settings is about the URL and at most one setting, so
        # one of the checks above has failed.
        raise  # pragma: no cover - see above


def _new_database(settings: AndamiosSettings, project: Project) -> Database:
    """The database of the ``duckdb`` or ``postgresql`` adapter, made but not started.

    Each adapter is imported only when chosen: memory runs load no driver, DuckDB runs no asyncpg.
    """
    if settings.adapter == "duckdb":
        from andamios.adapters.duckdb import Database as DuckDB  # noqa: PLC0415 - duckdb only
        from andamios.adapters.duckdb import DuckDBSettings  # noqa: PLC0415

        settings = _with_resolved_url(settings, DuckDB.resolve_url, project)
        return DuckDB.from_settings(_adapter_settings(DuckDBSettings, settings))
    try:
        from andamios.adapters.postgresql import Database as PostgreSQL  # noqa: PLC0415
        from andamios.adapters.postgresql import PostgreSQLSettings  # noqa: PLC0415
    except ImportError as error:
        # asyncpg is an extra: say how to get it rather than which module was missing.
        msg = (
            "the postgresql adapter needs the postgresql extra "
            f"(pip install 'andamios[postgresql]'): {error}"
        )
        raise ConfigurationError(msg) from error
    settings = _with_resolved_url(settings, PostgreSQL.resolve_url, project)
    return PostgreSQL.from_settings(_adapter_settings(PostgreSQLSettings, settings))


def _memory_store(config: Mapping[str, Any]) -> InMemoryStore:
    """The container's one store: as many units of work hold a transaction at once as a SQL
    pool has connections (``database.pool_size``, waiting ``database.pool_timeout``)."""
    database = check_settings(config).database
    return InMemoryStore(pool_size=database.pool_size, pool_timeout=database.pool_timeout)


async def _open_database(
    config: Mapping[str, Any], unit_of_work: type[UnitOfWork], mapping: TableMapping | None
) -> AsyncIterator[Database | None]:
    """The ``database`` resource: check every setting, then open the database (not on memory)."""
    settings = check_settings(config)
    compose(InMemoryUnitOfWork, unit_of_work)  # what is not a unit-of-work shape fails here
    if settings.adapter == "memory":
        yield None
        return
    from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork  # noqa: PLC0415

    if mapping is None:
        msg = (
            f"the {settings.adapter} adapter needs the mapping of your aggregates: "
            "PersistenceContainer(unit_of_work=..., mapping=mapping)"
        )
        raise ConfigurationError(msg)
    project = Project.find()
    database = _new_database(settings, project)
    # An aggregate of the shape that the mapping lacks fails now, not at the first unit of work.
    SqlAlchemyUnitOfWork.factory(unit_of_work, database=database, mapping=mapping)
    await database.start()
    try:
        if settings.database.create_tables:
            await database.create_all(mapping.metadata)
        elif settings.schema_check != "off":
            await _check_schema(database, mapping, project.path(settings.migrations), settings)
        yield database
    finally:
        await database.close()


async def _check_schema(
    database: Database, mapping: TableMapping, migrations: Path, settings: AndamiosSettings
) -> None:
    """Refuse (or warn about) a database that is not migrated to head, or lacks the mapping's
    tables, before the first unit of work fails on it."""
    from sqlalchemy.exc import SQLAlchemyError  # noqa: PLC0415 - not on the memory adapter

    from andamios.adapters.migrations import schema_problem  # noqa: PLC0415 - loads Alembic

    try:
        problem = await schema_problem(database, database.engine, mapping.metadata, migrations)
    except SQLAlchemyError as error:
        raise database.translate_error(error) from error
    if problem is None:
        return
    if settings.schema_check == "warn":
        _log.warning("%s", problem)
        return
    raise SchemaNotMigrated(problem)


def _started(resource: BaseResource[Any]) -> Database:
    """The open database of the ``database`` resource, or a clear error if it is not open."""
    value: Any = resource() if resource.initialized else None
    if isinstance(value, asyncio.Future):
        # An async resource hands out the future of its start; it is done once started.
        value = value.result() if value.done() else None
    if value is None:
        msg = (
            "the database is not started: 'await container.init_resources()' first "
            "(andamios.run(main, container=container) does it for you)"
        )
        raise DatabaseError(msg)
    database: Database = value
    return database


def _sql_factory(
    unit_of_work: type[UnitOfWork],
    database: Database,
    mapping: TableMapping,
    clock: Clock | None,
    hooks: Iterable[Hooks],
) -> SqlAlchemyFactory[UnitOfWork]:
    from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork  # noqa: PLC0415

    return SqlAlchemyUnitOfWork.factory(
        unit_of_work, database=database, mapping=mapping, clock=clock, hooks=hooks
    )


def _observability(config: Mapping[str, Any]) -> ObservabilitySettings:
    """The ``observability`` settings, checked (a bus or a memory factory needs no database
    settings, so the configuration is not checked for completeness here)."""
    return AndamiosSettings(**config).observability


def _all_hooks(
    config: Mapping[str, Any], hooks: Iterable[Hooks], metrics: Callable[[], Metrics]
) -> list[Hooks]:
    """The user's hooks, then those the ``observability`` settings turn on."""
    settings = _observability(config)
    chosen = list(hooks)
    if settings.metrics:
        chosen.append(metrics())
    if settings.slow_threshold is not None:
        chosen.append(SlowOperationLog(settings.slow_threshold))
    if settings.opentelemetry:
        try:
            chosen.append(OpenTelemetryHooks())
        except ImportError as error:
            setting = "observability.opentelemetry"
            msg = f"{setting} ({env_name(setting)}): {error}"
            raise ConfigurationError(msg) from error
    return chosen


def _all_middleware(
    config: Mapping[str, Any], middleware: Iterable[Middleware], metrics: Callable[[], Metrics]
) -> list[Middleware]:
    """The user's bus middleware, then the metrics' where ``observability.metrics`` is on."""
    chosen = list(middleware)
    if _observability(config).metrics:
        chosen.append(metrics().middleware)
    return chosen


def _message_bus(
    new_uow: UnitOfWorkFactory[UnitOfWork],
    handlers: Iterable[Callable[[MessageBus[Any]], object]],
    retry: RetryPolicy | None,
    middleware: Iterable[Middleware],
) -> MessageBus[Any]:
    bus = MessageBus(new_uow, retry=retry, middleware=middleware)
    for register in handlers:
        register(bus)
    return bus


class PersistenceContainer(containers.DeclarativeContainer):
    """Units of work of your shape on the configured adapter, the database, and the message bus.

    Make one per process with your unit-of-work shape and mapping (keyword arguments fill the
    providers of the same name)::

        container = PersistenceContainer(unit_of_work=Shop, mapping=mapping, handlers=[register])

    Providers:

    - ``config``: the settings (see :mod:`andamios.settings`); ``config.adapter`` is ``duckdb``,
      ``postgresql`` or ``memory``; ``config.database.url`` and friends open the database.
    - ``database``: a resource started by ``await container.init_resources()`` and closed by
      ``await container.shutdown_resources()``; ``None`` on the memory adapter (no database).
    - ``started_database``: the open :class:`andamios.adapters.duckdb.Database` or
      :class:`andamios.adapters.postgresql.Database`, or a
      :class:`~andamios.ports.errors.DatabaseError` if it is not started.
    - ``uow_factory``: the adapter's unit-of-work factory, chosen by ``config.adapter``.
    - ``uow``: a fresh unit of work of your shape per call (``async with container.uow() as
      uow:``); inject ``Provide[Container.uow.provider]`` where a factory is wanted.
    - ``store``: the one :class:`~andamios.adapters.memory.InMemoryStore` of this container.
    - ``bus``: one :class:`~andamios.application.MessageBus` over ``uow``, with every
      registration function of ``handlers`` applied to it (``register(bus)``), and ``retry``.
    - ``clock``: the :class:`~andamios.ports.Clock` of audit timestamps (``None``: the system's
      UTC clock); tests pass ``clock=FakeClock()``.
    - ``hooks``: your :class:`~andamios.ports.Hooks`, told what every unit of work does; the
      ``observability`` settings add the shipped ones (``unit_of_work_hooks`` lists them all).
    - ``middleware``: your message-bus middleware (:class:`~andamios.application.Middleware`).
    - ``metrics``: the one :class:`~andamios.observability.Metrics` of this container, told by
      every unit of work and the bus when ``observability.metrics`` is on.

    Extend it by nesting, not by subclassing: ``persistence = providers.Container(
    PersistenceContainer, unit_of_work=Shop, mapping=mapping, handlers=...)`` in your own
    container (a subclass that redefines ``handlers`` would leave ``bus`` bound to this class's
    ``handlers``; ADR 0007). Override any provider in tests (``container.uow.override(...)``).
    """

    unit_of_work = providers.Dependency(instance_of=type)
    mapping: providers.Object[TableMapping | None] = providers.Object(None)
    handlers: providers.Object[Iterable[Callable[[MessageBus[Any]], object]]] = providers.Object(())
    retry: providers.Object[RetryPolicy | None] = providers.Object(None)
    clock: providers.Object[Clock | None] = providers.Object(None)
    hooks: providers.Object[Iterable[Hooks]] = providers.Object(())
    middleware: providers.Object[Iterable[Middleware]] = providers.Object(())

    config = providers.Configuration(pydantic_settings=[AndamiosSettings])
    adapter = providers.Callable(_adapter, config.adapter)

    database = providers.Resource(_open_database, config, unit_of_work, mapping)
    started_database = providers.Callable(_started, database.provider)

    metrics = providers.Singleton(Metrics)
    unit_of_work_hooks = providers.Singleton(_all_hooks, config, hooks, metrics.provider)
    bus_middleware = providers.Singleton(_all_middleware, config, middleware, metrics.provider)

    store = providers.Singleton(_memory_store, config)
    memory_uow_factory = providers.Singleton(
        InMemoryUnitOfWork.factory, unit_of_work, store=store, clock=clock, hooks=unit_of_work_hooks
    )
    # Factories over started_database, so a restart (shutdown_resources() then
    # init_resources()) uses the new engine. Both databases take the same SQLAlchemy factory.
    duckdb_uow_factory = providers.Factory(
        _sql_factory, unit_of_work, started_database, mapping, clock, unit_of_work_hooks
    )
    postgresql_uow_factory = providers.Factory(
        _sql_factory, unit_of_work, started_database, mapping, clock, unit_of_work_hooks
    )
    uow_factory = providers.Selector(
        adapter,
        memory=memory_uow_factory,
        duckdb=duckdb_uow_factory,
        postgresql=postgresql_uow_factory,
    )
    uow = uow_factory.provided.call()

    bus = providers.Singleton(_message_bus, uow.provider, handlers, retry, bus_middleware)

    if TYPE_CHECKING:
        # The database resource is async, so these always return an awaitable.
        def init_resources(  # noqa: D102
            self, resource_type: type[BaseResource[Any]] = ...
        ) -> Awaitable[None]: ...

        def shutdown_resources(  # noqa: D102
            self, resource_type: type[BaseResource[Any]] = ...
        ) -> Awaitable[None]: ...
