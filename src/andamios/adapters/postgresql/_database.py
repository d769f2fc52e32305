"""The lifecycle of one PostgreSQL database: connect eagerly, hand out its engines, close them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

import asyncpg
from sqlalchemy import MetaData, event, text
from sqlalchemy.engine import URL, Connection, ExceptionContext, Transaction
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from andamios.adapters.postgresql._errors import (
    note_earlier_failure,
    refused_commit,
    server_refused,
    translate_error,
    translate_open_error,
)
from andamios.adapters.postgresql._settings import (
    PostgreSQLSettings,
    describe_server,
    normalize_url,
)
from andamios.adapters.postgresql._staging import CopyStager
from andamios.adapters.sql_lifecycle import ConnectionsInUse, WorkInFlight, run_to_completion
from andamios.ports.errors import (
    ConfigurationError,
    DatabaseClosed,
    PersistenceError,
)

__all__ = ["Database", "HealthCheck"]

_COPY = CopyStager()
_log = logging.getLogger("andamios.adapters.postgresql")

# SQLAlchemy wraps what asyncpg raises, but lets a failed connect's OSError through as it is.
_DRIVER_ERRORS = (SQLAlchemyError, OSError)


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """The answer of :meth:`Database.health_check`."""

    ok: bool
    #: The server's version as it reports it (``"15.20"``), ``None`` if it did not answer.
    server_version: str | None
    #: The time to check out a connection and run the probe, in milliseconds.
    latency_ms: float
    #: Why the check failed, ``None`` when ``ok``.
    error: str | None = None


@contextlib.contextmanager
def _translated(settings: PostgreSQLSettings) -> Iterator[None]:
    try:
        yield
    except _DRIVER_ERRORS as exc:
        raise translate_error(exc, settings=settings) from exc


async def _connect_whole(*args: Any, **kwargs: Any) -> Any:
    """``asyncpg.connect``, never abandoned halfway: cancelled, it lets the cancellation through
    at once and terminates the connection once made, which would otherwise leak its socket."""
    made = asyncio.ensure_future(asyncpg.connect(*args, **kwargs))
    try:
        return await asyncio.shield(made)
    except asyncio.CancelledError:
        made.add_done_callback(_terminate_made)
        raise


def _terminate_made(made: asyncio.Future[Any]) -> None:
    if not made.cancelled() and made.exception() is None:
        made.result().terminate()


def _innermost(connection: Connection) -> Transaction | None:
    return connection.get_nested_transaction() or connection.get_transaction()


class _AbortedTransactions:
    """The error that aborted each transaction (or savepoint) of an engine, while it lasts.

    Once a statement fails, PostgreSQL refuses every later statement of the transaction with
    SQLSTATE 25P02, which does not say what failed, and answers its COMMIT by rolling back
    *without an error*. So the engine's ``handle_error`` listener remembers the first failure
    the server sent in the innermost transaction, and notes it on each 25P02 that follows; its
    ``commit`` listener refuses to COMMIT a transaction whose innermost part failed, raising
    :class:`~andamios.ports.errors.UnitOfWorkError` (the transaction must be rolled back), as
    DuckDB does. A savepoint rolled back to forgets its failure, as PostgreSQL does.
    """

    __slots__ = ("_failures", "_settings")

    def __init__(self, settings: PostgreSQLSettings) -> None:
        self._settings = settings
        self._failures: dict[Transaction, BaseException] = {}

    def watch(self, engine: AsyncEngine) -> None:
        """Listen to the errors and COMMITs of ``engine``'s connections."""
        event.listen(engine.sync_engine, "handle_error", self._on_error)
        event.listen(engine.sync_engine, "commit", self._on_commit)

    def _forget_ended(self) -> None:
        # Transactions end by commit, rollback, or a pool's reset: keep only the open ones.
        self._failures = {t: f for t, f in self._failures.items() if t.is_active}

    def _on_error(self, context: ExceptionContext) -> None:
        connection = context.connection
        transaction = None if connection is None else _innermost(connection)
        # The DBAPIError about to be raised (what translate_error is given).
        failure = context.sqlalchemy_exception or context.original_exception
        if (
            connection is None
            or transaction is None
            # Errors asyncpg raised itself (a parameter it cannot encode) abort nothing.
            or not server_refused(failure)
            # Without a transaction, a failed statement leaves nothing to roll back.
            or connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
        ):
            return
        self._forget_ended()
        earlier = self._failures.setdefault(transaction, failure)
        if earlier is not failure:
            # The transaction had failed already: this is one of its 25P02 refusals.
            note_earlier_failure(failure, earlier)

    def _on_commit(self, connection: Connection) -> None:
        self._forget_ended()
        transaction = _innermost(connection)
        failure = None if transaction is None else self._failures.get(transaction)
        if failure is not None:
            # SQLAlchemy takes a transaction whose COMMIT raised for ended, and its rollback()
            # would send nothing: end it on the server now, or the connection's next statement
            # would still be refused. A connection that cannot even roll back is broken, and
            # the pool's reset and pre-ping deal with it; the refusal below is the error.
            with contextlib.suppress(Exception):
                connection.connection.rollback()
            raise refused_commit(failure, self._settings)


class Database:
    """One PostgreSQL database (over asyncpg) and the async engine over it.

    ::

        async with Database(
            "postgresql+asyncpg://shop:secret@db.internal:5432/shop", schema="shop", pool_size=10
        ) as db:
            await db.create_all(metadata)
            async with db.engine.connect() as conn: ...

    Entering (or :meth:`start`) connects at once, so a wrong host, port, database, role or
    password fails there, as :class:`~andamios.ports.errors.DatabaseUnavailable` naming the host,
    port and database (never the password), and a ``schema`` that does not exist as
    :class:`~andamios.ports.errors.ConfigurationError`, not at the first query. Leaving (or
    :meth:`close`) disposes the engines: every pooled connection is closed.

    Keywords are :class:`PostgreSQLSettings`'s. Units of work run at ``REPEATABLE READ`` unless
    told otherwise: one snapshot from their first statement, as with DuckDB and in memory. A
    COMMIT after a failed statement is refused with
    :class:`~andamios.ports.errors.UnitOfWorkError`, where PostgreSQL would roll back in silence.
    """

    __slots__ = ("_engine", "_in_use", "_replica", "_settings", "_work")

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 5,
        max_overflow: int = 0,
        pool_timeout: float = 30.0,
        statement_timeout: float | None = None,
        lock_timeout: float | None = 5.0,
        isolation_level: str = "REPEATABLE READ",
        schema: str | None = None,
        replica_url: str | None = None,
        echo: bool = False,
    ) -> None:
        self._settings = PostgreSQLSettings(
            url=url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            statement_timeout=statement_timeout,
            lock_timeout=lock_timeout,
            isolation_level=isolation_level,
            schema=schema,
            replica_url=replica_url,
            echo=echo,
        )
        self._engine: AsyncEngine | None = None
        self._replica: AsyncEngine | None = None
        self._work: WorkInFlight | None = None
        self._in_use: list[ConnectionsInUse] = []

    @classmethod
    def from_settings(cls, settings: PostgreSQLSettings) -> Self:
        """A database with the given settings."""
        database = cls.__new__(cls)
        database._settings = settings
        database._engine = None
        database._replica = None
        database._work = None
        database._in_use = []
        return database

    @classmethod
    def resolve_url(cls, url: str, base: Path, **settings: Any) -> str:
        """``url`` checked, with the asyncpg driver; a server's URL names no file (``base``),
        and its ``settings`` are checked when it is opened.

        Raises :class:`~andamios.ports.errors.ConfigurationError` as :class:`PostgreSQLSettings`
        does for a URL that is not PostgreSQL's.
        """
        return normalize_url(url).render_as_string(hide_password=False)

    def __repr__(self) -> str:
        state = "started" if self.is_started else "closed"
        url = self._settings.sqlalchemy_url.render_as_string(hide_password=True)
        return f"<Database {url} {state}>"

    @property
    def settings(self) -> PostgreSQLSettings:
        """The settings the database was opened with."""
        return self._settings

    @property
    def url(self) -> str:
        """The ``postgresql+asyncpg`` URL of the database (with its password, if any)."""
        return self._settings.async_url

    @property
    def is_started(self) -> bool:
        """Whether the database is open (between :meth:`start` and :meth:`close`)."""
        return self._engine is not None

    def _open_engine(self, engine: AsyncEngine | None) -> AsyncEngine:
        work = self._work
        if engine is None or work is None:
            what = "is not open" if work is None else "is closed"
            url = self._settings.sqlalchemy_url.render_as_string(hide_password=True)
            raise DatabaseClosed(
                f"{url} {what}: use 'async with Database(url) as db:' or 'await db.start()' first"
            )
        work.check_loop()
        return engine

    @property
    def work(self) -> WorkInFlight | None:
        """The units of work in flight (``None`` before the first :meth:`start`)."""
        return self._work

    @property
    def engine(self) -> AsyncEngine:
        """The SQLAlchemy ``AsyncEngine``.

        Raises :class:`~andamios.ports.errors.DatabaseClosed` if not started (or closed), and
        :class:`~andamios.ports.errors.DatabaseError` from an event loop other than the one
        that started the database.
        """
        return self._open_engine(self._engine)

    @property
    def replica(self) -> AsyncEngine | None:
        """The ``AsyncEngine`` over ``replica_url``, ``None`` without one.

        Started and closed with :attr:`engine`; raises as :attr:`engine` does.
        """
        if self._settings.replica_url is None:
            return None
        return self._open_engine(self._replica)

    async def _connect(self, url: URL, aborted: _AbortedTransactions) -> AsyncEngine:
        """An engine over ``url`` whose first connection is open (and schema checked)."""
        settings = self._settings
        kwargs = settings.engine_kwargs()
        kwargs["connect_args"] = {**kwargs["connect_args"], "async_creator_fn": _connect_whole}
        engine = create_async_engine(url, **kwargs)
        aborted.watch(engine)
        try:
            # The first connection reaches the server: fail here, not at the first query.
            async with engine.connect() as conn:
                missing = (
                    settings.schema is not None
                    and await conn.scalar(text("SELECT current_schema()")) is None
                )
        except _DRIVER_ERRORS as exc:
            await engine.dispose()
            raise translate_open_error(exc, settings=settings, server=url) from exc
        except BaseException:
            # Cancelled while connecting: leave no pooled connection behind.
            await engine.dispose()
            raise
        if missing:
            await engine.dispose()
            # current_schema() is NULL when no schema of search_path exists (or may be used).
            raise ConfigurationError(
                f"schema {settings.schema!r} does not exist at {describe_server(url)}, or the "
                f"role may not use it: create it first (CREATE SCHEMA {settings.schema})"
            )
        return engine

    async def start(self) -> None:
        """Create the engines and connect to the server now (a no-op if already started)."""
        if self._engine is not None:
            return
        aborted = _AbortedTransactions(self._settings)
        engine = await self._connect(self._settings.sqlalchemy_url, aborted)
        replica_url = self._settings.replica_sqlalchemy_url
        replica = None
        if replica_url is not None:
            try:
                replica = await self._connect(replica_url, aborted)
            except BaseException:
                await engine.dispose()
                raise
        name = f"database {describe_server(self._settings.sqlalchemy_url)}"
        self._in_use = [ConnectionsInUse(each, name) for each in (engine, replica) if each]
        self._engine, self._replica = engine, replica
        self._work = WorkInFlight(name, connect_at_begin=True)

    async def close(self) -> None:
        """End the units of work in flight and close every connection (idempotent; finishes
        even if the caller is cancelled meanwhile).

        A COMMIT already sent runs to its end. Every other unit of work still open has its
        connection terminated (the server rolls its transaction back), and its next statement or
        ``commit()`` raises :class:`~andamios.ports.errors.DatabaseClosed`, as does one that
        begins afterwards.
        """
        engine, self._engine = self._engine, None
        replica, self._replica = self._replica, None
        if engine is not None and self._work is not None:
            await run_to_completion(self._shut(engine, replica, self._work))

    async def _shut(
        self, engine: AsyncEngine, replica: AsyncEngine | None, work: WorkInFlight
    ) -> None:
        in_flight = await work.close()
        if in_flight:
            _log.warning(
                "closing %s with %d unit(s) of work in flight: rolled back", self, in_flight
            )
        for in_use, each in zip(self._in_use, (engine, replica), strict=False):
            await self._end_backends(cast("AsyncEngine", each), in_use.drivers_in_use())
            in_use.end()
        if replica is not None:
            await replica.dispose()
        await engine.dispose()

    async def _end_backends(self, engine: AsyncEngine, drivers: list[Any]) -> None:
        # A terminated client connection does not stop the server's backend: a statement it
        # runs (a long report) would run on to its end. End those backends, from a connection
        # of its own (the pool may have none free).
        pids = [driver.get_server_pid() for driver in drivers]
        if not pids:
            return
        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        try:
            ender = await asyncpg.connect(*cargs, **cparams, timeout=self._settings.pool_timeout)
        except (OSError, asyncpg.PostgresError) as error:  # pragma: no cover - the server went
            # away between the statement and close(): not provoked without stopping the server
            # every test shares; close() must still finish.
            _log.warning("closing %s: cannot end its backends %s: %s", self, pids, error)
            return
        try:
            await ender.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid", pids)
        finally:
            await ender.close()

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
        with _translated(self._settings):
            async with self.engine.begin() as conn:
                await conn.run_sync(metadata.create_all)

    async def drop_all(self, metadata: MetaData) -> None:
        """Drop the tables of ``metadata`` that exist (for development and tests)."""
        with _translated(self._settings):
            async with self.engine.begin() as conn:
                await conn.run_sync(metadata.drop_all)

    async def health_check(self, *, within: float = 5.0) -> HealthCheck:
        """Check out a connection of the primary and ask the server its version; never raises.

        ``ok`` is false when the database is not started, does not answer ``within`` that many
        seconds (every connection busy, the server stalled), or fails.
        """
        if self._engine is None:
            return HealthCheck(
                ok=False, server_version=None, latency_ms=0.0, error="database is not started"
            )
        started = time.perf_counter()
        try:
            async with asyncio.timeout(within), self._engine.connect() as conn:
                version = await conn.scalar(text("SHOW server_version"))
        except (TimeoutError, *_DRIVER_ERRORS) as exc:
            error = (
                f"no connection or answer within {within} s"
                if isinstance(exc, TimeoutError)
                else str(self.translate_error(exc))
            )
            return HealthCheck(
                ok=False,
                server_version=None,
                latency_ms=(time.perf_counter() - started) * 1000,
                error=error,
            )
        return HealthCheck(
            ok=True,
            # "15.20 (Debian 15.20-0+deb12u1)": the version is the first word.
            server_version=str(version).split()[0],
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def translate_error(self, exc: BaseException) -> PersistenceError:
        """Translate a driver error into the Andamios tree (see :func:`translate_error`)."""
        return translate_error(exc, settings=self._settings)

    @property
    def bulk_stager(self) -> CopyStager:
        """Bulk writes stage their rows with ``COPY`` into a temporary table."""
        return _COPY
