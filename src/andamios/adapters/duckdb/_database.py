"""The lifecycle of one DuckDB database: open it eagerly, hand out its engine, close it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

import duckdb
from sqlalchemy import MetaData, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from andamios.adapters.duckdb._arrow import RelationArrowReader
from andamios.adapters.duckdb._connection import AsyncDuckDBConnection
from andamios.adapters.duckdb._dialect import AsyncDuckDBDialect
from andamios.adapters.duckdb._direct import WorkerReader
from andamios.adapters.duckdb._errors import translate_error, translate_open_error
from andamios.adapters.duckdb._health import WorkerHealth, WorkerStats
from andamios.adapters.duckdb._settings import DuckDBSettings
from andamios.adapters.duckdb._staging import ArrowStager
from andamios.adapters.duckdb._wal import prepare_file
from andamios.adapters.sql_lifecycle import WorkInFlight, run_to_completion
from andamios.adapters.sql_spi import pool_exhausted
from andamios.ports.errors import DatabaseClosed, DatabaseUnavailable, PersistenceError

__all__ = ["Database", "HealthCheck"]

_DRIVER_ERRORS = (SQLAlchemyError, duckdb.Error)
# Without external access, DuckDB's replacement scan cannot read the staged table (ADR 0012).
_ARROW = ArrowStager()
_ARROW_READER = RelationArrowReader()
_WORKER_READER = WorkerReader()
_ARROW_REGISTERED = ArrowStager(registered=True)
_log = logging.getLogger("andamios.adapters.duckdb")
# What a database that never started reports: no job, every interval zero.
_NOTHING_MEASURED = WorkerStats().snapshot()


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """The answer of :meth:`Database.health_check`."""

    ok: bool
    #: DuckDB's version as the database reports it (``"2.0.0"``), ``None`` if it did not answer.
    duckdb_version: str | None
    #: The time to check out a connection and run the probe, in milliseconds.
    latency_ms: float
    #: Why the check failed, ``None`` when ``ok``.
    error: str | None = None


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except _DRIVER_ERRORS as exc:
        raise translate_error(exc) from exc


def _check_file(path: Path, *, read_only: bool) -> None:
    """Before DuckDB sees the file: its directory exists, it is no SQLite file, and a WAL about
    to be replayed is kept."""
    directory = path.absolute().parent
    if not directory.exists():
        raise DatabaseUnavailable(
            f"cannot open database file {path}: directory {directory} does not exist"
        )
    prepare_file(path, read_only=read_only)


class Database:
    """One DuckDB database (a file, or ``:memory:``) and the async engine over it.

    ::

        async with Database("duckdb+async:///shop.duckdb", threads=4) as db:
            await db.create_all(metadata)
            async with db.engine.connect() as conn: ...

    Entering (or :meth:`start`) opens the database at once, so a wrong URL, a missing directory, a
    corrupt file or a file locked by another process fails there, as a
    :class:`~andamios.ports.errors.DatabaseError`, not at the first query. Leaving (or
    :meth:`close`) ends every unit of work still in flight (a COMMIT already sent finishes
    first; the others are rolled back and raise :class:`~andamios.ports.errors.DatabaseClosed`),
    closes every connection, joins its thread and releases the file: when it returns, another
    process can open the file, and nothing more is written.

    URLs: ``duckdb+async:///path/to/file.duckdb``, ``duckdb:///...`` (rewritten to the async
    driver), ``duckdb+async:///:memory:`` or ``duckdb+async://``. An in-memory database is one
    database for the whole engine: every connection and every task sees the same tables, until
    :meth:`close`.
    """

    __slots__ = ("_engine", "_settings", "_work", "_worker_stats")

    def __init__(
        self,
        url: str,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        read_only: bool = False,
        external_access: bool = False,
        extensions: Sequence[str] = (),
        pool_size: int = 5,
        pool_timeout: float = 30.0,
        echo: bool = False,
    ) -> None:
        self._settings = DuckDBSettings(
            url=url,
            threads=threads,
            memory_limit=memory_limit,
            read_only=read_only,
            external_access=external_access,
            extensions=extensions,
            pool_size=pool_size,
            pool_timeout=pool_timeout,
            echo=echo,
        )
        self._engine: AsyncEngine | None = None
        self._work: WorkInFlight | None = None
        self._worker_stats: WorkerStats | None = None

    @classmethod
    def from_settings(cls, settings: DuckDBSettings) -> Self:
        """A database with the given settings."""
        database = cls.__new__(cls)
        database._settings = settings
        database._engine = None
        database._work = None
        database._worker_stats = None
        return database

    @classmethod
    def resolve_url(cls, url: str, base: Path, **settings: Any) -> str:
        """The ``duckdb+async`` URL of ``url``, a relative file path taken from ``base``.

        A URL read from a settings file names a file next to that file, not one in whatever
        directory a command runs from. A URL that is not DuckDB's, or that ``settings`` (the
        keywords of :class:`DuckDBSettings` it is opened with) do not allow, raises
        :class:`~andamios.ports.errors.ConfigurationError`.
        """
        checked = DuckDBSettings(url=url, **settings)
        path = checked.path
        if path is None or path.is_absolute():
            return checked.async_url
        return checked.sqlalchemy_url.set(database=str(base / path)).render_as_string()

    def __repr__(self) -> str:
        state = "started" if self.is_started else "closed"
        return f"<Database {self.url} {state}>"

    @property
    def settings(self) -> DuckDBSettings:
        """The settings the database was opened with."""
        return self._settings

    @property
    def url(self) -> str:
        """The ``duckdb+async`` URL of the database."""
        return self._settings.async_url

    @property
    def is_memory(self) -> bool:
        """Whether the database lives in memory (and is gone after :meth:`close`)."""
        return self._settings.is_memory

    @property
    def is_started(self) -> bool:
        """Whether the database is open (between :meth:`start` and :meth:`close`)."""
        return self._engine is not None

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy ``AsyncEngine``.

        Raises :class:`~andamios.ports.errors.DatabaseClosed` if not started (or closed), and
        :class:`~andamios.ports.errors.DatabaseError` from an event loop other than the one
        that started the database.
        """
        work = self._work
        if self._engine is None or work is None:
            what = "is not open" if work is None else "is closed"
            raise DatabaseClosed(
                f"{self.url} {what}: use 'async with Database(url) as db:' "
                "or 'await db.start()' first"
            )
        work.check_loop()
        return self._engine

    @property
    def work(self) -> WorkInFlight | None:
        """The units of work in flight (``None`` before the first :meth:`start`)."""
        return self._work

    async def start(self) -> None:
        """Create the engine and open the database now (a no-op if already started)."""
        if self._engine is not None:
            return
        settings = self._settings
        path = settings.path
        if path is not None:
            # One thread hop (and one thread of the loop's executor) for both file checks.
            await asyncio.to_thread(_check_file, path, read_only=settings.read_only)
        engine = create_async_engine(
            settings.engine_url,
            connect_args=settings.connect_args(),
            pool_size=settings.pool_size,
            # Each connection is a thread; past pool_size, tasks wait for one to be returned,
            # pool_timeout at most.
            max_overflow=0,
            pool_timeout=settings.pool_timeout,
            echo=settings.echo,
        )
        try:
            # The first connection opens the file: fail here, not at the first query.
            async with engine.connect() as conn:
                # Every connection of the engine shares its database, and so these statistics.
                driver = (await conn.get_raw_connection()).driver_connection
                stats = cast("AsyncDuckDBConnection", driver).worker_stats
        except _DRIVER_ERRORS as exc:
            await engine.dispose()
            raise translate_open_error(exc, path=path) from exc
        except BaseException:
            # Cancelled while opening: leave no engine (and no thread) behind.
            await engine.dispose()
            raise
        self._engine = engine
        self._work = WorkInFlight(f"database {self.url}")
        self._worker_stats = stats

    async def close(self) -> None:
        """End the units of work in flight, close every connection, join every thread, and
        release the file (idempotent; finishes even if the caller is cancelled meanwhile).

        A COMMIT already sent runs to its end. Every other unit of work still open is rolled
        back, and its next statement or ``commit()`` raises
        :class:`~andamios.ports.errors.DatabaseClosed`, as does one that begins afterwards.
        """
        engine, self._engine = self._engine, None
        if engine is not None and self._work is not None:
            await run_to_completion(self._shut(engine, self._work))

    async def _shut(self, engine: AsyncEngine, work: WorkInFlight) -> None:
        in_flight = await work.close()
        if in_flight:
            _log.warning(
                "closing %s with %d unit(s) of work in flight: rolled back", self.url, in_flight
            )
        await cast("AsyncDuckDBDialect", engine.dialect).end_connections()
        await engine.dispose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def create_all(self, metadata: MetaData) -> None:
        """Create the tables of ``metadata`` that do not exist yet (for development and tests)."""
        with _translated():
            async with self.engine.begin() as conn:
                await conn.run_sync(metadata.create_all)

    async def drop_all(self, metadata: MetaData) -> None:
        """Drop the tables of ``metadata`` that exist (for development and tests)."""
        with _translated():
            async with self.engine.begin() as conn:
                await conn.run_sync(metadata.drop_all)

    async def health_check(self, *, within: float = 5.0) -> HealthCheck:
        """Check out a connection and ask DuckDB its version; never raises.

        ``ok`` is false when the database is not started, does not answer ``within`` that many
        seconds (every connection busy), or fails.
        """
        if self._engine is None:
            return HealthCheck(
                ok=False, duckdb_version=None, latency_ms=0.0, error="database is not started"
            )
        started = time.perf_counter()
        try:
            async with asyncio.timeout(within), self._engine.connect() as conn:
                version = await conn.scalar(text("SELECT library_version FROM pragma_version()"))
        except (TimeoutError, *_DRIVER_ERRORS) as exc:
            error = (
                f"no connection or answer within {within} s"
                if isinstance(exc, TimeoutError)
                else str(translate_error(exc))
            )
            return HealthCheck(
                ok=False,
                duckdb_version=None,
                latency_ms=(time.perf_counter() - started) * 1000,
                error=error,
            )
        return HealthCheck(
            ok=True,
            duckdb_version=str(version).removeprefix("v"),
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def worker_health(self) -> WorkerHealth:
        """How long the jobs of the worker threads waited, ran and took to reach the event loop.

        Every statement (and commit, rollback, connection open and close) is a job on its
        connection's thread: ``queue_wait`` is its time behind the other jobs of that
        connection, ``run`` the job itself, and ``loop_lag`` the time the event loop took to
        run the callback that hands over its result, i.e. how long the loop was busy elsewhere.
        Percentiles cover the last :data:`~._health.WINDOW` jobs, ``jobs`` and each ``max``
        every job since the database was last started (or :meth:`reset_worker_health`); a
        closed database keeps what it measured, one never started reports zeros.
        """
        stats = self._worker_stats
        return _NOTHING_MEASURED if stats is None else stats.snapshot()

    def reset_worker_health(self) -> None:
        """Forget what :meth:`worker_health` measured so far (before a benchmark, say)."""
        if self._worker_stats is not None:
            self._worker_stats.reset()

    def translate_error(self, exc: BaseException) -> PersistenceError:
        """Translate a driver error into the Andamios tree (see :func:`translate_error`); a pool
        wait that expired names this database's ``pool_timeout`` and ``pool_size``."""
        if isinstance(exc, PoolTimeout):
            settings = self._settings
            error = pool_exhausted(
                exc, pool_size=settings.pool_size, pool_timeout=settings.pool_timeout
            )
            error.__cause__ = exc
            return error
        return translate_error(exc, path=self._settings.path)

    @property
    def direct_reader(self) -> WorkerReader:
        """Reads compiled by the SQLAlchemy adapter, run on a connection's worker thread without
        SQLAlchemy's execution (``get``, ``find``, ``count`` and ``exists`` of flat mappings)."""
        return _WORKER_READER

    @property
    def arrow_reader(self) -> RelationArrowReader:
        """Query results as Arrow tables straight from DuckDB's columns (``uow.query_arrow``)."""
        return _ARROW_READER

    @property
    def bulk_stager(self) -> ArrowStager:
        """Bulk writes stage their rows as an Arrow table (see ``docs/adr/0006-bulk-path.md``)."""
        return _ARROW if self._settings.external_access else _ARROW_REGISTERED
