"""``duckdb+async``: an asyncio dialect for DuckDB on SQLAlchemy's ``connectors.asyncio`` adapters.

No async DuckDB driver exists, so this module is one, in the pattern of SQLAlchemy's ``aiosqlite``
dialect: the pooled DBAPI connection is an :class:`AsyncAdapt_duckdb_connection` whose blocking
calls ``await_`` an :class:`~._connection.AsyncDuckDBConnection`, and that one runs every call on
the worker thread it owns. A statement's execute and fetch happen in one job on that thread.

Registered through the ``sqlalchemy.dialects`` entry point ``duckdb.async``, so
``create_async_engine("duckdb+async:///file.duckdb")`` works without importing Andamios.
"""

from __future__ import annotations

import collections
import functools
import itertools
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

import duckdb
import sqlalchemy as sa
from sqlalchemy import event, pool, util
from sqlalchemy.connectors.asyncio import (
    AsyncAdapt_dbapi_connection,
    AsyncAdapt_dbapi_cursor,
    AsyncAdapt_dbapi_module,
    AsyncAdapt_terminate,
)
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.util.concurrency import await_

from andamios.adapters.duckdb._connection import AsyncDuckDBConnection, SharedDatabase
from andamios.adapters.duckdb._core_options import DUCKDB_OPTIONS
from andamios.adapters.duckdb._duckdb_engine import Dialect as _DuckDBEngineDialect
from andamios.adapters.duckdb._duckdb_engine import (
    DuckDBIdentifierPreparer,
    PGDialect,
    PGExecutionContext_psycopg2,
    PGIdentifierPreparer,
    apply_config,
)
from andamios.adapters.duckdb._settings import EXTENSION_POLICY
from andamios.adapters.sql_spi import JsonText

if TYPE_CHECKING:
    from sqlalchemy.connectors.asyncio import AsyncIODBAPIConnection
    from sqlalchemy.engine import Connection, Engine, Inspector
    from sqlalchemy.engine.interfaces import (
        DBAPIConnection,
        DBAPICursor,
        IsolationLevel,
    )
    from sqlalchemy.engine.url import URL

__all__ = [
    "DUCKDB_RESERVED_WORDS",
    "AsyncAdapt_duckdb_connection",
    "AsyncAdapt_duckdb_cursor",
    "AsyncAdapt_duckdb_dbapi",
    "AsyncAdapt_duckdb_ss_cursor",
    "AsyncDuckDBDialect",
    "AsyncDuckDBExecutionContext",
    "AsyncDuckDBIdentifierPreparer",
    "execute_buffered",
]

# DuckDB transactions see a snapshot and fail on write-write conflicts: snapshot isolation.
# SQLAlchemy's IsolationLevel literal does not list SNAPSHOT; it accepts any level a dialect names.
_SNAPSHOT = cast("IsolationLevel", "SNAPSHOT")
_AUTOCOMMIT: IsolationLevel = "AUTOCOMMIT"
# The schema every new DuckDB connection starts in.
_DEFAULT_SCHEMA = "main"

# rowcount of UPDATE/DELETE (and the total of executemany) is exact from this DuckDB on; older
# versions are treated as duckdb-engine treats them, as unreliable.
_SANE_ROWCOUNT_SINCE = (2, 0)

type _Description = list[tuple[Any, ...]] | None

#: The keywords DuckDB's parser refuses as a bare column or table name: those of category
#: ``reserved`` or ``type_function`` only in ``duckdb_keywords()`` (DuckDB 2.0). A keyword that is
#: also ``column_name`` or ``unreserved`` (``map``, ``struct``, ``timestamp``) is accepted bare and
#: stays unquoted. A test compares this set with the installed DuckDB's keywords.
DUCKDB_RESERVED_WORDS = frozenset({
    "all", "analyse", "analyze", "and", "anti", "any", "array", "as", "asc", "asof", "asymmetric",
    "at", "authorization", "binary", "both", "by", "case", "cast", "check", "collate", "collation",
    "column", "concurrently", "constraint", "create", "cross", "default", "deferrable", "desc",
    "describe", "distinct", "do", "else", "end", "except", "false", "fetch", "for", "foreign",
    "freeze", "from", "full", "glob", "group", "having", "ilike", "in", "initially", "inner",
    "intersect", "into", "is", "isnull", "join", "lambda", "lateral", "leading", "left", "like",
    "limit", "natural", "not", "notnull", "null", "offset", "on", "only", "or", "order", "outer",
    "overlaps", "pivot", "pivot_longer", "pivot_wider", "placing", "positional", "primary",
    "qualify", "references", "returning", "right", "select", "semi", "show", "similar", "some",
    "summarize", "symmetric", "table", "tablesample", "then", "to", "trailing", "true", "union",
    "unique", "unpack", "unpivot", "using", "variadic", "verbose", "when", "where", "window",
    "with",
})  # fmt: skip


def execute_buffered(
    conn: duckdb.DuckDBPyConnection, operation: str, parameters: Sequence[Any] | None
) -> tuple[_Description, int, list[tuple[Any, ...]]]:
    """Run one statement on ``conn`` and fetch all its rows: its description, rowcount, rows."""
    # Execute and fetch in one job: a second hop would add 30-90 µs to every statement.
    if parameters is None:
        conn.execute(operation)
    else:
        conn.execute(operation, parameters)
    description = conn.description
    # DuckDB 2.0 describes every result (DML returns a "Count" row, DDL a "Success" column);
    # fetching from a statement without one would raise, so the guard stays.
    rows = conn.fetchall() if description is not None else []
    return description, conn.rowcount, rows


def _execute_streaming(
    conn: duckdb.DuckDBPyConnection, operation: str, parameters: Sequence[Any] | None
) -> tuple[_Description, int]:
    if parameters is None:
        conn.execute(operation)
    else:
        conn.execute(operation, parameters)
    return conn.description, conn.rowcount


def _executemany(
    conn: duckdb.DuckDBPyConnection, operation: str, parameters: Sequence[Sequence[Any]]
) -> int:
    conn.executemany(operation, list(parameters))
    return conn.rowcount


def _ping(conn: duckdb.DuckDBPyConnection) -> bool:
    conn.execute("SELECT 1").fetchall()
    return True


def _fetchmany(conn: duckdb.DuckDBPyConnection, size: int) -> list[tuple[Any, ...]]:
    return conn.fetchmany(size)


def _fetchall(conn: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return conn.fetchall()


class AsyncAdapt_duckdb_cursor(AsyncAdapt_dbapi_cursor):  # noqa: N801 - SQLAlchemy's naming
    """A buffered DBAPI cursor: each statement executes and fetches all rows in one hop."""

    __slots__ = ("_arraysize", "_description", "_owner", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_duckdb_connection) -> None:
        # The base class would open a driver cursor and await its __aenter__: a DuckDB statement
        # needs neither, the results come back whole from the worker thread.
        self._adapt_connection = adapt_connection
        self._owner = adapt_connection
        self._rows = collections.deque()
        self._soft_closed_memoized = util.EMPTY_DICT
        self._description: _Description = None
        self._rowcount = -1
        self._arraysize = 1

    @property
    def description(self) -> Any:
        """The description of the last statement's result, as DuckDB reported it."""
        return self._description

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement (exact on DuckDB 2.0), ``-1`` for queries."""
        return self._rowcount

    @property
    def arraysize(self) -> int:
        """How many rows :meth:`fetchmany` returns by default."""
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    @property
    def lastrowid(self) -> int:
        """DuckDB has no rowid of an insert; always ``-1``."""
        return -1

    async def _async_soft_close(self) -> None:
        # The rows are already here; there is no driver cursor to release.
        return

    def close(self) -> None:
        """Drop the buffered rows."""
        self._rows.clear()

    def setinputsizes(self, *inputsizes: Any) -> None:
        """Ignored, as PEP 249 allows."""

    def nextset(self) -> None:
        """DuckDB returns one result set per statement."""

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        async with self._owner._execute_mutex:
            description, rowcount, rows = await self._owner._driver.run(
                execute_buffered, operation, parameters
            )
        self._description, self._rowcount = description, rowcount
        self._rows = collections.deque(rows)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        async with self._owner._execute_mutex:
            rowcount = await self._owner._driver.run(_executemany, operation, seq_of_parameters)
        self._description, self._rowcount = None, rowcount
        self._rows.clear()


class AsyncAdapt_duckdb_ss_cursor(AsyncAdapt_duckdb_cursor):  # noqa: N801 - SQLAlchemy's naming
    """A streaming ("server side") cursor: rows are fetched from DuckDB batch by batch.

    DuckDB streams a result until the next statement on the same connection, so a stream must be
    consumed before the connection runs anything else.
    """

    __slots__ = ()
    server_side = True

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        async with self._owner._execute_mutex:
            description, rowcount = await self._owner._driver.run(
                _execute_streaming, operation, parameters
            )
        self._description, self._rowcount = description, rowcount

    # These run in SQLAlchemy's greenlet. A DuckDB error needs no adapting (``_handle_exception``
    # would re-raise it as it is), and each method is a single expression around ``await_``.

    def _fetch(self, size: int | None) -> list[tuple[Any, ...]]:
        if size is None:
            return await_(self._owner._driver.run(_fetchall))
        return await_(self._owner._driver.run(_fetchmany, size))

    def fetchone(self) -> Any:
        """Fetch the next row, or ``None`` at the end."""
        return next(iter(self._fetch(1)), None)

    def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        """Fetch the next ``size`` rows (default :attr:`arraysize`)."""
        return self._fetch(self.arraysize if size is None else size)

    def fetchall(self) -> Sequence[Any]:
        """Fetch every remaining row."""
        return self._fetch(None)

    def __iter__(self) -> Iterator[Any]:
        batches = iter(functools.partial(self._fetch, max(self.arraysize, 1000)), [])
        return itertools.chain.from_iterable(batches)


class AsyncAdapt_duckdb_connection(AsyncAdapt_terminate, AsyncAdapt_dbapi_connection):  # noqa: N801
    """The pooled DBAPI connection: a blocking PEP 249 face over an :class:`AsyncDuckDBConnection`.

    Runs inside SQLAlchemy's greenlet; every blocking call ``await_``\\ s the worker thread.
    """

    __slots__ = ("_driver",)

    _cursor_cls = AsyncAdapt_duckdb_cursor  # type: ignore[assignment]
    _ss_cursor_cls = AsyncAdapt_duckdb_ss_cursor  # type: ignore[assignment]

    def __init__(self, dbapi: Any, driver: AsyncDuckDBConnection) -> None:
        super().__init__(dbapi, cast("AsyncIODBAPIConnection", driver))
        self._driver = driver

    @property
    def driver(self) -> AsyncDuckDBConnection:
        """The asyncio connection every call of this one awaits."""
        return self._driver

    @property
    def autocommit(self) -> bool:
        """Whether each statement commits on its own (isolation level ``AUTOCOMMIT``)."""
        return self._driver.autocommit

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        self._driver.autocommit = value

    def begin(self) -> None:
        """Begin a transaction; the BEGIN travels with the transaction's first statement."""
        self._driver.begin()

    # No try/except around await_ as in the base class: its _handle_exception would re-raise a
    # DuckDB error unchanged.

    def commit(self) -> None:
        """Commit the transaction."""
        await_(self._driver.commit())

    def rollback(self) -> None:
        """Roll the transaction back."""
        await_(self._driver.rollback())

    def close(self) -> None:
        """Close the DuckDB connection and join its worker thread."""
        await_(self._driver.close())

    async def _terminate_graceful_close(self) -> None:
        await self._driver.close()

    def _terminate_force_close(self) -> None:
        self._driver.close_nowait()


class AsyncAdapt_duckdb_dbapi(AsyncAdapt_dbapi_module):  # noqa: N801 - SQLAlchemy's naming
    """The DBAPI "module" of the dialect: DuckDB's exception classes and paramstyle."""

    paramstyle = "numeric_dollar"
    apilevel = "2.0"
    # Connections may be shared between threads, one at a time: the pool hands them around.
    threadsafety = 1

    def __init__(self, driver: ModuleType) -> None:
        super().__init__(driver, dbapi_module=driver)
        self.version: str = driver.__version__
        for name in (
            "Error",
            "DatabaseError",
            "DataError",
            "OperationalError",
            "IntegrityError",
            "InternalError",
            "ProgrammingError",
            "NotSupportedError",
            "TransactionException",
            "ParserException",
        ):
            setattr(self, name, getattr(driver, name))

    @staticmethod
    def Binary(value: Any) -> Any:  # noqa: N802 - the PEP 249 name
        """DuckDB takes ``bytes`` as they are."""
        return value


class AsyncDuckDBIdentifierPreparer(DuckDBIdentifierPreparer):
    """Quotes every identifier DuckDB cannot take bare: PostgreSQL's reserved words and DuckDB's.

    duckdb-engine's preparer quotes only DuckDB's ``reserved`` keywords (asking a default DuckDB
    connection each time a dialect is made), so a column named ``at``, ``by`` or ``left`` (of
    category ``type_function``) broke ``CREATE TABLE``; this one uses :data:`DUCKDB_RESERVED_WORDS`.
    """

    reserved_words = PGIdentifierPreparer.reserved_words | DUCKDB_RESERVED_WORDS

    def __init__(self, dialect: Any, **kwargs: Any) -> None:
        # duckdb-engine's __init__ would query DuckDB and add to PostgreSQL's shared set.
        PGIdentifierPreparer.__init__(self, dialect, **kwargs)


class AsyncDuckDBExecutionContext(PGExecutionContext_psycopg2):
    """The execution context: streaming cursors, and no psycopg2 notice log."""

    def create_server_side_cursor(self) -> DBAPICursor:
        """A cursor that fetches its rows from DuckDB in batches."""
        return self._dbapi_connection.cursor(server_side=True)

    def post_exec(self) -> None:
        """Nothing to do: DuckDB sends no notices."""


def _merged_config(url_config: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """DuckDB's configuration: the extension policy, then the URL's options, then ``config``.

    Option names are DuckDB's, which are case-insensitive. ``config`` (the ``connect_args``: code)
    and the URL (configuration) may both give an option only with the same value: a URL never
    overrides what the code says, and is not silently ignored either.
    """
    merged: dict[str, Any] = dict(EXTENSION_POLICY)
    from_url = {str(name).lower(): value for name, value in url_config.items()}
    merged.update(from_url)
    for name, value in config.items():
        option = str(name).lower()
        if option in from_url and str(from_url[option]).lower() != str(value).lower():
            raise ArgumentError(
                f"duckdb+async: the URL sets {option}={from_url[option]!r} and connect_args "
                f"config sets {option}={value!r}; give the option once"
            )
        merged[option] = value
    return merged


def _is_false(value: object) -> bool:
    # As DuckDB reads a boolean option given as text (a URL's) or as a Python value.
    return str(value).strip().lower() in ("false", "f", "0", "no", "n")


def _unpin_databases(engine: Engine) -> None:
    dialect = cast("AsyncDuckDBDialect", engine.dialect)
    for database in dialect._databases.values():
        database.unpin()


class AsyncDuckDBDialect(_DuckDBEngineDialect):
    """The ``duckdb+async`` dialect: duckdb-engine's SQL dialect with an asyncio driver.

    Differences from duckdb-engine's ``duckdb://`` dialect:

    - each pooled connection owns one worker thread, and every statement runs there;
    - one engine opens its database once; pooled connections are cursors of it, so
      ``:memory:`` is one database per engine, shared by every connection;
    - a real (async) queue pool, for files and ``:memory:`` alike;
    - SQLAlchemy's statement cache is on;
    - ``rowcount`` is trusted on DuckDB 2.0+, so versioned ORM updates raise ``StaleDataError``;
    - cancelling a task interrupts its running statement;
    - ``isolation_level="AUTOCOMMIT"`` works (the default level is ``SNAPSHOT``);
    - ``Decimal`` values are bound as decimals, never through ``float``;
    - every identifier DuckDB's parser cannot take bare (``at``, ``order``, ``left``) is quoted;
    - reflection (``sqlalchemy.inspect()``) reads DuckDB's catalog (:class:`DuckDBInspector`);
    - after a failed statement, a transaction refuses further statements and its COMMIT
      (:class:`~._connection.TransactionAborted`), where DuckDB would roll back silently;
    - DuckDB installs and loads no extension by itself (``EXTENSION_POLICY``, under the URL's
      options and ``connect_args``), and ``preload_extensions`` load even with
      ``enable_external_access`` false;
    - an option that both the URL and ``connect_args={"config": ...}`` give must have one value
      (``ArgumentError`` otherwise): the URL never overrides the code.
    """

    driver = "async"
    is_async = True
    has_terminate = True
    # DuckDB refuses to UPDATE a row a foreign key references (an UPDATE is a delete and an
    # insert to it), so a child table's key to its root is never created (ADR 0009).
    andamios_child_foreign_keys = False
    # SUM of an integer column is a HUGEINT, which DuckDB's Python API hands over as an int.
    andamios_whole_sums = True
    supports_statement_cache = True
    supports_server_side_cursors = True
    # duckdb binds Decimal parameters natively; without this SQLAlchemy's Numeric sends floats
    # and DECIMAL(38, 10) values lose every digit past the 17th.
    supports_native_decimal = True
    # psycopg2's minimum would be compared with DuckDB's version.
    minimum_dbapi_version = None  # type: ignore[assignment]
    execution_ctx_cls = AsyncDuckDBExecutionContext
    preparer = AsyncDuckDBIdentifierPreparer

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        version = self._dbapi_version_or_none
        exact = version is not None and version >= _SANE_ROWCOUNT_SINCE
        self.supports_sane_rowcount = exact
        self.supports_sane_multi_rowcount = exact
        self._databases: dict[tuple[object, ...], SharedDatabase] = {}

    # sqlalchemy.inspect() builds the dialect's inspector. duckdb-engine's (a PGInspector, hence
    # the ignore) queries pg_catalog tables DuckDB lacks; this one reads DuckDB's catalog.
    @property
    def inspector(self) -> type[Inspector]:  # type: ignore[override]
        """:class:`DuckDBInspector`, imported on first use: a unit of work reflects nothing."""
        from andamios.adapters.duckdb._reflection import DuckDBInspector  # noqa: PLC0415

        return DuckDBInspector

    # The base's attribute is the lru_cache wrapper this method replaces (hence the ignore).
    def _has_multi_table_query(self, schema: str | None) -> Any:  # type: ignore[override]
        """The query ``create_all``/``drop_all`` ask which tables exist with (PostgreSQL's).

        PostgreSQL's dialect memoizes it in a class-level ``lru_cache`` keyed by the dialect
        itself, which kept the last 128 dialects alive for the life of the process, each with
        the DuckDB result types its type memos hold: still alive at exit, DuckDB reported them
        as leaked ("nanobind: leaked N instances"). The query is cheap to build; it is not kept.
        """
        return PGDialect._has_multi_table_query.__wrapped__(self, schema)

    @classmethod
    def import_dbapi(cls) -> AsyncAdapt_duckdb_dbapi:  # type: ignore[override]
        """The adapted DBAPI module over ``duckdb``."""
        return AsyncAdapt_duckdb_dbapi(duckdb)

    def _get_default_schema_name(self, connection: Connection) -> str:
        """``main``, where every new DuckDB connection starts, without asking DuckDB.

        PostgreSQL's dialect asks (``select current_schema()``) when the first connection opens;
        on DuckDB that statement alone costs ~1 MiB of resident memory (measured, DuckDB 2.0).
        The answer cannot be another one: DuckDB refuses ``schema`` and ``search_path`` as
        options of a database ("Could not set option ... as a global option").
        """
        return _DEFAULT_SCHEMA

    def retrieve_dbapi_version(self, dbapi: Any) -> util.VersionInfo:
        """DuckDB's own version."""
        return util.parse_version_string(getattr(dbapi, "version", None))

    @classmethod
    def get_pool_class(cls, url: URL) -> type[pool.Pool]:
        """An async queue pool, also for ``:memory:`` (the connections share one database)."""
        return pool.AsyncAdaptedQueuePool

    @classmethod
    def engine_created(cls, engine: Engine) -> None:
        """Close the engine's databases once it is disposed and their last cursor is closed."""
        event.listen(engine, "engine_disposed", _unpin_databases)

    def connect(self, *cargs: Any, **cparams: Any) -> DBAPIConnection:
        """Open a pooled connection: a cursor of the engine's database, with its own thread."""
        database = self._shared_database(*cargs, **cparams)
        # One expression: coverage without greenlet support loses lines after an await_.
        return cast(
            "DBAPIConnection",
            AsyncAdapt_duckdb_connection(
                self.loaded_dbapi, await_(AsyncDuckDBConnection.open(database))
            ),
        )

    def _shared_database(self, *cargs: Any, **cparams: Any) -> SharedDatabase:
        params = dict(cparams)
        path = str(cargs[0] if cargs else params.pop("database", None) or ":memory:")
        read_only = bool(params.pop("read_only", False))
        config = _merged_config(
            params.pop("url_config", None) or {}, params.pop("config", None) or {}
        )
        preload = tuple(params.pop("preload_extensions", None) or ())
        if params:
            raise ArgumentError(
                f"duckdb+async does not support the connect argument(s) {sorted(params)}; "
                "supported: database, read_only, config, preload_extensions"
            )
        # LOAD needs external access: the database opens with it to load the extensions, and
        # every connection switches it off (for the whole database) before it is handed out.
        close_access = bool(preload) and _is_false(config.get("enable_external_access", True))
        if close_access:
            config["enable_external_access"] = True
        # DuckDB's own settings go to duckdb.connect; an extension's settings (known only once it
        # is loaded) are SET on every connection, as duckdb-engine does.
        extension_config = {
            name: config.pop(name) for name in list(config) if name not in DUCKDB_OPTIONS
        }
        key = (path, read_only, repr(sorted(config.items())), repr(extension_config), preload)
        database = self._databases.get(key)
        if database is None:
            database = self._databases[key] = SharedDatabase(
                path,
                read_only=read_only,
                config=config,
                preload_extensions=preload,
                configure=self._configurer(extension_config, close_access=close_access),
            )
        return database

    def _configurer(
        self, extension_config: dict[str, Any], *, close_access: bool
    ) -> Callable[[duckdb.DuckDBPyConnection], None] | None:
        """What every new connection runs first, if anything: external access switched off (after
        the extensions loaded), then the extensions' settings."""
        if not extension_config and not close_access:
            return None

        def configure(cursor: duckdb.DuckDBPyConnection) -> None:
            if close_access:
                cursor.execute("SET enable_external_access = false")
            apply_config(self, cursor, extension_config)

        return configure

    async def end_connections(self) -> None:
        """Close every connection of this dialect's databases, in use or pooled, interrupting
        what runs and joining each thread; from then on every connect is refused."""
        for database in list(self._databases.values()):
            await database.end()

    def get_driver_connection(self, connection: DBAPIConnection) -> AsyncDuckDBConnection:
        """The :class:`AsyncDuckDBConnection` under a pooled connection."""
        return cast("AsyncAdapt_duckdb_connection", connection)._driver

    def do_terminate(self, dbapi_connection: DBAPIConnection) -> None:
        """Close a connection the pool gives up on (invalidated, or garbage collected)."""
        cast("AsyncAdapt_duckdb_connection", dbapi_connection).terminate()

    def do_ping(self, dbapi_connection: DBAPIConnection) -> bool:
        """``SELECT 1`` on the connection (for ``pool_pre_ping``)."""
        driver = cast("AsyncAdapt_duckdb_connection", dbapi_connection)._driver
        return await_(driver.run(_ping))

    def get_isolation_level_values(self, dbapi_conn: DBAPIConnection) -> Sequence[IsolationLevel]:
        """``AUTOCOMMIT``, or DuckDB's transactions (``SNAPSHOT``)."""
        return [_AUTOCOMMIT, _SNAPSHOT]

    def get_default_isolation_level(  # type: ignore[override]
        self, dbapi_conn: DBAPIConnection
    ) -> IsolationLevel:
        """DuckDB's transactions give snapshot isolation."""
        return _SNAPSHOT

    def get_isolation_level(self, dbapi_connection: DBAPIConnection) -> IsolationLevel:
        """``AUTOCOMMIT`` or ``SNAPSHOT``."""
        connection = cast("AsyncAdapt_duckdb_connection", dbapi_connection)
        return _AUTOCOMMIT if connection.autocommit else _SNAPSHOT

    def set_isolation_level(self, dbapi_connection: DBAPIConnection, level: IsolationLevel) -> None:
        """Switch autocommit on for ``AUTOCOMMIT``, off for ``SNAPSHOT``."""
        cast("AsyncAdapt_duckdb_connection", dbapi_connection).autocommit = level == _AUTOCOMMIT

    def detect_autocommit_setting(self, dbapi_conn: DBAPIConnection) -> bool:
        """Whether the connection is in autocommit mode."""
        return cast("AsyncAdapt_duckdb_connection", dbapi_conn).autocommit


dialect = AsyncDuckDBDialect


@compiles(JsonText, "duckdb")
def _json_text(element: JsonText, compiler: SQLCompiler, **kw: Any) -> str:
    """A JSON value object's leaf as text: ``json_extract_string(column, '$.a.b')``."""
    column = compiler.process(element.column, **kw)
    path = compiler.render_literal_value(element.json_path, sa.String())
    return f"json_extract_string({column}, {path})"
