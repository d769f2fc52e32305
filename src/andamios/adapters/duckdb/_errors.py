"""Translation of DuckDB (and SQLAlchemy-wrapped DuckDB) errors into the Andamios error tree.

DuckDB 2.0 reports most failures through a handful of exception classes and tells the cases apart
only in the message, so the translation looks at both. The messages this module relies on were
observed on DuckDB 2.0 and each is provoked for real by a test.
"""

from __future__ import annotations

import re

import duckdb
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

from andamios.adapters.duckdb._connection import TransactionAborted
from andamios.ports.errors import (
    ConcurrencyError,
    ConfigurationError,
    CorruptDatabase,
    DatabaseLocked,
    DatabaseUnavailable,
    DuplicateError,
    IntegrityError,
    OperationalError,
    PersistenceError,
    UnitOfWorkError,
)

__all__ = ["translate_error", "translate_open_error"]

# 'IO Error: Could not set lock on file "/x/a.duckdb": Conflicting lock is held in
# /usr/bin/python3.13 (PID 7739). See also https://duckdb.org/docs/current/connect/concurrency'
_LOCK = re.compile(r'Could not set lock on file "(?P<path>[^"]*)"')
_LOCK_HOLDER = re.compile(r"held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")

# Constraint errors name a duplicate in three ways ('Duplicate key "id: 1" violates primary key
# constraint.', '... unique constraint.', 'PRIMARY KEY or UNIQUE constraint violation: duplicate
# key "1"'), and so does a COMMIT that loses a race for the same key ('Failed to commit: PRIMARY
# KEY or UNIQUE constraint violation: duplicate key "10"').
_DUPLICATE = "duplicate key"
# The key itself: "id: 1" or "sku: a, size: 2" (column: value pairs) when a statement fails, the
# values alone ("1", "a, 2") when a COMMIT does.
_DUPLICATE_KEY = re.compile(r'duplicate key "(?P<key>.*)"(?: violates [^"]*)?$', re.IGNORECASE)
# A unique index created over rows that already repeat a value.
_DUPLICATE_DATA = "contains duplicates on indexed column"

# 'TransactionContext Error: Conflict on update!', '... Conflict on tuple deletion!', and the
# catalog's write-write conflicts ('Catalog write-write conflict on ...').
_CONFLICT = "conflict"

# 'IO Error: The file "/x/bad.duckdb" exists, but it is not a valid DuckDB database file!'
_CORRUPT = (
    "not a valid duckdb database file",
    "corrupt",
    "checksum",
    "database file with version number",
    "failure while replaying wal",
)

# 'IO Error: Cannot open file "/x/missing/a.duckdb": No such file or directory', and
# 'IO Error: Cannot open database "/x/a.duckdb" in read-only mode: database does not exist'.
_UNAVAILABLE = (
    "cannot open file",
    "cannot open database",
    "no such file or directory",
    "permission denied",
    "not a directory",
    "read-only file system",
)

# 'Connection Error: Can't open a connection to same database file with a different
# configuration than existing connections'
_CONFIG_MISMATCH = "different configuration"


def _first_line(text: str) -> str:
    # DuckDB appends hints and a caret under the SQL ("\n\nLINE 1: ..."): keep the message.
    return text.strip().split("\n", 1)[0]


def _locked(message: str, match: re.Match[str]) -> DatabaseLocked:
    holder = _LOCK_HOLDER.search(message)
    pid = int(holder["pid"]) if holder else None
    held_by = f" (PID {pid}, {holder['program']})" if holder else ""
    return DatabaseLocked(
        f"database file {match['path']} is locked by another process{held_by}; "
        "DuckDB lets one process at a time open a file for writing",
        holder_pid=pid,
    )


def _duplicate(message: str) -> DuplicateError:
    error = DuplicateError(message)
    found = _DUPLICATE_KEY.search(message)
    # The parsed key, for adapters that name the aggregate (None: the message names none).
    error.duplicate_key = found["key"] if found else None  # type: ignore[attr-defined]
    return error


def _translate_duckdb(  # noqa: PLR0911 - one return per row of the translation table
    error: duckdb.Error, *, in_statement: bool
) -> PersistenceError:
    text = str(error)
    lowered = text.lower()
    message = _first_line(text)
    if isinstance(error, duckdb.ConstraintException):
        if _DUPLICATE in lowered or _DUPLICATE_DATA in lowered:
            return _duplicate(message)
        return IntegrityError(message)
    if isinstance(error, duckdb.TransactionException):
        if _DUPLICATE in lowered:
            return _duplicate(message)
        if _CONFLICT in lowered:
            return ConcurrencyError(message)
    elif isinstance(error, duckdb.IOException):
        if match := _LOCK.search(text):
            return _locked(message, match)
        if any(marker in lowered for marker in _CORRUPT):
            return CorruptDatabase(message)
        # A statement can fail to open a file too (COPY ... TO 'missing/dir/x.csv'): that is
        # the statement's failure, not the database's.
        if not in_statement and any(marker in lowered for marker in _UNAVAILABLE):
            return DatabaseUnavailable(message)
    elif isinstance(error, duckdb.ConnectionException) and _CONFIG_MISMATCH in lowered:
        return ConfigurationError(message)
    return OperationalError(message)


def _aborted(aborted: TransactionAborted) -> UnitOfWorkError:
    failure = translate_error(aborted.failure)
    what = f"{type(failure).__name__}: {failure}"
    if aborted.committing:
        msg = f"cannot commit: an earlier statement in this transaction failed ({what}); "
        msg += "nothing was saved"
    else:
        msg = f"an earlier statement in this transaction failed ({what}); roll back first"
    error = UnitOfWorkError(msg)
    error.__cause__ = failure
    return error


def translate_error(exc: BaseException) -> PersistenceError:
    """Translate a driver error into the Andamios error tree.

    Accepts a ``duckdb`` exception, a ``sqlalchemy.exc.DBAPIError`` wrapping one (its ``.orig``),
    or ``sqlalchemy.orm.exc.StaleDataError``; an Andamios error is returned as it is. The result
    is returned, not raised, and has ``exc`` as its ``__cause__``; its message is the driver's
    first line, without the SQL and caret DuckDB appends.

    ============================================================  ===========================
    DuckDB reports                                                 translated to
    ============================================================  ===========================
    TransactionAborted (a statement of the transaction failed)     ``UnitOfWorkError``
    ConstraintException "Duplicate key ..."                        ``DuplicateError``
    ConstraintException (NOT NULL, CHECK, FOREIGN KEY)             ``IntegrityError``
    TransactionException "Failed to commit: ... duplicate key"     ``DuplicateError``
    TransactionException "Conflict on update/tuple deletion"       ``ConcurrencyError``
    ``StaleDataError`` (a versioned row changed or vanished)       ``ConcurrencyError``
    IOException "Could not set lock on file ... (PID n)"           ``DatabaseLocked``
    IOException "... not a valid DuckDB database file"             ``CorruptDatabase``
    IOException "Cannot open file/database" (not in a statement)   ``DatabaseUnavailable``
    ConnectionException "... different configuration ..."          ``ConfigurationError``
    anything else (Binder, Conversion, Catalog, Permission, ...)   ``OperationalError``
    ============================================================  ===========================
    """
    if isinstance(exc, PersistenceError):
        return exc
    error: PersistenceError
    if isinstance(exc, StaleDataError):
        error = ConcurrencyError(_first_line(str(exc)))
    else:
        original: BaseException | None = exc
        in_statement = False
        if isinstance(exc, DBAPIError):
            original = exc.orig
            in_statement = exc.statement is not None
        if isinstance(original, TransactionAborted):
            return _aborted(original)
        if isinstance(original, duckdb.Error):
            error = _translate_duckdb(original, in_statement=in_statement)
        else:
            error = OperationalError(_first_line(str(original)) or type(original).__name__)
    error.__cause__ = exc
    return error


def translate_open_error(exc: BaseException) -> PersistenceError:
    """Translate an error raised while a database was being opened.

    Opening runs no statement of the user's, so a failure that is not about the file (DuckDB
    rejecting a setting, an unknown option) is a :class:`ConfigurationError`.
    """
    error = translate_error(exc)
    if type(error) is OperationalError:
        configuration = ConfigurationError(str(error))
        configuration.__cause__ = exc
        return configuration
    return error
