"""The asyncio connection to DuckDB, and the database that one engine's connections share.

An engine opens its DuckDB database **once** (:class:`SharedDatabase`) and gives every pooled
connection its own ``cursor()`` of it: a DuckDB cursor is a full connection with its own
transaction, but to the same database instance. So ``:memory:`` is one database for the whole
engine, every connection to a file has the same configuration, and no second ``duckdb.connect`` on
the file can conflict with the first.

Each :class:`AsyncDuckDBConnection` owns one :class:`~._worker.Worker` thread and makes every call
to its DuckDB connection there.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Concatenate, Self

import duckdb

from andamios.adapters.duckdb._health import WorkerStats
from andamios.adapters.duckdb._worker import Worker

__all__ = ["AsyncDuckDBConnection", "DatabaseEnded", "SharedDatabase", "TransactionAborted"]

# How long to wait for an interrupted statement to stop before interrupting again. A statement
# that had not started when the first interrupt() came would otherwise run to completion.
_INTERRUPT_RETRY_SECONDS = 0.05


class DatabaseEnded(duckdb.ConnectionException):
    """A connection was refused, or used after :meth:`SharedDatabase.end` closed its database."""


class SharedDatabase:
    """One DuckDB database, opened on first use and shared by the cursors of one engine.

    The database stays open while a cursor uses it or while it is *pinned*: an engine pins it from
    the first connect until the engine is disposed, so an in-memory database survives connections
    that the pool closes or invalidates (a cancelled query, ``pool_recycle``, ``NullPool``).
    :meth:`end` closes every connection, in use or not, and refuses new ones. The workers of its
    connections time their jobs into one :attr:`worker_stats`.
    """

    __slots__ = (
        "_config",
        "_configure",
        "_connections",
        "_ended",
        "_lock",
        "_pinned",
        "_preload_extensions",
        "_root",
        "_users",
        "database",
        "read_only",
        "worker_stats",
    )

    def __init__(
        self,
        database: str,
        *,
        read_only: bool = False,
        config: Mapping[str, Any] | None = None,
        preload_extensions: Sequence[str] = (),
        configure: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    ) -> None:
        self.database = database
        self.read_only = read_only
        self._config: dict[str, Any] = dict(config or {})
        self._preload_extensions = tuple(preload_extensions)
        self._configure = configure
        # Cursors are made and closed on many worker threads; the root connection only ever
        # does that, under this lock, and never runs a statement.
        self._lock = threading.Lock()
        self._root: duckdb.DuckDBPyConnection | None = None
        self._users = 0
        self._pinned = False
        self._ended = False
        self._connections: weakref.WeakSet[AsyncDuckDBConnection] = weakref.WeakSet()
        #: The timing of every connection's jobs, for ``Database.worker_health()``.
        self.worker_stats = WorkerStats()

    @property
    def is_open(self) -> bool:
        """Whether the DuckDB database is open right now."""
        return self._root is not None

    def acquire(self) -> duckdb.DuckDBPyConnection:
        """Open the database if needed and return a new cursor of it (call on a worker thread)."""
        with self._lock:
            if self._ended:
                raise DatabaseEnded(f"Connection Error: database {self.database} was closed")
            if self._root is None:
                self._root = self._open()
                self._pinned = True
            cursor = self._root.cursor()
            self._users += 1
        if self._configure is not None:
            try:
                self._configure(cursor)
            except BaseException:
                self.release(cursor)
                raise
        return cursor

    def _open(self) -> duckdb.DuckDBPyConnection:
        root = duckdb.connect(self.database, read_only=self.read_only, config=dict(self._config))
        try:
            for extension in self._preload_extensions:
                root.execute(f"LOAD {extension}")
        except BaseException:
            root.close()
            raise
        return root

    def release(self, cursor: duckdb.DuckDBPyConnection) -> None:
        """Close a cursor from :meth:`acquire`; close the database if nothing holds it any more."""
        try:
            cursor.close()
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0 and not self._pinned:
                    self._close_root()

    def track(self, connection: AsyncDuckDBConnection) -> None:
        """Remember an open connection, so that :meth:`end` can close it."""
        self._connections.add(connection)

    async def end(self) -> None:
        """Close every connection (interrupting what runs) and join its thread; refuse new ones.

        For a database closed with connections still checked out of the pool: their owners'
        next statement fails, and nothing they do afterwards reaches the database.
        """
        self._ended = True
        for connection in list(self._connections):
            await connection.abort()

    def unpin(self) -> None:
        """Let the database close once its last cursor is released (the engine was disposed)."""
        with self._lock:
            self._pinned = False
            if self._users == 0:
                self._close_root()

    def _close_root(self) -> None:
        root, self._root = self._root, None
        if root is not None:
            root.close()


def _call(
    conn: duckdb.DuckDBPyConnection,
    begin: bool,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    # A BEGIN asked for by SQLAlchemy travels with the transaction's first statement: one hop.
    if begin:
        conn.begin()
    return fn(conn, *args, **kwargs)


def _idle() -> None:
    """A job that does nothing: once it has run, every job queued before it has finished."""


def _commit(conn: duckdb.DuckDBPyConnection) -> None:
    conn.commit()


def _rollback(conn: duckdb.DuckDBPyConnection) -> None:
    # DuckDB raises when no transaction is active; a rollback then has nothing to undo.
    with contextlib.suppress(duckdb.TransactionException):
        conn.rollback()


class TransactionAborted(duckdb.TransactionException):
    """A statement or COMMIT refused because an earlier statement of the transaction failed.

    DuckDB aborts a transaction at its first failed statement: every later statement fails, and a
    COMMIT rolls back *without an error*, so the caller that caught the failure would believe its
    earlier writes were saved. The connection remembers the first failure (``failure``, also the
    ``__cause__``) and refuses instead; at a COMMIT (``committing``) it has rolled back first.
    """

    def __init__(self, failure: BaseException, *, committing: bool) -> None:
        self.failure = failure
        self.committing = committing
        first_line = str(failure).strip().split("\n", 1)[0]
        what = f"{type(failure).__name__}: {first_line}" if first_line else type(failure).__name__
        if committing:
            message = (
                f"TransactionContext Error: cannot commit: an earlier statement of this "
                f"transaction failed ({what}); the transaction was rolled back"
            )
        else:
            message = (
                f"TransactionContext Error: the transaction is aborted: an earlier statement "
                f"failed ({what}); roll back before running more statements"
            )
        super().__init__(message)


class AsyncDuckDBConnection:
    """An asyncio connection to DuckDB: one DuckDB connection driven by its own worker thread.

    This is the ``driver_connection`` of the ``duckdb+async`` dialect's pooled connections. Adapters
    that need DuckDB itself (the Arrow bulk path, the appender) call :meth:`run` with a function
    of the ``duckdb.DuckDBPyConnection``, which then runs on the connection's thread, inside the
    transaction SQLAlchemy has begun.

    Inside a transaction (begun with :meth:`begin`, not in autocommit mode) the first failure of
    a call is remembered: later calls raise :class:`TransactionAborted` at once, and
    :meth:`commit` rolls back and raises it, whoever caught the failure.
    """

    __slots__ = (
        "__weakref__",
        "_begin_pending",
        "_closed",
        "_conn",
        "_database",
        "_failure",
        "_in_transaction",
        "_worker",
        "autocommit",
    )

    def __init__(self, database: SharedDatabase) -> None:
        self._database = database
        self._worker = Worker(database.worker_stats)
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._closed = False
        self._begin_pending = False
        self._in_transaction = False
        self._failure: BaseException | None = None
        #: In autocommit mode :meth:`begin` is ignored and every statement commits on its own.
        self.autocommit = False

    @classmethod
    async def open(cls, database: SharedDatabase) -> Self:
        """Start a worker thread and open a cursor of ``database`` on it."""
        self = cls(database)
        database.track(self)
        try:
            await self._worker.submit(self._open_on_worker)
        except BaseException as error:
            # Also on cancellation: the close job queues behind the open, so it sees (and closes)
            # whatever the open produced even if nobody waits for the open any more.
            self.close_nowait()
            if not isinstance(error, asyncio.CancelledError):
                # A failed open (a damaged file) has ended its job: join the thread now, so that
                # nothing of DuckDB's outlives it at a quick exit ("nanobind: leaked ...").
                self._worker.stop(join=True)
            raise
        return self

    def _open_on_worker(self) -> None:
        self._conn = self._database.acquire()

    @property
    def thread_name(self) -> str:
        """The name of the thread that runs this connection's statements."""
        return self._worker.name

    @property
    def worker_stats(self) -> WorkerStats:
        """The timing of the jobs of every connection to this one's database."""
        return self._database.worker_stats

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` (or :meth:`close_nowait`) was called."""
        return self._closed

    def begin(self) -> None:
        """Begin a transaction with the next statement (no hop of its own)."""
        if not self.autocommit:
            self._begin_pending = True

    async def run[**P, T](
        self,
        fn: Callable[Concatenate[duckdb.DuckDBPyConnection, P], T],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run ``fn(connection, *args, **kwargs)`` on the connection's thread; return its result.

        Cancelling the awaiting task interrupts the running statement (``interrupt()``) and waits
        until the thread is idle again before the ``CancelledError`` propagates. Raises
        :class:`TransactionAborted` without running ``fn`` once a call of the current transaction
        has failed.
        """
        if self._failure is not None:
            raise TransactionAborted(self._failure, committing=False) from self._failure
        begin, self._begin_pending = self._begin_pending, False
        self._in_transaction = self._in_transaction or begin
        try:
            result: T = await self._submit(begin, fn, args, kwargs)
        except BaseException as error:  # a cancelled statement may have aborted it too
            if self._in_transaction:
                self._failure = error
            raise
        return result

    async def _submit(
        self, begin: bool, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        conn = self._conn
        if conn is None or self._closed:
            raise duckdb.ConnectionException("Connection Error: Connection already closed!")
        future = self._worker.submit(_call, conn, begin, fn, args, kwargs)
        try:
            return await future
        except asyncio.CancelledError:
            await self._interrupt_until_idle(conn)
            raise

    async def _interrupt_until_idle(self, conn: duckdb.DuckDBPyConnection) -> None:
        barrier = self._worker.submit(_idle)
        while True:
            conn.interrupt()
            done, _ = await asyncio.wait((barrier,), timeout=_INTERRUPT_RETRY_SECONDS)
            if done:
                return

    async def commit(self) -> None:
        """Commit the transaction; a transaction that ran no statement needs no hop.

        Raises :class:`TransactionAborted`, after rolling back, if a call of the transaction
        failed (DuckDB would roll back silently).
        """
        failure, self._failure, self._in_transaction = self._failure, None, False
        if self._begin_pending:
            self._begin_pending = False
            return
        if failure is not None:
            await self._submit(False, _rollback, (), {})
            raise TransactionAborted(failure, committing=True) from failure
        await self._submit(False, _commit, (), {})

    async def rollback(self) -> None:
        """Roll the transaction back; where none is open, no hop.

        No transaction is open when none ran a statement yet, after a commit or a rollback
        (the pool's reset of a connection returned after COMMIT is one: DuckDB would only
        refuse it), and on a closed connection (closing rolled back), so that a pool returning
        a connection its database ended logs no failed reset.
        """
        in_transaction, self._failure, self._in_transaction = self._in_transaction, None, False
        if self._begin_pending or self._closed or not in_transaction:
            self._begin_pending = False
            return
        await self._submit(False, _rollback, (), {})

    async def close(self) -> None:
        """Close the DuckDB connection and join the worker thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._worker.submit(self._release_on_worker)
        finally:
            self._worker.stop(join=True)

    async def abort(self) -> None:
        """Close from outside the owner (its database is ending): interrupt the running
        statement, close the DuckDB connection (rolling back), and join the worker thread."""
        # Closed already (close_nowait): its release is queued, and the thread ends after it.
        if not self._closed:
            self._closed = True
            conn = self._conn
            if conn is not None:  # None: still opening; the release job comes after the open
                await self._interrupt_until_idle(conn)
            await self._worker.submit(self._release_quietly)
        self._worker.stop(join=True)

    def close_nowait(self) -> None:
        """Close without waiting, from any thread (garbage collection, a failed open)."""
        if self._closed:
            return
        self._closed = True
        self._worker.post(self._release_quietly)
        self._worker.stop(join=False)

    def _release_on_worker(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._database.release(conn)

    def _release_quietly(self) -> None:
        # Nobody waits for this job; an error here would only kill the thread noisily.
        with contextlib.suppress(duckdb.Error):
            self._release_on_worker()
