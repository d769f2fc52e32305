"""Read-model queries and raw SQL on an SQLAlchemy session.

A plan (:class:`~andamios.ports.spi.QueryPlan`) compiles to one statement::

    SELECT <outputs> FROM (
        SELECT <paths and aggregations> AS <names> FROM <root> [JOIN <child table> ON <key>]
        [[LEFT] JOIN <aggregate table> ON <a> = <b> AND <not soft-deleted>]
        WHERE <condition> [GROUP BY <keys>]
    ) AS andamios_rows WHERE <having> ORDER BY <order> LIMIT <n> OFFSET <m>

The outer query filters, orders and pages by output name, so ``having``, ``order_by`` and keyset
pages work alike for rows and groups. Every value is a bound parameter; text orders by code
point (``CodePointText``); ``Sum`` of integers reads back an ``int`` and ``Avg`` a ``float`` on
every database, as the in-memory adapter computes them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.orm import Mapper

from andamios.adapters.sql_spi import WHOLE_SUMS, ArrowReader, CodePointText, base_type
from andamios.adapters.sqlalchemy._compiler import SpecColumns, compile_order, compile_spec
from andamios.adapters.sqlalchemy._mapping import ChildColumns, Mapping
from andamios.adapters.sqlalchemy._repository import SessionContext
from andamios.domain import Aggregation, Avg, Count, InvalidSpecification, Min, Sum
from andamios.ports.spi import QueryPlan, RawSql, Tracker, rows_to_arrow

__all__ = ["SqlRawSql", "compile_query", "run_query", "run_query_arrow"]

#: The name of the subquery the outer query filters, orders and pages.
ROWS = "andamios_rows"


class _WholeNumber(sa.types.TypeDecorator[int]):
    """A sum of integers as an ``int`` (PostgreSQL's ``sum(bigint)`` is ``numeric``), converted
    only where the dialect does not say its driver gives one already (:data:`WHOLE_SUMS`)."""

    impl = sa.Numeric
    cache_ok = True

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> int | None:
        return None if value is None else int(value)

    def result_processor(
        self, dialect: sa.Dialect, coltype: object
    ) -> Callable[[Any], int | None] | None:
        if getattr(dialect, WHOLE_SUMS, False):
            return None  # no Python call per row
        return super().result_processor(dialect, coltype)


class _ExactUuid(sa.types.TypeDecorator[UUID]):
    """A UUID read back as a ``uuid.UUID`` (asyncpg hands out a subclass of its own)."""

    impl = sa.Uuid
    cache_ok = True

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> UUID | None:
        if value is None or type(value) is UUID:
            return value
        return UUID(int=value.int)


class _Sources:
    """Resolves a plan's prefixed paths (``"line.sku"``) to the columns of their source."""

    def __init__(self, resolvers: dict[str, SpecColumns]) -> None:
        self._resolvers = resolvers
        self._columns: dict[str, sa.ColumnElement[Any]] = {}

    def column(self, path: str) -> sa.ColumnElement[Any]:
        # One expression per path: a one-to-one child's field is a scalar subquery over an
        # alias of its own, and GROUP BY accepts the select list's only if it is the same one.
        found = self._columns.get(path)
        if found is None:
            head, _, rest = path.partition(".")
            found = self._columns[path] = self._resolvers[head].column(rest)
        return found

    def collection(self, path: str) -> tuple[SpecColumns, sa.ColumnElement[bool], sa.FromClause]:
        head, _, rest = path.partition(".")
        return self._resolvers[head].collection(rest)

    def present(self, path: str) -> sa.ColumnElement[bool] | None:
        head, _, rest = path.partition(".")
        return self._resolvers[head].present(rest)


class _Outputs:
    """Resolves output names to the columns of the inner query (for having and order)."""

    def __init__(self, rows: sa.Subquery) -> None:
        self._rows = rows

    def column(self, path: str) -> sa.ColumnElement[Any]:
        return self._rows.c[path]

    def collection(self, path: str) -> tuple[SpecColumns, sa.ColumnElement[bool], sa.FromClause]:
        msg = f"{path!r} is an output: any() filters sources (in where())"
        raise InvalidSpecification(msg)

    def present(self, path: str) -> None:
        return None  # an output is one column


def _aggregated(  # noqa: PLR0911 - one return per aggregation
    aggregation: Aggregation, columns: _Sources
) -> sa.ColumnElement[Any]:
    if aggregation.field is None:
        return sa.func.count()
    column = columns.column(aggregation.field)
    match aggregation:
        case Count(distinct=True):
            return sa.func.count(sa.distinct(column))
        case Count():
            return sa.func.count(column)
        case Avg():
            # Not AVG: DuckDB and PostgreSQL round a mean of decimals or integers each their own
            # way. The exact sum made a float, divided by the count: the same on every adapter
            # (over no values the sum is NULL, and so is the mean).
            total: sa.ColumnElement[float] = sa.cast(sa.func.sum(column), sa.Double())
            return total / sa.func.count(column, type_=sa.Double())
        case Sum() if isinstance(base_type(column.type), sa.Integer):
            return sa.type_coerce(sa.func.sum(column), _WholeNumber())
        case Sum():
            return sa.func.sum(column)
    function = sa.func.min if isinstance(aggregation, Min) else sa.func.max
    kind = base_type(column.type)
    if isinstance(kind, sa.Uuid):
        # PostgreSQL has no min(uuid); the text of a UUID (lower-case hex) orders as its bytes.
        text = function(CodePointText(sa.cast(column, sa.String())), type_=sa.String())
        return sa.cast(text, column.type)
    ordered = CodePointText(column) if isinstance(kind, sa.String) else column
    return function(ordered, type_=column.type)


def _from(plan: QueryPlan, mapping: Mapping) -> tuple[sa.FromClause, _Sources]:
    """The FROM clause of ``plan``'s sources and the resolver of their paths."""
    resolvers: dict[str, SpecColumns] = {}
    columns = _Sources(resolvers)
    root, *joined = plan.sources
    root_mapping = mapping.aggregate_mapping(root.kind)
    resolvers[root.name] = root_mapping
    clause: sa.FromClause = root_mapping.table
    for source in joined:
        if source.is_aggregate:
            joined_mapping = mapping.aggregate_mapping(source.kind)
            resolvers[source.name] = joined_mapping
            assert source.on is not None
            condition = columns.column(source.on[0]) == columns.column(source.on[1])
            if source.deleted is not None:
                condition = condition & joined_mapping.column(source.deleted).is_(None)
            table: sa.FromClause = joined_mapping.table
        else:
            parent: Mapper[Any] = sa.inspect(plan.source(str(source.parent)).kind)
            relationship = parent.relationships[str(source.field)]
            child: Mapper[Any] = relationship.mapper
            table = child.local_table
            resolvers[source.name] = ChildColumns(child, table)
            condition = sa.and_(
                *(remote == local for local, remote in relationship.local_remote_pairs)
            )
        clause = clause.join(table, condition, isouter=source.outer)
    return clause, columns


def compile_query(plan: QueryPlan, mapping: Mapping, *, visible: bool = False) -> sa.Select[Any]:
    """The statement of ``plan``; ``visible``: only the outputs the caller sees.

    Built once per plan and kept by the mapping (:meth:`Mapping.statement`): a query run again,
    a report's constant query above all, reuses it. A plan holding a value no dict can key (a
    list compared whole) is built each time.
    """
    try:
        hash(plan)
    except TypeError:
        return _build(plan, mapping, visible=visible)
    return mapping.statement((plan, visible), lambda: _build(plan, mapping, visible=visible))


def _build(plan: QueryPlan, mapping: Mapping, *, visible: bool) -> sa.Select[Any]:
    clause, columns = _from(plan, mapping)
    selected = []
    for output in plan.outputs:
        value = output.value
        column = (
            _aggregated(value, columns) if isinstance(value, Aggregation) else columns.column(value)
        )
        if isinstance(column.type, sa.Uuid):  # a plain UUID column, not a user's decorator
            column = sa.type_coerce(column, _ExactUuid())
        selected.append(column.label(output.name))
    inner = sa.select(*selected).select_from(clause)
    if plan.condition is not None:
        inner = inner.where(compile_spec(columns, plan.condition))
    if plan.groups:
        inner = inner.group_by(*(columns.column(path) for path in plan.groups))
    rows = inner.subquery(ROWS)
    shown = plan.outputs[: plan.visible] if visible else plan.outputs
    outer = sa.select(*(rows.c[output.name] for output in shown))
    by_name = _Outputs(rows)
    if plan.having is not None:
        outer = outer.where(compile_spec(by_name, plan.having))
    if plan.order:
        outer = outer.order_by(*compile_order(by_name, plan.order))
    if plan.limit is not None:
        outer = outer.limit(plan.limit)
    if plan.offset:
        outer = outer.offset(plan.offset)
    return outer


async def run_query(
    plan: QueryPlan, mapping: Mapping, context: SessionContext
) -> list[tuple[object, ...]]:
    """The rows of ``plan``, in the unit of work's transaction (after its pending writes)."""
    statement = compile_query(plan, mapping)
    session = context.session
    with context.translated():
        await session.flush()
        result = await session.execute(statement)
        # SQLAlchemy's rows read as tuples (index, iterate, slice): no copy of each one.
        return cast("list[tuple[object, ...]]", result.all())


async def run_query_arrow(
    plan: QueryPlan, mapping: Mapping, context: SessionContext, reader: ArrowReader | None
) -> Any:
    """The visible outputs of ``plan``'s rows as a ``pyarrow.Table``."""
    statement = compile_query(plan, mapping, visible=True)
    if reader is None:
        rows = await run_query(plan, mapping, context)
        return rows_to_arrow(plan.names, rows)
    return await _arrow(context, reader, statement)


async def _arrow(context: SessionContext, reader: ArrowReader, statement: sa.ClauseElement) -> Any:
    session = context.session
    with context.translated():
        await session.flush()
        connection = await session.connection()
        return await connection.run_sync(reader.read, statement)


class SqlRawSql(RawSql):
    """Raw SQL on the unit of work's session, after its pending writes are flushed."""

    def __init__(
        self, tracker: Tracker, context: SessionContext, reader: ArrowReader | None
    ) -> None:
        super().__init__(tracker)
        self._context = context
        self._reader = reader

    async def _rows(
        self, statement: str, params: dict[str, object]
    ) -> tuple[tuple[str, ...], list[tuple[object, ...]]]:
        session = self._context.session
        with self._context.translated():
            await session.flush()
            result = await session.execute(sa.text(statement), params)
            names = tuple(result.keys())
            return names, [tuple(row) for row in result.all()]

    async def _execute(self, statement: str, params: dict[str, object]) -> int:
        session = self._context.session
        with self._context.translated():
            await session.flush()
            result = await session.execute(sa.text(statement), params)
            return int(result.rowcount)  # type: ignore[attr-defined]  # a CursorResult

    async def _arrow(self, statement: str, params: dict[str, object]) -> Any:
        text = sa.text(statement).bindparams(**params)
        if self._reader is None:
            names, rows = await self._rows(statement, params)
            return rows_to_arrow(names, rows)
        return await _arrow(self._context, self._reader, text)
