"""Every statement a unit of work's session runs, told to its hooks (only where hooks listen).

A unit of work with hooks binds its session to ``engine.execution_options(andamios_observer=
<its observer>)``: an engine that shares the pool, the statement cache and the listeners of the
database's engine, so the listeners here find whose statement a cursor ran without any state on
the connection (a pooled connection serves many units of work). An engine none of whose units
of work has hooks gets no listener at all: the statements of a process without hooks cost
nothing more.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, ExceptionContext, ExecutionContext
from sqlalchemy.ext.asyncio import AsyncEngine

from andamios.adapters.sql_spi import OBSERVER
from andamios.ports.spi import Observer, now

__all__ = ["observed_engine"]

_WATCHED: weakref.WeakSet[sa.Engine] = weakref.WeakSet()
_STARTED = "andamios_started"


def observed_engine(engine: AsyncEngine, observer: Observer) -> AsyncEngine:
    """``engine`` with ``observer`` told every statement a session bound to it runs."""
    sync = engine.sync_engine
    if sync not in _WATCHED:
        sa.event.listen(sync, "before_cursor_execute", _before)
        sa.event.listen(sync, "after_cursor_execute", _after)
        sa.event.listen(sync, "handle_error", _failed)
        _WATCHED.add(sync)
    return engine.execution_options(**{OBSERVER: observer})


def _observer(context: ExecutionContext | None) -> Observer | None:
    # SQLAlchemy documents that a cursor event may come without a context.
    observer: Observer | None = None if context is None else context.execution_options.get(OBSERVER)
    return observer


def _before(  # noqa: PLR0917 - SQLAlchemy's event signature
    conn: Connection,
    cursor: Any,
    statement: str,
    parameters: object,
    context: ExecutionContext | None,
    executemany: bool,
) -> None:
    if context is not None and _observer(context) is not None:
        context.__dict__[_STARTED] = now()


_WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE")


def _rows(context: ExecutionContext, cursor: Any, statement: str) -> int | None:
    """The rows a write changed, where the driver counts them (a read's are not known yet)."""
    compiled_write = context.isinsert or context.isupdate or getattr(context, "isdelete", False)
    if not (compiled_write or statement.lstrip()[:6].upper().startswith(_WRITES)):
        return None
    count = getattr(cursor, "rowcount", -1)
    return count if isinstance(count, int) and count >= 0 else None


def _record(
    observer: Observer,
    context: ExecutionContext,
    statement: str,
    parameters: object,
    *,
    rows: int | None,
    error: BaseException | None,
) -> None:
    started_at, started = context.__dict__.pop(_STARTED, None) or now()
    observer.record_statement(
        statement,
        parameters if observer.wants_parameters else None,
        rows=rows,
        started_at=started_at,
        duration=(time.perf_counter_ns() - started) / 1e9,
        error=error,
    )


def _after(  # noqa: PLR0917 - SQLAlchemy's event signature
    conn: Connection,
    cursor: Any,
    statement: str,
    parameters: object,
    context: ExecutionContext | None,
    executemany: bool,
) -> None:
    observer = _observer(context)
    if observer is not None and context is not None:
        rows = _rows(context, cursor, statement)
        _record(observer, context, statement, parameters, rows=rows, error=None)


def _failed(exception_context: ExceptionContext) -> None:
    context = exception_context.execution_context
    statement = exception_context.statement
    observer = _observer(context)
    if observer is None or context is None or statement is None:
        return  # no hooks, or not a statement's failure (a connect, a pool timeout)
    # SQLAlchemy's wrapper where it made one: what the database's translation reads.
    error = exception_context.sqlalchemy_exception or exception_context.original_exception
    _record(observer, context, statement, exception_context.parameters, rows=None, error=error)
