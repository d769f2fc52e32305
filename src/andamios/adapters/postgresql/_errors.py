"""Translation of PostgreSQL errors (asyncpg's, alone or under SQLAlchemy) into the Andamios tree.

Each case is told by its SQLSTATE, the code PostgreSQL attaches to every error, never by the
message, which the server may word differently by version or ``lc_messages``. Where they live:

- SQLAlchemy raises a ``sqlalchemy.exc.DBAPIError`` whose ``.orig`` is its asyncpg adapter's
  emulated DBAPI error (with ``.sqlstate``, ``.pgcode`` and ``.detail`` copied over), and whose
  ``.driver_exception`` is asyncpg's own exception, which also has ``.constraint_name``,
  ``.table_name``, ``.column_name`` and ``.severity``.
- A connection that cannot be made is asyncpg's exception or a bare ``OSError``
  (``ConnectionRefusedError``, a connect timeout), which SQLAlchemy lets through unwrapped.
- asyncpg raises some errors itself, without asking the server: a parameter it cannot encode
  is its ``DataError`` (SQLSTATE 22000), and a dropped connection is
  ``ConnectionDoesNotExistError`` (08003). Those have no ``severity``: the server did not send
  them, so they do not abort the transaction (:func:`server_refused`).
"""

from __future__ import annotations

import re

from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError

from andamios.adapters.postgresql._settings import PostgreSQLSettings, describe_server
from andamios.adapters.sql_spi import pool_exhausted
from andamios.ports.errors import (
    ConcurrencyError,
    DatabaseUnavailable,
    DataError,
    DuplicateError,
    IntegrityError,
    OperationalError,
    PersistenceError,
    UnitOfWorkError,
)

__all__ = [
    "note_earlier_failure",
    "refused_commit",
    "server_refused",
    "translate_error",
    "translate_open_error",
]

_UNIQUE_VIOLATION = "23505"
_INTEGRITY = "23"  # the class of integrity_constraint_violation: not null, FK, check, ...
_CONFLICTS = frozenset(("40001", "40P01"))  # serialization_failure, deadlock_detected
_DATA = frozenset(
    (
        "22000",  # data_exception: asyncpg's own, for a parameter it cannot encode
        "22001",  # string_data_right_truncation: longer than VARCHAR(n)
        "22003",  # numeric_value_out_of_range
        "22007",  # invalid_datetime_format
        "22008",  # datetime_field_overflow
        "22P02",  # invalid_text_representation
    )
)
_IN_FAILED_TRANSACTION = "25P02"
_QUERY_CANCELED = "57014"
_LOCK_NOT_AVAILABLE = "55P03"
_CONNECTION = "08"  # the class of connection_exception: a connection lost or refused
_UNAVAILABLE = frozenset(
    (
        "28000",  # invalid_authorization_specification: an unknown role
        "28P01",  # invalid_password
        "3D000",  # invalid_catalog_name: no such database
        "53300",  # too_many_connections
        "57P01",  # admin_shutdown: the server is stopping, or the session was terminated
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now: the server is starting up or in recovery
    )
)

# asyncpg's detail of a unique violation: 'Key (sku)=(a) already exists.', 'Key (sku, size)=(a,
# 2) already exists.' The server leaves it out when the role may not read the key's columns.
_DUPLICATE_KEY = re.compile(r"Key \((?P<columns>.*?)\)=\((?P<values>.*)\) already exists\.", re.S)

# Set on a 25P02 error by the database's listener: the failure that aborted the transaction.
_EARLIER_FAILURE = "andamios_earlier_failure"


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0]


def _driver_exception(exc: BaseException) -> BaseException:
    """asyncpg's (or the OS's) exception under ``exc``, or ``exc`` itself."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return exc.driver_exception
    return exc


def _sqlstate(driver: BaseException) -> str | None:
    state = getattr(driver, "sqlstate", None)
    return state if isinstance(state, str) else None


def server_refused(exc: BaseException) -> bool:
    """Whether ``exc`` is an error the server sent (so it aborted the current transaction)."""
    # asyncpg fills "severity" from the server's message; the errors it makes itself lack it.
    return getattr(_driver_exception(exc), "severity", None) is not None


def note_earlier_failure(exc: BaseException, failure: BaseException) -> None:
    """Record on ``exc`` (a 25P02 error) the ``failure`` that aborted its transaction."""
    setattr(exc, _EARLIER_FAILURE, failure)


def _message(driver: BaseException) -> str:
    return _first_line(str(driver)) or type(driver).__name__


def _unavailable(message: str, server: URL | None) -> DatabaseUnavailable:
    where = (
        "the PostgreSQL server" if server is None else f"PostgreSQL at {describe_server(server)}"
    )
    return DatabaseUnavailable(f"cannot use {where}: {message}")


def _duplicate(driver: BaseException, message: str) -> DuplicateError:
    detail = getattr(driver, "detail", None)
    found = _DUPLICATE_KEY.fullmatch(detail) if isinstance(detail, str) else None
    key = None
    if found is not None:
        columns = found["columns"].split(", ")
        values = found["values"].split(", ") if len(columns) > 1 else [found["values"]]
        # "sku: a, size: 2", as the DuckDB adapter writes it; the values alone ("a, b, 2") when
        # a value of a key of several columns holds ", " and the pairs cannot be told apart.
        key = found["values"]
        if len(columns) == len(values):
            key = ", ".join(f"{c}: {v}" for c, v in zip(columns, values, strict=True))
    error = DuplicateError(message if detail is None else f"{message}; {detail}")
    # The key, for the unit of work that names the aggregate (None: the server named none).
    error.duplicate_key = key  # type: ignore[attr-defined]
    return error


def _data(driver: BaseException, message: str) -> DataError:
    # The server knows the column (sometimes), never the aggregate: a unit of work that knows
    # what it wrote may say more.
    column = getattr(driver, "column_name", None)
    return DataError(
        message,
        aggregate_type=object,
        aggregate_id=None,
        field=column if isinstance(column, str) else "",
    )


def _lock_waited(message: str, settings: PostgreSQLSettings | None) -> ConcurrencyError:
    waited = "lock_timeout" if settings is None else f"lock_timeout={settings.lock_timeout} s"
    return ConcurrencyError(
        f"another unit of work holds an uncommitted change to the same row: waited "
        f"{waited} for it ({message}; SQLSTATE 55P03)"
    )


def _canceled(message: str, settings: PostgreSQLSettings | None) -> OperationalError:
    if settings is not None and settings.statement_timeout is not None:
        why = (
            f"the statement ran longer than statement_timeout={settings.statement_timeout} s; "
            "raise the setting or make the statement cheaper"
        )
    else:
        why = "statement_timeout (the server's or the role's setting) or a cancel request"
    return OperationalError(f"{message} (SQLSTATE 57014: {why})")


def _pool_exhausted(exc: PoolTimeout, settings: PostgreSQLSettings | None) -> OperationalError:
    if settings is None:
        return pool_exhausted(exc)
    return pool_exhausted(
        exc,
        pool_size=settings.pool_size,
        pool_timeout=settings.pool_timeout,
        max_overflow=settings.max_overflow,
    )


def _aborted(exc: BaseException, settings: PostgreSQLSettings | None) -> UnitOfWorkError:
    earlier = getattr(exc, _EARLIER_FAILURE, None)
    if isinstance(earlier, BaseException):
        failure = translate_error(earlier, settings=settings)
        error = UnitOfWorkError(
            f"an earlier statement in this transaction failed ({type(failure).__name__}: "
            f"{failure}); roll back first"
        )
        error.__cause__ = failure
        return error
    error = UnitOfWorkError(
        "an earlier statement in this transaction failed, and PostgreSQL refuses every "
        "statement after it until the transaction is rolled back (SQLSTATE 25P02); roll back "
        "first"
    )
    error.__cause__ = exc
    return error


def refused_commit(failure: BaseException, settings: PostgreSQLSettings | None) -> UnitOfWorkError:
    """The error of a COMMIT after ``failure`` aborted the transaction.

    PostgreSQL answers such a COMMIT by rolling back without an error: this error is what the
    database raises instead, so that a lost transaction is never taken for a saved one.
    """
    translated = translate_error(failure, settings=settings)
    error = UnitOfWorkError(
        "cannot commit: an earlier statement in this transaction failed "
        f"({type(translated).__name__}: {translated}); nothing was saved"
    )
    error.__cause__ = translated
    return error


def _translate(  # noqa: PLR0911 - one return per row of the translation table
    exc: BaseException, settings: PostgreSQLSettings | None, server: URL | None
) -> PersistenceError:
    if isinstance(exc, StaleDataError):
        return ConcurrencyError(_first_line(str(exc)))
    if isinstance(exc, PoolTimeout):
        return _pool_exhausted(exc, settings)
    driver = _driver_exception(exc)
    state = _sqlstate(driver)
    message = _message(driver)
    if isinstance(driver, OSError) or state in _UNAVAILABLE:
        return _unavailable(message, server)
    if state is None:
        return OperationalError(message)
    if state.startswith(_CONNECTION):
        return _unavailable(message, server)
    if state == _UNIQUE_VIOLATION:
        return _duplicate(driver, message)
    if state in _CONFLICTS:
        return ConcurrencyError(message)
    if state == _LOCK_NOT_AVAILABLE:
        return _lock_waited(message, settings)
    if state in _DATA:
        return _data(driver, message)
    if state.startswith(_INTEGRITY):
        return IntegrityError(message)
    if state == _QUERY_CANCELED:
        return _canceled(message, settings)
    return OperationalError(message)


def translate_error(
    exc: BaseException, *, settings: PostgreSQLSettings | None = None
) -> PersistenceError:
    """Translate a PostgreSQL, asyncpg or SQLAlchemy error into the Andamios error tree.

    Accepts a ``sqlalchemy.exc.DBAPIError`` over asyncpg, asyncpg's own exceptions, an
    ``OSError`` from connecting, SQLAlchemy's pool ``TimeoutError`` and ``StaleDataError``; an
    Andamios error is returned as it is. The result is returned, not raised, and has ``exc`` as
    its ``__cause__`` (but see 25P02). ``settings``, when given, lets the message name the
    server and the setting concerned.

    =======================================================  ================================
    PostgreSQL reports (SQLSTATE)                             translated to
    =======================================================  ================================
    23505 unique_violation                                    ``DuplicateError`` (constraint
                                                              and key named; ``duplicate_key``
                                                              is ``"sku: a"``)
    23502 not null, 23503 foreign key, 23514 check, other 23  ``IntegrityError``
    22001 too long, 22003 out of range, 22P02, 22007, 22008   ``DataError`` (``field``: the
    (and 22000, asyncpg's unencodable parameter)              column, when the server names it)
    40001 serialization failure, 40P01 deadlock               ``ConcurrencyError``
    55P03 lock not available (``lock_timeout``)               ``ConcurrencyError``
    ``StaleDataError`` (a versioned row changed or vanished)  ``ConcurrencyError``
    25P02 in failed transaction                               ``UnitOfWorkError``, whose
                                                              ``__cause__`` is the earlier
                                                              failure when the database knows it
    ``OSError``, class 08, 28000, 28P01, 3D000, 53300,        ``DatabaseUnavailable`` (host,
    57P01-57P03                                               port and database named)
    SQLAlchemy's pool ``TimeoutError``                        ``OperationalError`` naming
                                                              ``pool_timeout`` and ``pool_size``
    57014 query_canceled                                      ``OperationalError`` naming
                                                              ``statement_timeout``
    anything else                                             ``OperationalError``
    =======================================================  ================================

    NOT NULL and CHECK violations are ``IntegrityError``, as in the DuckDB adapter and the port's
    error tree: ``DataError`` is for a value that cannot be stored as the column's type at all.
    """
    return _translated(exc, settings, None if settings is None else settings.sqlalchemy_url)


def _translated(
    exc: BaseException, settings: PostgreSQLSettings | None, server: URL | None
) -> PersistenceError:
    if isinstance(exc, PersistenceError):
        return exc
    driver = _driver_exception(exc)
    if _sqlstate(driver) == _IN_FAILED_TRANSACTION:
        return _aborted(exc, settings)
    error = _translate(exc, settings, server)
    error.__cause__ = exc
    return error


def translate_open_error(
    exc: BaseException, *, settings: PostgreSQLSettings, server: URL | None = None
) -> PersistenceError:
    """Translate an error raised while the first connection to a server was being opened.

    Whatever keeps it from opening (refused, unknown host, role or database, wrong password, no
    permission to connect, too many connections) is a :class:`DatabaseUnavailable` naming the
    server's host and port and the database (``server``: the replica's URL, by default the
    primary's), never the password.
    """
    server = settings.sqlalchemy_url if server is None else server
    error = _translated(exc, settings, server)
    if isinstance(error, DatabaseUnavailable):
        return error
    unavailable = _unavailable(str(error), server)
    unavailable.__cause__ = exc
    return unavailable
