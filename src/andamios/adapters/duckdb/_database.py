"""The lifecycle of one DuckDB database: open it eagerly, hand out its engine, close it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import duckdb
from sqlalchemy import MetaData, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from andamios.adapters.duckdb._errors import translate_error, translate_open_error
from andamios.adapters.duckdb._settings import DuckDBSettings
from andamios.adapters.duckdb._staging import ArrowStager
from andamios.ports.errors import DatabaseError, DatabaseUnavailable, PersistenceError

__all__ = ["Database", "HealthCheck"]

_DRIVER_ERRORS = (SQLAlchemyError, duckdb.Error)
_ARROW = ArrowStager()


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


class Database:
    """One DuckDB database (a file, or ``:memory:``) and the async engine over it.

    ::

        async with Database("duckdb+async:///shop.duckdb", threads=4) as db:
            await db.create_all(metadata)
            async with db.engine.connect() as conn: ...

    Entering (or :meth:`start`) opens the database at once, so a wrong URL, a missing directory, a
    corrupt file or a file locked by another process fails there, as a
    :class:`~andamios.ports.errors.DatabaseError`, not at the first query. Leaving (or
    :meth:`close`) disposes the engine: every connection is closed and its thread joined.

    URLs: ``duckdb+async:///path/to/file.duckdb``, ``duckdb:///...`` (rewritten to the async
    driver), ``duckdb+async:///:memory:`` or ``duckdb+async://``. An in-memory database is one
    database for the whole engine: every connection and every task sees the same tables, until
    :meth:`close`.
    """

    __slots__ = ("_engine", "_settings")

    def __init__(
        self,
        url: str,
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        read_only: bool = False,
        external_access: bool = True,
        pool_size: int = 5,
        echo: bool = False,
    ) -> None:
        self._settings = DuckDBSettings(
            url=url,
            threads=threads,
            memory_limit=memory_limit,
            read_only=read_only,
            external_access=external_access,
            pool_size=pool_size,
            echo=echo,
        )
        self._engine: AsyncEngine | None = None

    @classmethod
    def from_settings(cls, settings: DuckDBSettings) -> Self:
        """A database with the given settings."""
        database = cls.__new__(cls)
        database._settings = settings
        database._engine = None
        return database

    @classmethod
    def resolve_url(cls, url: str, base: Path) -> str:
        """The ``duckdb+async`` URL of ``url``, a relative file path taken from ``base``.

        A URL read from a settings file names a file next to that file, not one in whatever
        directory a command runs from. A URL that is not DuckDB's raises
        :class:`~andamios.ports.errors.ConfigurationError`.
        """
        settings = DuckDBSettings(url=url)
        path = settings.path
        if path is None or path.is_absolute():
            return settings.async_url
        return settings.sqlalchemy_url.set(database=str(base / path)).render_as_string()

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
        """The SQLAlchemy ``AsyncEngine``; raises :class:`DatabaseError` if not started."""
        if self._engine is None:
            raise DatabaseError(
                f"{self!r} is not open: use 'async with Database(url) as db:' "
                "or 'await db.start()' first"
            )
        return self._engine

    async def start(self) -> None:
        """Create the engine and open the database now (a no-op if already started)."""
        if self._engine is not None:
            return
        settings = self._settings
        path = settings.path
        if path is not None:
            directory = path.absolute().parent
            if not await asyncio.to_thread(directory.exists):
                raise DatabaseUnavailable(
                    f"cannot open database file {path}: directory {directory} does not exist"
                )
        engine = create_async_engine(
            settings.sqlalchemy_url,
            connect_args=settings.connect_args(),
            pool_size=settings.pool_size,
            # Each connection is a thread; past pool_size, tasks wait for one to be returned.
            max_overflow=0,
            echo=settings.echo,
        )
        try:
            # The first connection opens the file: fail here, not at the first query.
            async with engine.connect():
                pass
        except _DRIVER_ERRORS as exc:
            await engine.dispose()
            raise translate_open_error(exc) from exc
        except BaseException:
            # Cancelled while opening: leave no engine (and no thread) behind.
            await engine.dispose()
            raise
        self._engine = engine

    async def close(self) -> None:
        """Dispose the engine: close every connection and join its thread (idempotent)."""
        engine, self._engine = self._engine, None
        if engine is not None:
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

    def translate_error(self, exc: BaseException) -> PersistenceError:
        """Translate a driver error into the Andamios tree (see :func:`translate_error`)."""
        return translate_error(exc)

    @property
    def bulk_stager(self) -> ArrowStager:
        """Bulk writes stage their rows as an Arrow table (see ``docs/adr/0006-bulk-path.md``)."""
        return _ARROW
