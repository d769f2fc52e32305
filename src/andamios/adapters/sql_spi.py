"""What a SQL database adapter supplies to the SQLAlchemy adapter: the SQL side of the SPI.

:mod:`andamios.adapters.sqlalchemy` maps aggregates, compiles specs and runs units of work for any
SQLAlchemy dialect, and names none: where databases differ, it asks what the database adapter
(:mod:`andamios.adapters.duckdb`, :mod:`andamios.adapters.postgresql`, or a third party's)
supplies through this module. Both sides import it; it imports neither.

- :class:`JsonText`: a leaf of a JSON value object, as text. A dialect compiles it with
  ``@compiles(JsonText, "<dialect name>")``; without one it is the SQL standard's
  ``JSON_VALUE(column, '$.path')``.
- :class:`CodePointText`: a text column compared and ordered by code point, as Python (and so
  the in-memory adapter) compares ``str``. It compiles to the column itself unless the dialect
  registers a form (PostgreSQL's collations sort ``"B" < "a"`` or not by locale).
- :class:`BulkStager`: how a database stages many rows for one statement (DuckDB: an Arrow
  table; PostgreSQL: ``COPY`` into a temporary table). A database without one writes through
  the ORM.
- :class:`ArrowReader`: how a database hands a query's result over as a ``pyarrow.Table``
  without a Python object per value (DuckDB); a database without one (its ``arrow_reader`` is
  ``None`` or missing) builds the table from the rows.
- :class:`DirectReader`: how a database runs a read the SQLAlchemy adapter compiled already on
  the driver of a connection the session holds, awaited on the event loop, without SQLAlchemy's
  execution (DuckDB: one job on the connection's worker thread). A database without one (its
  ``direct_reader`` is ``None`` or missing) reads through SQLAlchemy's execution.
- :data:`WHOLE_SUMS`: the dialect attribute that, set to ``True``, says its driver hands over a
  ``SUM`` of integers as an ``int`` already (DuckDB), so no result is converted per row.
- :data:`CHILD_FOREIGN_KEYS`: the dialect attribute that, set to ``False``, leaves the foreign
  key of a child table out of DDL (DuckDB cannot update a referenced row, ADR 0009).
- :data:`OBSERVER` and :func:`observed_statement`: where a unit of work's hooks wait for the
  statements it runs. SQL that goes through SQLAlchemy's cursor execution is told to them by
  the SQLAlchemy adapter; a statement a database adapter runs on its driver directly (an Arrow
  scan, a ``COPY``) is wrapped in ``with observed_statement(connection, sql):``.
- :func:`url_option` and :func:`pool_exhausted`: what the database adapters' settings and error
  translations share, so that a setting given twice and a pool wait that expires read the same
  on every database (ADR 0012).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from andamios.ports.errors import ConfigurationError, OperationalError
from andamios.ports.spi import Observer, now

__all__ = [
    "CHILD_FOREIGN_KEYS",
    "OBSERVER",
    "STAGED",
    "WHOLE_SUMS",
    "ArrowReader",
    "BulkStager",
    "CodePointText",
    "Convert",
    "DirectReader",
    "DriverRead",
    "JsonText",
    "base_type",
    "emits_child_foreign_keys",
    "observed_statement",
    "pool_exhausted",
    "statement_observer",
    "url_option",
]

#: The name of the dialect attribute saying whether child tables' foreign keys are created.
CHILD_FOREIGN_KEYS = "andamios_child_foreign_keys"

#: The name of the dialect attribute saying whether a SUM of integers reads back as an ``int``.
WHOLE_SUMS = "andamios_whole_sums"

#: The name under which a bulk statement reads the staged rows (``FROM andamios_staged``).
STAGED = "andamios_staged"

type Convert = Callable[[list[Any]], Any]

#: A compiled statement's SQL and positional parameters run on a driver: its cursor description
#: and rows (see :class:`DirectReader`).
type DriverRead = Callable[[str, Sequence[Any]], Awaitable[tuple[Sequence[Any] | None, list[Any]]]]


#: The execution option holding the :class:`~andamios.ports.spi.Observer` of the unit of work
#: whose session runs on the connection (set only where hooks listen).
OBSERVER = "andamios_observer"


def statement_observer(connection: sa.Connection) -> Observer | None:
    """The observer the statements of ``connection`` are told to, or None (no hooks)."""
    observer: Observer | None = connection.get_execution_options().get(OBSERVER)
    return observer


@contextmanager
def observed_statement(
    connection: sa.Connection, statement: str, parameters: object = None
) -> Iterator[None]:
    """Tell the unit of work's hooks about a statement run on the driver directly."""
    observer = statement_observer(connection)
    if observer is None:
        yield
        return
    started_at, started = now()
    error: BaseException | None = None
    try:
        yield
    except BaseException as failure:
        error = failure
        raise
    finally:
        observer.record_statement(
            statement,
            parameters if observer.wants_parameters else None,
            rows=None,
            started_at=started_at,
            duration=(time.perf_counter_ns() - started) / 1e9,
            error=error,
        )


def base_type(kind: sa.types.TypeEngine[Any]) -> sa.types.TypeEngine[Any]:
    """The type a column stores: under every ``TypeDecorator`` (a value object's, ``JsonValue``)."""
    while isinstance(kind, sa.types.TypeDecorator):
        kind = kind.impl_instance
    return kind


def emits_child_foreign_keys(dialect: sa.Dialect | None) -> bool:
    """Whether ``dialect`` creates the foreign key of a child table (true unless it says not)."""
    return bool(getattr(dialect, CHILD_FOREIGN_KEYS, True))


class JsonText(sa.sql.expression.ColumnElement[str]):
    """The text at ``path`` (field names) inside the JSON ``column``; NULL where there is none."""

    inherit_cache = True
    type = sa.String()
    # What the statement cache keys on: two paths into two columns are two statements.
    _traverse_internals = [  # noqa: RUF012 - SQLAlchemy's own declaration is a list
        ("column", InternalTraversal.dp_clauseelement),
        ("path", InternalTraversal.dp_string_list),
    ]

    def __init__(self, column: sa.ColumnElement[Any], path: Sequence[str]) -> None:
        self.column = column
        self.path = tuple(path)

    @property
    def json_path(self) -> str:
        """The path in JSONPath syntax: ``$.size.width_cm``."""
        return "$." + ".".join(self.path)


@compiles(JsonText)
def _json_value(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    # The SQL standard's form (SQL:2016), for dialects whose adapter registers none.
    column = compiler.process(element.column, **kw)
    path = compiler.render_literal_value(element.json_path, sa.String())
    return f"JSON_VALUE({column}, {path})"


class CodePointText(sa.sql.expression.ColumnElement[str]):
    """``column``, compared and ordered by code point wherever the dialect needs telling."""

    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]  # noqa: RUF012

    def __init__(self, column: sa.ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


@compiles(CodePointText)
def _code_point_text(element: CodePointText, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


class ArrowReader(Protocol):
    """How a database runs a statement and returns its rows as a ``pyarrow.Table``."""

    def read(self, connection: sa.Connection, statement: sa.ClauseElement) -> Any:
        """The rows of ``statement`` run on ``connection`` (inside its transaction), as a
        ``pyarrow.Table``; a driver error is raised as SQLAlchemy's ``DBAPIError``."""
        ...


class DirectReader(Protocol):
    """How a database runs a compiled read on a connection's driver, without SQLAlchemy's execution.

    The SQLAlchemy adapter asks only for a connection its session holds inside a transaction,
    with no SQLAlchemy event listening on it or its engine (nothing would be told of the
    statement), and runs on it only statements it compiled for that connection's dialect.
    """

    def reader(self, connection: sa.Connection) -> DriverRead | None:
        """What runs a statement on ``connection``'s driver, from the event loop; ``None`` when
        this connection cannot (then SQLAlchemy's execution runs it). A driver error is raised
        as SQLAlchemy's ``DBAPIError``, as SQLAlchemy's execution would raise it."""
        ...


class BulkStager(Protocol):
    """How a database runs one statement over many staged rows, inside the current transaction.

    The SQLAlchemy adapter writes the statement (``INSERT ... SELECT ... FROM andamios_staged``,
    ``UPDATE ... FROM andamios_staged AS staged ...``); the stager makes ``andamios_staged`` hold
    the rows, from columns converted by its :meth:`converter`.

    A stager whose conversion of a ``NUMERIC(p, s)`` column refuses every ``Decimal`` that does
    not fit it (a lost digit, an overflow, not finite) may say so with a class attribute
    ``refuses_unfit_decimals = True``: the bulk path then tests only those values' types before
    converting them. Without it, each value is also quantized first.
    """

    def converter(self, column: sa.Column[Any], dialect: sa.Dialect) -> Convert | None:
        """How the Python values of ``column`` become one staged column; ``None``: they cannot
        (the aggregate type is then written through the ORM)."""
        ...

    def run(
        self,
        connection: sa.Connection,
        staged: Sequence[tuple[sa.Column[Any], Any]],
        sql: str,
    ) -> list[Any]:
        """Run ``sql`` with ``staged`` (each column and its converted values) readable as
        :data:`STAGED`; return the rows the statement returned. Called from the session's flush
        (a synchronous ``connection`` inside SQLAlchemy's async bridge)."""
        ...


def url_option[T](
    url: str,
    option: str,
    raw: str | tuple[str, ...],
    parse: Callable[[str], T],
    *,
    keyword: str,
    given: T,
    default: T,
) -> T:
    """The value of the setting ``keyword`` when the query of ``url`` gives it too, as ``option``.

    ``raw`` is the option's text in the URL, ``parse`` reads it (a ``ValueError`` means it is
    not a value of the setting), ``given`` is the setting's value otherwise (as a keyword, a
    variable or a configuration key) and ``default`` its default. The same value twice is
    that value; a setting left at its default takes the URL's (the settings classes cannot tell
    a default from a value given equal to it); two different values raise
    :class:`ConfigurationError` naming both, as does an option given twice in the URL. ``url``
    is shown in the messages as it is: pass it with its password hidden.
    """
    if not isinstance(raw, str):
        msg = f"{url!r}: the URL option {option} is given {len(raw)} times; give it once"
        raise ConfigurationError(msg)
    try:
        value = parse(raw)
    except ValueError as error:
        msg = f"{url!r}: the URL option {option}={raw} is not a valid {keyword} ({error})"
        raise ConfigurationError(msg) from error
    if given in (value, default):
        return value
    msg = (
        f"{url!r}: the URL option {option}={raw} and the setting {keyword}={given!r} disagree; "
        f"give {keyword} once, in the URL or as a setting"
    )
    raise ConfigurationError(msg)


def pool_exhausted(
    exc: BaseException,
    *,
    pool_size: int | None = None,
    pool_timeout: float | None = None,
    max_overflow: int | None = None,
) -> OperationalError:
    """The error of a unit of work that waited ``pool_timeout`` for a pooled connection in vain.

    ``exc`` is SQLAlchemy's pool ``TimeoutError``; its first line ends the message. The settings
    are named with their values when the database passes them, by name alone otherwise
    (``max_overflow``: only where the database has that setting). Returned, not raised.
    """
    # The pool's own words: str(exc) appends a link to SQLAlchemy's documentation.
    said = str(exc.args[0] if exc.args else exc).strip().split("\n", 1)[0]
    if pool_size is None or pool_timeout is None:
        how = "pool_timeout, with every connection of pool_size in use"
    else:
        overflow = "" if max_overflow is None else f" (+ max_overflow={max_overflow})"
        how = (
            f"pool_timeout={pool_timeout} s, with all pool_size={pool_size}{overflow} "
            "connections in use"
        )
    return OperationalError(
        f"no database connection became free within {how}; raise pool_size or pool_timeout, "
        f"or hold units of work for less time ({said})"
    )
