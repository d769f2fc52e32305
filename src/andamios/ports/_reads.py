"""The read side of a unit of work: read-model queries and raw SQL, in its own transaction.

:class:`Reads` is what :class:`~andamios.ports.UnitOfWork` offers for reading beyond one
aggregate's repository: ``await uow.query(ReadQuery(...))`` returns typed rows, ``query_page``
keyset pages of them, ``query_arrow``/``query_polars`` the same rows as a ``pyarrow.Table`` / polars
``DataFrame``, and ``uow.sql`` runs a statement with bound parameters on SQL adapters. Every
call reads in the unit of work's transaction (a handler sees its own writes) and is checked
here, once, for every adapter (:mod:`andamios.ports._query_plan`).
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import itertools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from andamios.domain import InvalidSpecification
from andamios.ports._pagination import (
    DEFAULT_PAGE,
    Cursor,
    Page,
    check_count,
    check_page_size,
    keyset_after,
)
from andamios.ports._tracker import Tracker

if TYPE_CHECKING:  # the planner is imported by the first query (see andamios.domain._lazy)
    from andamios.domain import ReadQuery
    from andamios.ports._query_plan import QueryPlan
    from andamios.ports._raw_sql import RawSql

__all__ = ["Reads", "rows_to_arrow"]


def _plan(query: object) -> QueryPlan:
    from andamios.ports._query_plan import plan_query  # noqa: PLC0415 - on the first query

    plan = plan_query(query)
    check_count("limit", plan.limit, allow_none=True)
    check_count("offset", plan.offset, allow_none=False)
    return plan


def _row_factory(row_type: type[Any] | None, names: tuple[str, ...]) -> Callable[..., Any]:
    from andamios.ports._query_plan import row_factory  # noqa: PLC0415 - on the first query

    return row_factory(row_type, names)


def _optional(module: str, extra: str) -> Any:
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        msg = f"{module} is not installed: pip install '{extra}'"
        raise ModuleNotFoundError(msg) from error


def _arrow_value(value: object) -> object:
    # As DuckDB hands them to Arrow: a UUID as its text, an enum as the name SQLAlchemy stores.
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.name
    return value


def rows_to_arrow(names: Sequence[str], rows: Sequence[Sequence[object]]) -> Any:
    """Rows (one value per name, extra values ignored) as a ``pyarrow.Table``, column by column
    (types as pyarrow infers them; a column of no rows or only ``None`` is of type ``null``)."""
    pa = _optional("pyarrow", "andamios[bulk]")
    return pa.table(
        {
            name: pa.array([_arrow_value(row[index]) for row in rows])
            for index, name in enumerate(names)
        }
    )


def _made[R](
    make: Callable[..., R], names: tuple[str, ...], rows: Sequence[Sequence[object]]
) -> list[R]:
    """Result rows as ``make`` builds them from their visible outputs (hidden ones follow)."""
    if make is dict:  # the default rows: one dict each, made in C (no call of Python per row)
        return cast("list[R]", list(map(dict, map(zip, itertools.repeat(names), rows))))
    return [make(**dict(zip(names, row, strict=False))) for row in rows]


class Reads:
    """Read-model queries and raw SQL on a unit of work (mixed into ``UnitOfWork``)."""

    _tracker: Tracker

    async def query[R](self, query: ReadQuery[R]) -> list[R]:
        """The rows of ``query``: a ``dict`` each, or an instance of its ``into()`` class.

        ``uow.query(ReadQuery(Order).group_by("customer").select("customer", n=Count()))``. The
        query is checked before any database is asked (:class:`InvalidSpecification`).
        """
        plan = _plan(query)
        make = _row_factory(query.row_type, plan.names)
        async with self._tracker.observe("query", plan.sources[0].kind) as op:
            rows = await self._run_query(plan)
            op.rows = len(rows)
        return _made(make, plan.names, rows)

    async def query_page[R](
        self, query: ReadQuery[R], *, size: int = DEFAULT_PAGE, after: Cursor | None = None
    ) -> Page[R]:
        """One keyset page of at most ``size`` rows of ``query``, after the cursor ``after``.

        Pass ``page.next`` back as ``after`` with the same query for the next page; rows added
        meanwhile never shift a page. The query takes no ``limit``/``offset`` and keeps its
        deterministic order (no ``unordered()``).
        """
        plan = _plan(query)
        if plan.limit is not None or plan.offset:
            msg = "query_page() pages by keyset: drop limit() and offset() from the query"
            raise InvalidSpecification(msg)
        if not query.deterministic:
            msg = "query_page() needs the query's deterministic order: drop unordered()"
            raise InvalidSpecification(msg)
        check_page_size(size)
        make = _row_factory(query.row_type, plan.names)
        if after is not None:
            if not isinstance(after, Cursor) or after.order != plan.order:
                msg = "this cursor was made for another query; pass the same query"
                raise InvalidSpecification(msg)
            boundary = keyset_after(plan.order, after.values, plan.never_null)
            if boundary is None:
                self._tracker.ensure_active()
                return Page()
            having = boundary if plan.having is None else plan.having & boundary
            plan = dataclasses.replace(plan, having=having)
        plan = dataclasses.replace(plan, limit=size + 1)
        async with self._tracker.observe("query_page", plan.sources[0].kind) as op:
            rows = await self._run_query(plan)
            op.rows = min(len(rows), size)
        items = _made(make, plan.names, rows[:size])
        if len(rows) <= size:
            return Page(items)
        position = {output.name: index for index, output in enumerate(plan.outputs)}
        last = rows[size - 1]
        return Page(items, Cursor(plan.order, tuple(last[position[t.field]] for t in plan.order)))

    async def query_arrow(self, query: ReadQuery[Any]) -> Any:
        """The rows of ``query`` as a ``pyarrow.Table`` (``pip install 'andamios[bulk]'``).

        On DuckDB the table comes from the database without a Python object per value; its
        columns have the database's types.
        """
        _optional("pyarrow", "andamios[bulk]")
        plan = _plan(query)
        async with self._tracker.observe("query_arrow", plan.sources[0].kind) as op:
            table = await self._run_query_arrow(plan)
            op.rows = table.num_rows
        return table

    async def query_polars(self, query: ReadQuery[Any]) -> Any:
        """The rows of ``query`` as a polars ``DataFrame`` (when polars is installed)."""
        polars = _optional("polars", "andamios[polars]")
        return polars.from_arrow(await self.query_arrow(query))

    @property
    def sql(self) -> RawSql:
        """Raw SQL in this unit of work's transaction, with bound parameters only (SQL adapters;
        the in-memory adapter refuses it, naming :meth:`query` as the portable way)."""
        return self._raw_sql()

    # -- what an adapter implements -------------------------------------------------------------

    async def _run_query(self, plan: QueryPlan) -> list[tuple[object, ...]]:
        """The result rows of ``plan``, one tuple of every output (hidden ones included)."""
        raise NotImplementedError

    async def _run_query_arrow(self, plan: QueryPlan) -> Any:
        """The visible outputs of ``plan``'s rows as a ``pyarrow.Table``."""
        raise NotImplementedError

    def _raw_sql(self) -> RawSql:
        """This adapter's raw SQL runner."""
        raise NotImplementedError
