"""What a SQL database's lifecycle shares with its units of work: the work in flight.

A database adapter (:mod:`andamios.adapters.duckdb`, :mod:`andamios.adapters.postgresql`, or a
third party's) gives each started database a :class:`WorkInFlight` as its ``work`` attribute. The
SQLAlchemy unit of work, where it finds one, enters it when it begins, runs its COMMIT through
it, and leaves it when it ends. So:

- ``close()`` refuses new units of work at once, lets every COMMIT in flight finish, and knows
  how many units of work it ends;
- a COMMIT, once sent, runs to its end even if its caller is cancelled: the caller learns the
  outcome (``commit()`` returns, or raises the commit's own error) instead of a
  ``CancelledError`` that would leave it guessing whether a retry applies its work twice;
- a database is used from the event loop that started it, or fails at once saying so.

Both sides import this module; it imports neither (see also :mod:`andamios.adapters.sql_spi`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from andamios.ports.errors import DatabaseClosed, DatabaseError

__all__ = ["ConnectionsInUse", "WorkInFlight", "run_to_completion", "settle"]


async def settle[T](work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to its end even if the caller is cancelled meanwhile, and return its outcome.

    A cancellation received while waiting is absorbed (``Task.uncancel``): the caller gets what
    ``work`` returned or raised, as if it had not been cancelled. For work whose outcome the
    caller must know (a COMMIT); cleanup uses :func:`run_to_completion`.
    """
    current = asyncio.current_task()
    before = 0 if current is None else current.cancelling()
    try:
        return await _wait_out(asyncio.ensure_future(work))
    finally:
        while current is not None and current.cancelling() > before:
            current.uncancel()


async def run_to_completion[T](work: Coroutine[Any, Any, T]) -> T:
    """Run ``work`` to its end even if the caller is cancelled meanwhile; then re-raise that.

    For cleanup (closing a session, a database) that must not be abandoned halfway: SQLAlchemy
    would log "Exception during reset or similar" for a connection left mid-rollback, and a
    database would keep threads and its file lock.
    """
    current = asyncio.current_task()
    before = 0 if current is None else current.cancelling()
    result = await _wait_out(asyncio.ensure_future(work))
    if current is not None and current.cancelling() > before:
        # The cancellation that arrived meanwhile is delivered now that the work is done.
        raise asyncio.CancelledError
    return result


async def _wait_out[T](task: asyncio.Future[T]) -> T:
    while True:
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise  # the work itself was cancelled (the loop is shutting down)
            # The caller was: wait again (at once, if the work has just ended).


class WorkInFlight:
    """The units of work open on one started database and its COMMITs in flight.

    Made by :meth:`start` (on the event loop that will use the database), closed by the
    database's ``close()``.
    """

    __slots__ = (
        "_closed",
        "_commits",
        "_database",
        "_ended",
        "_idle",
        "_loop",
        "_open",
        "connect_at_begin",
    )

    def __init__(self, database: str, *, connect_at_begin: bool = False) -> None:
        self._database = database
        #: Whether a unit of work takes its connection when it begins, shielded from
        #: cancellation: for drivers whose connect, cancelled halfway, leaks it (asyncpg).
        self.connect_at_begin = connect_at_begin
        self._loop = asyncio.get_running_loop()
        self._open = 0
        self._commits = 0
        self._idle: asyncio.Event | None = None
        self._closed = False
        self._ended = False

    def __repr__(self) -> str:
        return f"<WorkInFlight of {self._database}: {self._open} open, {self._commits} committing>"

    @property
    def closed(self) -> bool:
        """Whether the database is closing or closed (no unit of work may begin or commit)."""
        return self._closed

    @property
    def ended(self) -> bool:
        """Whether :meth:`close` has returned: every COMMIT in flight had ended by then, so a
        unit of work failing afterwards failed because its database was closed."""
        return self._ended

    def check_loop(self) -> None:
        """Raise :class:`DatabaseError` when called from another event loop than the database's.

        A database's pool, connections and worker futures belong to the loop that started it;
        from another loop they would fail with a raw ``RuntimeError`` (a queue bound to another
        loop) or hang. Outside any loop (building a unit of work in sync code) nothing is asked.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if loop is not self._loop:
            raise DatabaseError(
                f"{self._database} was started on another event loop: a database, its pool and "
                "its connections belong to the loop that started it; open one Database per event "
                "loop (each asyncio.run, each thread running a loop)"
            )

    def _refuse_closed(self, what: str) -> None:
        if self._closed:
            raise DatabaseClosed(
                f"{self._database} is closed: {what}; open the database again "
                "(async with Database(url) or await database.start())"
            )

    def enter(self) -> None:
        """A unit of work begins: refused once the database is closed, or from another loop."""
        self.check_loop()
        self._refuse_closed("no unit of work can begin")
        self._open += 1

    def leave(self) -> None:
        """A unit of work that :meth:`enter`\\ ed has ended."""
        self._open -= 1

    def closed_error(self) -> DatabaseClosed:
        """The error of a unit of work that was open when the database was closed."""
        return DatabaseClosed(
            f"{self._database} was closed while this unit of work was open: its transaction "
            "was rolled back and nothing of it was saved"
        )

    async def commit(self, commit: Coroutine[Any, Any, None]) -> None:
        """Run a unit of work's COMMIT to its end (see :func:`settle`); close() waits for it.

        Raises :class:`DatabaseClosed` without running it once the database was closed: the unit
        of work was still open when ``close()`` ended it, so its transaction is gone.
        """
        if self._closed:
            commit.close()
            raise self.closed_error()
        self._commits += 1
        try:
            await settle(commit)
        finally:
            self._commits -= 1
            if self._commits == 0 and self._idle is not None:
                self._idle.set()

    async def close(self) -> int:
        """Refuse new units of work and COMMITs, wait for the COMMITs in flight to end, and
        return how many units of work are still open (the database then ends them)."""
        self._closed = True
        if self._commits:
            self._idle = asyncio.Event()
            await self._idle.wait()
        self._ended = True
        return self._open


class ConnectionsInUse:
    """The connections checked out of an engine's pool, so that closing can end them.

    ``engine.dispose()`` closes only the connections in the pool: one a unit of work holds would
    live on, and commit, after its database was closed. :meth:`end` invalidates each (the driver
    terminates it, and the server rolls its transaction back) and refuses every new connection.
    For drivers whose connections a server ends; DuckDB's are ended by its own dialect.
    """

    __slots__ = ("_closed", "_database", "_in_use")

    def __init__(self, engine: AsyncEngine, database: str) -> None:
        self._database = database
        self._in_use: set[ConnectionPoolEntry] = set()
        self._closed = False
        sync_engine = engine.sync_engine
        event.listen(sync_engine, "checkout", self._checked_out)
        event.listen(sync_engine, "checkin", self._checked_in)
        event.listen(sync_engine, "do_connect", self._connecting)

    def _checked_out(
        self, _: DBAPIConnection, entry: ConnectionPoolEntry, __: PoolProxiedConnection
    ) -> None:
        self._in_use.add(entry)

    def _checked_in(self, _: DBAPIConnection | None, entry: ConnectionPoolEntry) -> None:
        self._in_use.discard(entry)
        if self._closed:
            # Checked out while close() ran (a connect in flight): the disposed pool keeps it.
            entry.invalidate()

    def _connecting(self, *_: object) -> None:
        if self._closed:
            raise DatabaseClosed(
                f"{self._database} was closed: no new connection is made; open the database "
                "again (async with Database(url) or await database.start())"
            )

    def drivers_in_use(self) -> list[Any]:
        """The driver connections (``driver_connection``) checked out right now."""
        return [
            entry.driver_connection for entry in self._in_use if entry.driver_connection is not None
        ]

    def end(self) -> None:
        """Terminate every connection in use and refuse new ones."""
        self._closed = True
        for entry in list(self._in_use):
            entry.invalidate()
        self._in_use.clear()
