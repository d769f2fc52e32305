"""Translation of DuckDB (and SQLAlchemy-wrapped DuckDB) errors into the Andamios error tree.

DuckDB 2.0 reports most failures through a handful of exception classes and tells the cases apart
only in the message, so the translation looks at both. The messages this module relies on were
observed on DuckDB 2.0 and each is provoked for real by a test. DuckDB quotes the paths and values
it names (``The file "/x/a.duckdb" exists, ...``); the wording is matched with every quoted part
removed, so a folder named ``corrupt`` or a duplicate key ``"conflict"`` changes nothing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError

from andamios.adapters.duckdb._connection import TransactionAborted
from andamios.adapters.duckdb._wal import is_sqlite
from andamios.adapters.sql_spi import pool_exhausted
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

# Everything DuckDB quotes: paths ('Cannot open file "/x/a.duckdb"'), keys ('duplicate key "1"').
_QUOTED = re.compile(r'"(?P<quoted>[^"]*)"')

# The database file is damaged, whatever the class (DuckDB 2.0 raises the base duckdb.Error for
# these): 'Corrupt database file: computed checksum 1 does not match stored checksum 2 in block
# at location 12288' (at open, or when a statement reads that block), 'Failure while replaying
# WAL file "/x/a.duckdb.wal": Corrupt WAL file: entry at byte position 57321 computed checksum
# ...' and '... : Corrupt file - database identifier does not match'.
_DAMAGED = ("corrupt database file", "failure while replaying wal")

# IOException: the file is not a DuckDB database this DuckDB can read. 'IO Error: The file
# "/x/a.duckdb" exists, but it is not a valid DuckDB database file!' (random bytes, an empty
# file), 'IO Error: Could not read enough bytes from file "/x/a.duckdb": attempted to read 3192
# bytes from location 5000' (a truncated file), and a file of another storage version.
_NOT_A_DATABASE = (
    "not a valid duckdb database file",
    "could not read enough bytes from file",
    "database file with version number",
)

# 'IO Error: Cannot open file "/x/missing/a.duckdb": No such file or directory', 'IO Error:
# Cannot open database "/x/a.duckdb" in read-only mode: database does not exist', and 'IO Error:
# Could not read from file "/x/dir.duckdb": Is a directory'.
_UNAVAILABLE = (
    "cannot open file",
    "cannot open database",
    "no such file or directory",
    "permission denied",
    "not a directory",
    "is a directory",
    "read-only file system",
)

# 'IO Error: Extension "/x/sqlite_scanner.duckdb_extension" not found.', 'Permission Error:
# Loading external extensions is disabled through configuration'.
_EXTENSION = "extension"

# 'Connection Error: Can't open a connection to same database file with a different
# configuration than existing connections'
_CONFIG_MISMATCH = "different configuration"


def _first_line(text: str) -> str:
    # DuckDB appends hints and a caret under the SQL ("\n\nLINE 1: ..."): keep the message.
    return text.strip().split("\n", 1)[0]


def _wording(text: str, path: Path | None) -> str:
    # DuckDB's own words, lower-cased: the database's path first (it may hold a quote), then
    # whatever else is quoted.
    if path is not None:
        for name in (f"{path}.wal", str(path)):
            text = text.replace(f'"{name}"', '""')
    return _QUOTED.sub('""', text).lower()


def _names_database(text: str, path: Path | None) -> bool:
    # Whether a statement's failure names the database file (or its WAL), not a file of its own.
    if path is None:
        return False
    files = {os.path.abspath(path), os.path.abspath(f"{path}.wal")}
    return any(os.path.abspath(quoted) in files for quoted in _QUOTED.findall(text))


def _corrupt(message: str, path: Path | None) -> CorruptDatabase:
    # A damaged block's message names no file: name it when it is known.
    if path is None or str(path) in message:
        return CorruptDatabase(message)
    return CorruptDatabase(f"database file {path} is damaged: {message}")


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
    error: duckdb.Error, *, in_statement: bool, path: Path | None
) -> PersistenceError:
    text = str(error)
    wording = _wording(text, path)
    message = _first_line(text)
    if isinstance(error, duckdb.ConstraintException):
        if _DUPLICATE in wording or _DUPLICATE_DATA in wording:
            return _duplicate(message)
        return IntegrityError(message)
    if isinstance(error, duckdb.TransactionException):
        if _DUPLICATE in wording:
            return _duplicate(message)
        if _CONFLICT in wording:
            return ConcurrencyError(message)
    elif isinstance(error, duckdb.IOException):
        if match := _LOCK.search(text):
            return _locked(message, match)
        # A statement can fail to read or open a file of its own too (ATTACH 'other.duckdb',
        # COPY ... TO 'missing/dir/x.csv'): that is the statement's failure, not the database's.
        about_database = not in_statement or _names_database(text, path)
        # A WAL that fails to replay is an IO error too when its bytes cannot be decoded.
        if about_database and any(marker in wording for marker in (*_NOT_A_DATABASE, *_DAMAGED)):
            return _corrupt(message, path)
        if not in_statement and any(marker in wording for marker in _UNAVAILABLE):
            return DatabaseUnavailable(message)
    elif isinstance(error, duckdb.ConnectionException) and _CONFIG_MISMATCH in wording:
        return ConfigurationError(message)
    elif any(marker in wording for marker in _DAMAGED):
        return _corrupt(message, path)
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


def translate_error(exc: BaseException, *, path: Path | None = None) -> PersistenceError:
    """Translate a driver error into the Andamios error tree.

    Accepts a ``duckdb`` exception, a ``sqlalchemy.exc.DBAPIError`` wrapping one (its ``.orig``),
    or ``sqlalchemy.orm.exc.StaleDataError``; an Andamios error is returned as it is. The result
    is returned, not raised, and has ``exc`` as its ``__cause__``; its message is the driver's
    first line, without the SQL and caret DuckDB appends. ``path`` is the database file, when
    known: a damaged-block message (which names no file) then names it, and a statement's
    failure to read that file is the database's, not the statement's.

    The class is decided by the exception's type and DuckDB's wording, with every part DuckDB
    quotes (paths, keys) removed first.

    ==============================================================  ===========================
    DuckDB reports                                                   translated to
    ==============================================================  ===========================
    TransactionAborted (a statement of the transaction failed)       ``UnitOfWorkError``
    ConstraintException "Duplicate key ..."                          ``DuplicateError``
    ConstraintException (NOT NULL, CHECK, FOREIGN KEY)               ``IntegrityError``
    TransactionException "Failed to commit: ... duplicate key"       ``DuplicateError``
    TransactionException "Conflict on update/tuple deletion"         ``ConcurrencyError``
    ``StaleDataError`` (a versioned row changed or vanished)         ``ConcurrencyError``
    SQLAlchemy's pool ``TimeoutError`` (no connection free within    ``OperationalError`` naming
    ``pool_timeout``)                                                ``pool_timeout``, pool_size
    IOException "Could not set lock on file ... (PID n)"             ``DatabaseLocked``
    Error "Corrupt database file: computed checksum ..." (a damaged  ``CorruptDatabase``
    block, at open or in a statement)
    Error "Failure while replaying WAL file ..." (a damaged WAL)     ``CorruptDatabase``
    IOException "... not a valid DuckDB database file" (random       ``CorruptDatabase``
    bytes, an empty file), "Could not read enough bytes from file"
    (a truncated file), another storage version; not in a
    statement, or in one when it names ``path``
    IOException "Cannot open file/database", "No such file or        ``DatabaseUnavailable``
    directory", "Not a directory", "Is a directory" (the path is a
    directory), "Permission denied" (not in a statement)
    ConnectionException "... different configuration ..."            ``ConfigurationError``
    anything else (Binder, Conversion, Catalog, Permission, ...)     ``OperationalError``
    ==============================================================  ===========================
    """
    if isinstance(exc, PersistenceError):
        return exc
    error: PersistenceError
    if isinstance(exc, StaleDataError):
        error = ConcurrencyError(_first_line(str(exc)))
    elif isinstance(exc, PoolTimeout):
        error = pool_exhausted(exc)
    else:
        original: BaseException | None = exc
        in_statement = False
        if isinstance(exc, DBAPIError):
            original = exc.orig
            in_statement = exc.statement is not None
        if isinstance(original, TransactionAborted):
            return _aborted(original)
        if isinstance(original, duckdb.Error):
            error = _translate_duckdb(original, in_statement=in_statement, path=path)
        else:
            error = OperationalError(_first_line(str(original)) or type(original).__name__)
    error.__cause__ = exc
    return error


def translate_open_error(exc: BaseException, *, path: Path | None = None) -> PersistenceError:
    """Translate an error raised while a database (the file ``path``, if any) was being opened.

    Opening runs no statement of the user's, so a failure that is not about the file (DuckDB
    rejecting a setting, an unknown option) is a :class:`ConfigurationError` — unless the file
    is a SQLite database, which DuckDB tries to open through its SQLite extension (and fails
    with an extension's error): that is a :class:`CorruptDatabase`. An empty file is one too
    (DuckDB refuses it rather than take it for a new database), and its error says so.
    """
    error = translate_error(exc, path=path)
    if path is not None and isinstance(error, CorruptDatabase) and _is_empty(path):
        empty = CorruptDatabase(
            f"{error} (the file is empty: DuckDB creates a new database only where no file "
            "exists; delete the empty file to start one)"
        )
        empty.__cause__ = exc
        return empty
    if type(error) is not OperationalError:
        return error
    # Where Andamios could not look at the file first (prepare_file reads it only when the
    # system tells who locks it), DuckDB's SQLite extension fails to load ('Extension ... not
    # found', 'Failed to download extension', 'Loading external extensions is disabled'). The
    # file is read only then: DuckDB was opening it through an extension, so no DuckDB of this
    # process holds a lock on it that closing the file here would release.
    cause = exc.orig if isinstance(exc, DBAPIError) else exc
    extension = _EXTENSION in _wording(str(cause), path)
    if path is not None and extension and is_sqlite(path):
        foreign = CorruptDatabase(
            f"database file {path} is a SQLite database, not a DuckDB one; Andamios opens "
            f"DuckDB files only (DuckDB said: {error})"
        )
        foreign.__cause__ = exc
        return foreign
    configuration = ConfigurationError(str(error))
    configuration.__cause__ = exc
    return configuration


def _is_empty(path: Path) -> bool:
    try:
        return os.path.getsize(path) == 0
    except OSError:
        return False
