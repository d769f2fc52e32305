"""Reads the SQLAlchemy adapter compiled already, run as one job on the connection's worker thread.

SQLAlchemy's execution of a statement from asyncio is a greenlet switch into the synchronous
world, its execution context and result, and a switch back: measured (issue 15) on a get by id
of a 100,000-row DuckDB file, that was 0.3-1.0 ms of the 1.5-2.5 ms the get took, more than the
statement's own overhead. A read run here awaits the worker thread straight from the event loop,
under the connection's execution lock (as the cursor would take it), and inside the transaction
SQLAlchemy began on it: a ``BEGIN`` still pending goes with the statement, and a failed statement
aborts the transaction exactly as the cursor's would (:class:`~._connection.TransactionAborted`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import duckdb
import sqlalchemy as sa

from andamios.adapters.duckdb._dialect import AsyncAdapt_duckdb_connection, execute_buffered
from andamios.adapters.sql_spi import DriverRead

__all__ = ["WorkerReader"]


async def _read(
    adapted: AsyncAdapt_duckdb_connection, sql: str, params: Sequence[Any]
) -> tuple[Sequence[Any] | None, list[Any]]:
    try:
        async with adapted._execute_mutex:
            description, _, rows = await adapted.driver.run(execute_buffered, sql, params)
    except duckdb.Error as error:
        raise sa.exc.DBAPIError.instance(sql, params, error, duckdb.Error) from error
    return description, rows


class WorkerReader:
    """The DuckDB database's :class:`~andamios.adapters.sql_spi.DirectReader`."""

    __slots__ = ()

    def reader(self, connection: sa.Connection) -> DriverRead | None:
        """What runs a statement on the worker thread of ``connection`` (open, not invalidated);
        ``None`` for a connection that is not a ``duckdb+async`` one."""
        adapted: object = connection.connection.dbapi_connection
        if not isinstance(adapted, AsyncAdapt_duckdb_connection):
            return None
        return functools.partial(_read, adapted)
