"""The direct read path's statements: compiled once per query shape, run on the driver directly.

A ``find``, ``count`` or ``exists`` of a flat mapping builds an SQLAlchemy statement from its
spec, and SQLAlchemy then computes the statement's cache key on every call to find the compiled
form it already has: measured (issue 15), the statement's construction and its cache key were
the largest part of Andamios' own share of a count. Here a spec is reduced to its *shape* (its
nodes, fields and operators, without the values) and its values, in the order the compiler binds
them; a shape is compiled once per dialect into SQL whose parameters are filled from the values
of each call, converted by the columns' types as SQLAlchemy converts them (its bind processors),
and its rows by its result processors. :class:`DirectReads` runs such a statement on the driver
of the connection the unit of work's session holds (the database's
:class:`~andamios.adapters.sql_spi.DirectReader`), without SQLAlchemy's execution, whenever
nothing would notice the difference: the session holds a connection in an active transaction,
no hook and no SQLAlchemy event listens, and (for queries) nothing waits to be flushed.
Otherwise the repository runs the statement through SQLAlchemy, as before.

Shapes cover comparisons, ``between``, ``is None`` and their combinations with ``&``, ``|``, ``~``;
a spec with ``in_`` (whose SQL depends on how many values it has) or a text match (whose value is
escaped into the pattern) takes SQLAlchemy's path.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.util import LRUCache

from andamios.adapters.sql_spi import OBSERVER, DirectReader, DriverRead, observed_statement
from andamios.domain import And, Between, Compare, IsNone, Not, Or, Spec

if TYPE_CHECKING:
    from andamios.adapters.sqlalchemy._session import AggregateSession

__all__ = [
    "OWN_LISTENERS",
    "DirectReads",
    "Prepared",
    "StatementCache",
    "converted",
    "result_processors",
    "spec_shape",
]

#: Shapes kept per mapping and dialect (SQLAlchemy's own compiled cache keeps 500 per engine).
CACHED_SHAPES = 256

type Shape = Hashable
type Processor = Callable[[Any], Any] | None


def spec_shape(  # noqa: PLR0911 - one return per node kind
    spec: Spec | None, values: list[Any]
) -> Shape | None:
    """``spec``'s shape, its values appended to ``values`` in the order the compiler binds them;
    ``None`` when the spec has a node whose SQL depends on its values."""
    match spec:
        case None:
            return ()
        case Compare(field=field, op=op, value=value):
            values.append(value)
            return ("=", field, op)
        case Between(field=field, low=low, high=high):
            values.extend((low, high))
            return ("between", field)
        case IsNone(field=field, negated=negated):
            return ("none", field, negated)
        case And(parts=parts) | Or(parts=parts):
            shapes = []
            for part in parts:
                shape = spec_shape(part, values)
                if shape is None:
                    return None
                shapes.append(shape)
            return ("&" if isinstance(spec, And) else "|", *shapes)
        case Not(part=part):
            inner = spec_shape(part, values)
            return None if inner is None else ("~", inner)
    return None  # In, Match, AnyMatch


class SlotBinder:
    """Binds a shape's values as numbered parameters (``v0``, ``v1``, ...), in the order the
    compiler asks, typed by their columns: the template of a compiled shape."""

    __slots__ = ("_count",)

    def __init__(self) -> None:
        self._count = 0

    def __call__(self, column: sa.ColumnElement[Any], value: object) -> sa.BindParameter[Any]:
        """The next slot's parameter for a value compared with ``column``."""
        name = f"v{self._count}"
        self._count += 1
        return sa.bindparam(name, type_=column.type)


#: The extra parameters a statement may take besides the spec's values.
LIMIT = "limit"
OFFSET = "offset"


class Prepared:
    """One compiled shape: its SQL, where each positional parameter comes from, and how the
    values of parameters and results are converted (as SQLAlchemy would).

    A statement selecting a table's mapped columns is run as ``SELECT *`` while the table has
    exactly those columns, in that order (the result's description tells, on every call):
    measured on DuckDB 2.0 (issue 15), ``SELECT * FROM products WHERE id = $1`` ran in 934 µs
    where the list of its six columns took 1,042 µs. Once a result shows other columns (a
    column the mapping leaves out, one a migration added), the statement lists its columns.
    """

    __slots__ = ("_binds", "_columns", "_dialect", "_names", "_results", "_star", "sql")

    def __init__(
        self, statement: sa.Select[Any], dialect: sa.Dialect, columns: Sequence[Any] = ()
    ) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql: str = compiled.string
        processors = compiled._bind_processors
        binds: list[tuple[int | str | None, object, Any]] = []
        for name in compiled.positiontup or ():
            source: int | str | None
            if name in (LIMIT, OFFSET):
                source = name
            elif name.startswith("v") and name[1:].isdigit():
                source = int(name[1:])
            else:
                source = None  # a constant of the statement (EXISTS's SELECT 1)
            binds.append((source, compiled.binds[name].effective_value, processors.get(name)))
        self._binds = tuple(binds)
        self._dialect = dialect
        self._columns = tuple(columns)
        self._names = tuple(column.name for column in self._columns)
        self._results: tuple[Processor, ...] | None = None
        self._star: str | None = None
        if columns:
            every: sa.Select[Any] = statement.with_only_columns(
                sa.literal_column("*"), maintain_column_froms=True
            )
            # The same parameters in the same places: only the select list differs.
            self._star = every.compile(dialect=dialect).string

    def parameters(
        self, values: Sequence[Any], limit: int | None = None, offset: int | None = None
    ) -> list[Any]:
        """The positional parameters of one call: the spec's ``values``, ``limit``, ``offset``."""
        params: list[Any] = []
        for source, constant, process in self._binds:
            if source is None:
                value = constant
            elif source == LIMIT:
                value = limit
            elif source == OFFSET:
                value = offset
            else:
                value = values[cast("int", source)]
            params.append(value if process is None else process(value))
        return params

    async def fetch(self, run: DriverRead, params: Sequence[Any]) -> list[Any]:
        """The rows of one call run by ``run``, each value converted as SQLAlchemy would."""
        star = self._star
        if star is not None:
            description, rows = await run(star, params)
            if description is not None and self._names == tuple(d[0] for d in description):
                return self._converted(description, rows)
            self._star = None  # the table holds other columns than the mapping's: list them
        description, rows = await run(self.sql, params)
        return self._converted(description, rows)

    def _converted(self, description: Sequence[Any] | None, rows: list[Any]) -> list[Any]:
        results = self._results
        if results is None:
            results = self._results = result_processors(self._dialect, self._columns, description)
        return converted(results, rows)


type Processors = tuple[Callable[[Any], Any] | None, ...]


def result_processors(
    dialect: sa.Dialect, columns: Sequence[Any], description: Sequence[Any] | None
) -> Processors:
    """How SQLAlchemy converts each value of a row of ``columns`` (``None``: as it comes), told
    the driver's ``description`` of them."""
    codes = [None] * len(columns) if description is None else description
    return tuple(
        column.type._cached_result_processor(dialect, code[1] if code else None)
        for column, code in zip(columns, codes, strict=False)
    )


def converted(processors: Processors, rows: list[Any]) -> list[Any]:
    """``rows`` as the driver returned them, each value converted by its processor."""
    if not any(processors):
        return rows
    return [
        tuple(
            value if process is None else process(value)
            for process, value in zip(processors, row, strict=True)
        )
        for row in rows
    ]


class StatementCache:
    """The compiled shapes of one mapping, per dialect (bounded: least recently used go)."""

    __slots__ = ("_by_dialect",)

    def __init__(self) -> None:
        self._by_dialect: weakref.WeakKeyDictionary[sa.Dialect, LRUCache[Shape, Prepared]] = (
            weakref.WeakKeyDictionary()
        )

    def __len__(self) -> int:
        """How many shapes are compiled, for every dialect."""
        return sum(len(cache) for cache in self._by_dialect.values())

    def get(
        self,
        dialect: sa.Dialect,
        shape: Shape,
        build: Callable[[], tuple[sa.Select[Any], Sequence[Any]]],
    ) -> Prepared:
        """The compiled form of ``shape``; ``build`` makes its statement and result columns the
        first time."""
        cache = self._by_dialect.get(dialect)
        if cache is None:
            cache = self._by_dialect[dialect] = LRUCache(CACHED_SHAPES)
        found = cache.get(shape)
        if found is None:
            statement, columns = build()
            found = cache[shape] = Prepared(statement, dialect, columns)
        return found


#: The events SQLAlchemy's execution of a statement fires: on the connection (and its engine),
#: and on the dialect. An engine's other listeners (``engine_disposed``, the pool's) see nothing
#: of a statement either way.
_STATEMENT_EVENTS = (
    "before_execute",
    "after_execute",
    "before_cursor_execute",
    "after_cursor_execute",
)
_DIALECT_EVENTS = ("handle_error", "do_execute", "do_execute_no_params")


#: The statement listeners of the SQLAlchemy adapter itself (``_statements``: what tells a unit
#: of work's hooks): a direct read tells the hooks itself (``observed_statement``).
OWN_LISTENERS: set[object] = set()


def _listened(connection: sa.Connection) -> bool:
    """Whether anything else listens to the statements of ``connection`` (OpenTelemetry's
    SQLAlchemy instrumentation, an application's ``before_cursor_execute``): a direct read
    would skip it."""
    # Not ``_has_events``: an engine_disposed listener (the DuckDB adapter's own) sets it too.
    dispatch, dialect_dispatch = connection.dispatch, connection.dialect.dispatch
    listeners = [
        *(fn for name in _STATEMENT_EVENTS for fn in getattr(dispatch, name)),
        *(fn for name in _DIALECT_EVENTS for fn in getattr(dialect_dispatch, name)),
    ]
    return any(fn not in OWN_LISTENERS for fn in listeners)


def _observed(run: DriverRead, connection: sa.Connection) -> DriverRead:
    """``run``, each statement told to the hooks of the unit of work the connection serves."""

    async def observed(sql: str, params: Sequence[Any]) -> tuple[Sequence[Any] | None, list[Any]]:
        with observed_statement(connection, sql, params):
            return await run(sql, params)

    return observed


class DirectReads:
    """Whether, and on what, a unit of work's session can run a read on its driver right now.

    Whether anything listens to a connection's statements, and what runs them on its driver, is
    asked once per connection the session checks out: a listener added while a unit of work
    holds its connection is heard from that unit of work's next connection on.
    """

    __slots__ = ("_connection", "_reader", "_run", "_session")

    def __init__(self, session: AggregateSession, reader: DirectReader | None) -> None:
        self._session = session
        self._reader = reader
        self._connection: sa.Connection | None = None
        self._run: tuple[DriverRead, sa.Dialect] | None = None

    def read(self, *, flushed: bool) -> tuple[DriverRead, sa.Dialect] | None:
        """The driver read of the session's connection, and its dialect, or ``None``.

        ``flushed``: the read is a query, which sees this unit of work's changes; it runs
        directly only when nothing is waiting to be flushed (the flush needs SQLAlchemy).
        """
        reader = self._reader
        if reader is None:
            return None
        session = self._session
        transaction = session._transaction
        if transaction is None or not transaction.is_active:
            return None
        bind = session.bind
        held = None if bind is None else transaction._connections.get(bind)
        if held is None:
            return None  # the unit of work's first statement: SQLAlchemy connects and begins
        connection = held[0]
        if not held[1].is_active or connection.closed or connection.invalidated:
            return None
        if flushed:
            session.json_snapshots.flag_changes(session)
            if not session._is_clean():
                return None
        if connection is not self._connection:
            self._connection = connection
            self._run = self._driver_read(reader, connection)
        return self._run

    @staticmethod
    def _driver_read(
        reader: DirectReader, connection: sa.Connection
    ) -> tuple[DriverRead, sa.Dialect] | None:
        # Any option set on the connection (a schema_translate_map, a logging token) but the
        # hooks' observer is one that SQLAlchemy's execution would apply and the compiled shapes
        # do not know.
        options = connection._execution_options
        if any(key != OBSERVER for key in options) or _listened(connection):
            return None
        run = reader.reader(connection)
        if run is None:
            return None
        return (_observed(run, connection) if OBSERVER in options else run), connection.dialect
