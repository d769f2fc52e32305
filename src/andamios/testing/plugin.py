"""The Andamios pytest plugin: your service tests on every adapter, from a few lines of settings.

Installed with ``andamios[testing]`` (a ``pytest11`` entry point: nothing to import). Configure it
once, in ``[tool.andamios]`` of ``pyproject.toml`` (or the same keys as pytest ini options,
prefixed ``andamios_``)::

    [tool.andamios]
    unit_of_work = "shop.ports:Shop"          # your unit-of-work shape
    mapping = "shop.adapters.orm:mapping"     # your Mapping (the SQL adapters need it)
    migrations = "migrations"                 # for @pytest.mark.andamios(migrate=True)

    [tool.pytest.ini_options]
    andamios_handlers = ["shop.handlers:register"]   # for the message_bus fixture

Then a test asks for a fixture and runs once per adapter, the adapter in its id
(``test_x[memory]``, ``test_x[duckdb]``)::

    async def test_allocate(uow_factory):
        async with uow_factory() as uow:
            ...

Fixtures (all function-scoped: nothing is shared between tests or ``pytest -n`` workers):

- ``andamios_adapter``: the adapter's name, one of ``--andamios-adapters`` (default
  ``memory,duckdb``; ``postgresql`` needs ``--andamios-postgresql-url`` or
  ``ANDAMIOS_TEST_POSTGRESQL_URL``, and gives each test a schema of its own).
- ``andamios_database``: the started database of the test (``None`` on memory): in-memory DuckDB,
  or a file in ``tmp_path`` with ``@pytest.mark.andamios(file=True)``; its tables made from the
  mapping, or with ``@pytest.mark.andamios(migrate=True)`` by running your migrations to head.
- ``uow_factory``: a factory of your shape on that adapter; ``uow``: one fresh unit of work.
  A test that leaves a unit of work open fails, naming it.
- ``message_bus``: a :class:`~andamios.application.MessageBus` over ``uow_factory`` with your
  handlers registered and a retry policy that does not sleep (``andamios_retry``).
- ``andamios_clock``: the :class:`~andamios.testing.FakeClock` of every unit of work made.
- ``andamios_container``: a started :class:`~andamios.containers.PersistenceContainer` on the
  adapter (tables made from the mapping), shut down after the test.

``@pytest.mark.andamios(adapters=["memory"])`` limits one test to some adapters. Works with
pytest-asyncio in strict and auto mode.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from andamios._pytest_plugin import ADAPTERS, DEFAULT_ADAPTERS, POSTGRESQL_VARIABLE
from andamios.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from andamios.application import MessageBus, RetryPolicy
from andamios.ports import UnitOfWork, UnitOfWorkFactory, UnitOfWorkState
from andamios.ports.errors import ConfigurationError
from andamios.project import Project
from andamios.settings import load_project_settings
from andamios.testing._clock import FakeClock

__all__ = [
    "andamios_clock",
    "andamios_container",
    "andamios_database",
    "andamios_retry",
    "message_bus",
    "uow",
    "uow_factory",
]


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``andamios`` marker; refuse wrong adapter options at once."""
    config.addinivalue_line(
        "markers",
        "andamios(adapters=None, file=False, migrate=False): which adapters a test runs on, "
        "and how its database is made",
    )
    _adapters(config)


@dataclass(frozen=True, slots=True)
class _Setup:
    """What the plugin resolved from the options and the project's settings."""

    project: Project
    adapters: tuple[str, ...]
    unit_of_work: str | None
    mapping: str | None
    handlers: tuple[str, ...]
    postgresql_url: str | None

    def load(self, path: str | None, what: str) -> Any:
        """Import ``package.module:attribute`` (importable as the tests import it: installed, or
        on ``pythonpath``)."""
        if path is None:
            raise pytest.UsageError(
                f'andamios: no {what}: set {what} = "package.module:attribute" in '
                f"[tool.andamios] of pyproject.toml (or andamios_{what} in pytest's ini options)"
            )
        module_name, _, attribute = path.partition(":")
        try:
            found: Any = importlib.import_module(module_name)
            for part in attribute.split("."):
                found = getattr(found, part)
        except (ImportError, AttributeError) as error:
            raise pytest.UsageError(
                f"andamios: {what} {path!r} cannot be imported: {error}"
            ) from error
        return found


_SETUP = pytest.StashKey[_Setup]()


def _adapters(config: pytest.Config) -> tuple[tuple[str, ...], str | None]:
    """The adapters asked for and the PostgreSQL server's URL; a usage error if wrong."""
    listed = config.getoption("--andamios-adapters") or config.getini("andamios_adapters")
    adapters = tuple(
        name.strip() for name in (listed or DEFAULT_ADAPTERS).split(",") if name.strip()
    )
    unknown = [name for name in adapters if name not in ADAPTERS]
    if unknown or not adapters:
        raise pytest.UsageError(
            f"--andamios-adapters: {', '.join(unknown) or '(none)'} is not an adapter; choose "
            f"among {', '.join(ADAPTERS)}"
        )
    url = (
        config.getoption("--andamios-postgresql-url")
        or config.getini("andamios_postgresql_url")
        or os.environ.get(POSTGRESQL_VARIABLE)
    )
    if "postgresql" in adapters and not url:
        raise pytest.UsageError(
            "andamios: the postgresql adapter needs a server: --andamios-postgresql-url URL "
            f"(or ${POSTGRESQL_VARIABLE})"
        )
    return adapters, url


def _setup(config: pytest.Config) -> _Setup:
    if _SETUP in config.stash:
        return config.stash[_SETUP]
    project = Project.find(config.rootpath)
    try:
        settings, _ = load_project_settings(project)
    except ConfigurationError as error:
        raise pytest.UsageError(f"andamios: {error}") from error
    adapters, url = _adapters(config)
    setup = _Setup(
        project=project,
        adapters=adapters,
        unit_of_work=config.getini("andamios_unit_of_work") or settings.unit_of_work,
        mapping=config.getini("andamios_mapping") or settings.mapping,
        handlers=tuple(config.getini("andamios_handlers")),
        postgresql_url=url,
    )
    config.stash[_SETUP] = setup
    return setup


def _marker(node: pytest.Item | Any) -> dict[str, Any]:
    marker = node.get_closest_marker("andamios")
    return dict(marker.kwargs) if marker is not None else {}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that uses an Andamios fixture once per adapter: ``andamios_adapter``, the
    adapter's name, is a parameter every Andamios fixture depends on."""
    if "andamios_adapter" not in metafunc.fixturenames:
        return
    setup = _setup(metafunc.config)
    wanted = _marker(metafunc.definition).get("adapters")
    adapters = [name for name in setup.adapters if wanted is None or name in wanted]
    metafunc.parametrize("andamios_adapter", adapters, ids=adapters, scope="function")


@pytest.fixture
def andamios_clock() -> FakeClock:
    """The clock of every unit of work the test makes: it stands still until told to move."""
    return FakeClock()


@pytest.fixture
def andamios_retry() -> RetryPolicy:
    """A retry policy for conflicts that retries at once (no sleep)."""
    return RetryPolicy(attempts=3, backoff=0, jitter=0)


@pytest_asyncio.fixture
async def andamios_database(
    andamios_adapter: str, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Any]:
    """The started database of this test, its schema made; ``None`` on the memory adapter."""
    if andamios_adapter == "memory":
        yield None
        return
    setup = _setup(request.config)
    mapping = setup.load(setup.mapping, "mapping")
    wanted = _marker(request.node)
    migrate = bool(wanted.get("migrate"))
    if andamios_adapter == "duckdb":
        from andamios.adapters.duckdb import Database  # noqa: PLC0415 - only when chosen

        in_file = migrate or bool(wanted.get("file"))
        url = (
            f"duckdb+async:///{tmp_path / 'andamios.duckdb'}"
            if in_file
            else "duckdb+async:///:memory:"
        )
        made = _Made(Database(url), mapping=mapping, setup=setup, migrate=migrate, url=url)
        async with made as database:
            yield database
        return
    async with _PostgreSQLSchema(setup) as (url, schema):
        from andamios.adapters.postgresql import Database as PostgreSQL  # noqa: PLC0415

        database = PostgreSQL(url, schema=schema)
        made = _Made(
            database, mapping=mapping, setup=setup, migrate=migrate, url=url, schema=schema
        )
        async with made:
            yield database


class _Made:
    """``async with``: start ``database``, make its schema, close it at the end."""

    def __init__(
        self,
        database: Any,
        *,
        mapping: Any,
        setup: _Setup,
        migrate: bool,
        url: str,
        schema: str | None = None,
    ) -> None:
        self._database = database
        self._mapping = mapping
        self._setup = setup
        self._migrate = migrate
        self._url = url
        self._schema = schema

    async def __aenter__(self) -> Any:
        if self._migrate:
            await asyncio.to_thread(_upgrade, self._setup.project, self._url, self._schema)
        await self._database.start()
        if not self._migrate:
            await self._database.create_all(self._mapping.metadata)
        return self._database

    async def __aexit__(self, *_: object) -> None:
        await self._database.close()


def _upgrade(project: Project, url: str, schema: str | None) -> None:
    """Run the project's migrations to head on ``url`` (Alembic runs its own event loop)."""
    from andamios.adapters.migrations import Migrations, load_settings  # noqa: PLC0415

    settings = load_settings(cwd=project.root, database_url=url, database_schema=schema)
    settings.require_migrations()
    Migrations(settings).upgrade()


class _PostgreSQLSchema:
    """A schema of its own on the test server, dropped with everything in it at the end."""

    def __init__(self, setup: _Setup) -> None:
        self._url = str(setup.postgresql_url)
        self._schema = f"andamios_{uuid.uuid4().hex[:16]}"

    async def _admin(self, statement: str) -> None:
        import sqlalchemy as sa  # noqa: PLC0415 - only on PostgreSQL
        from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415

        from andamios.adapters.postgresql import Database  # noqa: PLC0415

        url = Database.resolve_url(self._url, Path.cwd())  # with the asyncpg driver
        engine = create_async_engine(url, poolclass=sa.NullPool)
        try:
            async with engine.begin() as connection:
                await connection.execute(sa.text(statement))
        finally:
            await engine.dispose()

    async def __aenter__(self) -> tuple[str, str]:
        await self._admin(f'CREATE SCHEMA "{self._schema}"')
        return self._url, self._schema

    async def __aexit__(self, *_: object) -> None:
        await self._admin(f'DROP SCHEMA "{self._schema}" CASCADE')


class _Tracked[U: UnitOfWork]:
    """A unit-of-work factory that remembers what it made, to find those left open."""

    def __init__(self, factory: UnitOfWorkFactory[U]) -> None:
        self._factory = factory
        self.made: list[U] = []

    def __call__(self) -> U:
        uow = self._factory()
        self.made.append(uow)
        return uow

    def __repr__(self) -> str:
        return repr(self._factory)

    def left_open(self) -> list[U]:
        """The units of work entered and never left."""
        return [uow for uow in self.made if uow.state is UnitOfWorkState.ACTIVE]


@pytest_asyncio.fixture
async def uow_factory(
    andamios_adapter: str,
    andamios_database: Any,
    andamios_clock: FakeClock,
    request: pytest.FixtureRequest,
) -> AsyncIterator[UnitOfWorkFactory[Any]]:
    """A factory of your unit-of-work shape on this test's adapter (a new store, a new
    database). The test fails if it leaves one of its units of work open."""
    setup = _setup(request.config)
    shape = setup.load(setup.unit_of_work, "unit_of_work")
    factory: UnitOfWorkFactory[Any]
    if andamios_database is None:
        factory = InMemoryUnitOfWork.factory(shape, store=InMemoryStore(), clock=andamios_clock)
    else:
        from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork  # noqa: PLC0415

        mapping = setup.load(setup.mapping, "mapping")
        factory = SqlAlchemyUnitOfWork.factory(
            shape, database=andamios_database, mapping=mapping, clock=andamios_clock
        )
    tracked = _Tracked(factory)
    yield tracked
    left = tracked.left_open()
    for uow in left:
        await uow.__aexit__(None, None, None)  # rolled back: the database closes cleanly
    if left:
        names = ", ".join(repr(uow) for uow in left)
        pytest.fail(
            f"{request.node.nodeid} left {len(left)} unit(s) of work open: {names}; use "
            "'async with uow:' so that each ends (its changes were rolled back)",
            pytrace=False,
        )


@pytest.fixture
def uow(uow_factory: UnitOfWorkFactory[UnitOfWork]) -> UnitOfWork:
    """A fresh unit of work of your shape on this test's adapter (enter it: ``async with uow``)."""
    return uow_factory()


def _handlers(setup: _Setup) -> Iterator[Callable[[MessageBus[Any]], object]]:
    for path in setup.handlers:
        yield setup.load(path, "handlers")


@pytest.fixture
def message_bus(
    uow_factory: UnitOfWorkFactory[Any], andamios_retry: RetryPolicy, request: pytest.FixtureRequest
) -> MessageBus[Any]:
    """A message bus over ``uow_factory``, your handlers registered (``andamios_handlers``),
    retrying conflicts at once."""
    bus: MessageBus[Any] = MessageBus(uow_factory, retry=andamios_retry, sleep=_no_sleep)
    for register in _handlers(_setup(request.config)):
        register(bus)
    return bus


async def _no_sleep(_: float) -> None:
    """Retries in tests wait for nothing."""


@pytest_asyncio.fixture
async def andamios_container(
    andamios_adapter: str, andamios_clock: FakeClock, request: pytest.FixtureRequest
) -> AsyncIterator[Any]:
    """A started :class:`~andamios.containers.PersistenceContainer` of your shape on this test's
    adapter (DuckDB in memory, tables made from the mapping), shut down after the test."""
    from andamios.containers import PersistenceContainer  # noqa: PLC0415 - the top layer

    setup = _setup(request.config)
    shape = setup.load(setup.unit_of_work, "unit_of_work")
    mapping = None if andamios_adapter == "memory" else setup.load(setup.mapping, "mapping")
    container = PersistenceContainer(
        unit_of_work=shape, mapping=mapping, handlers=list(_handlers(setup)), clock=andamios_clock
    )
    config: dict[str, Any] = {"adapter": andamios_adapter}
    if andamios_adapter == "duckdb":
        config["database"] = {"url": "duckdb+async:///:memory:", "create_tables": True}
    if andamios_adapter == "postgresql":
        async with _PostgreSQLSchema(setup) as (url, schema):
            config["database"] = {"url": url, "schema": schema, "create_tables": True}
            container.config.from_dict(config)
            await container.init_resources()
            try:
                yield container
            finally:
                await container.shutdown_resources()
        return
    container.config.from_dict(config)
    await container.init_resources()
    try:
        yield container
    finally:
        await container.shutdown_resources()
