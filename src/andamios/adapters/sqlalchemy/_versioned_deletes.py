"""Versioned DELETEs checked one by one where the driver cannot count a batch of them.

A driver without a row count for ``executemany`` (asyncpg: SQLAlchemy's
``supports_sane_multi_rowcount`` is false) makes the ORM delete versioned rows one statement at
a time and add up what they matched, and then (SQLAlchemy 2.1, ``_emit_delete_statements``) skip
its check whenever more than one row was deleted: a stale removal among several would commit,
silently not done. So on such engines each versioned DELETE is checked as it runs: one that
matched no row raises the :class:`~sqlalchemy.orm.exc.StaleDataError` the ORM raises for a
single one, which every adapter translates into a
:class:`~andamios.ports.errors.ConcurrencyError`.
"""

from __future__ import annotations

import weakref
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, ExecutionContext
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm.exc import StaleDataError

from andamios.adapters.sqlalchemy._direct import OWN_LISTENERS

__all__ = ["VERSION_MARK", "watch_versioned_deletes"]

#: Marks (in ``info``) the version column of a mapped aggregate's table.
VERSION_MARK = "andamios.version"

_WATCHED: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


def watch_versioned_deletes(engine: AsyncEngine) -> None:
    """Check every versioned DELETE of ``engine`` if its driver cannot count a batch (once)."""
    sync = engine.sync_engine
    if sync.dialect.supports_sane_multi_rowcount or sync in _WATCHED:
        return
    sa.event.listen(sync, "after_cursor_execute", _check_matched)
    _WATCHED.add(sync)


def _check_matched(  # noqa: PLR0917 - SQLAlchemy's event signature
    conn: Connection,
    cursor: Any,
    statement: str,
    parameters: object,
    context: ExecutionContext,
    executemany: bool,
) -> None:
    compiled = getattr(context, "compiled", None)
    if executemany or not getattr(context, "isdelete", False) or compiled is None:
        return
    delete = compiled.statement
    where = getattr(delete, "whereclause", None)
    if where is None or cursor.rowcount != 0:
        return
    versioned = any(
        isinstance(each, sa.Column) and each.info.get(VERSION_MARK)
        for each in sa.sql.visitors.iterate(where)
    )
    if versioned:
        table = delete.table
        msg = (
            f"DELETE statement on table '{table.description}' expected to delete 1 row(s); "
            "0 were matched."
        )
        raise StaleDataError(msg)


# Reads are not its business: the direct read path need not step aside for it.
OWN_LISTENERS.add(_check_matched)
