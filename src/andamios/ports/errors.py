"""The error tree of Andamios, in the spirit of PEP 249.

Adapters translate every driver error into this tree, so application code never catches a
``duckdb.*`` or ``sqlalchemy.*`` exception::

    AndamiosError
     └── PersistenceError
          ├── NotFound                  get() of an id that is not stored (also a LookupError)
          ├── IntegrityError            a constraint of the store was violated
          │    └── DuplicateError       the id (or a unique key) already exists
          ├── ConcurrencyError          a stale version, or another writer changed the same row
          ├── DataError                 a value does not fit its column (too long, out of range)
          ├── InvalidSpecification      a malformed spec/ordering, or an unknown field (ValueError)
          ├── UnitOfWorkError           a unit of work used out of order (RuntimeError)
          ├── MappingError              an aggregate or unit-of-work shape that cannot be mapped
          ├── UnsupportedOperation      what this adapter cannot do (raw SQL in memory)
          └── DatabaseError             the database itself failed
               ├── ConfigurationError   a bad URL or setting
               ├── DatabaseClosed       the database was closed (or not opened) for this work
               ├── DatabaseUnavailable  the file or directory cannot be opened
               │    ├── DatabaseLocked  another process holds the file's write lock
               │    └── CorruptDatabase the file is not a readable database
               └── OperationalError     any other failure reported by the driver

Every error keeps the driver's exception as ``__cause__`` for debugging.
"""

from __future__ import annotations

from andamios.domain._errors import AndamiosError, InvalidSpecification, PersistenceError

__all__ = [
    "AndamiosError",
    "ConcurrencyError",
    "ConfigurationError",
    "CorruptDatabase",
    "DataError",
    "DatabaseClosed",
    "DatabaseError",
    "DatabaseLocked",
    "DatabaseUnavailable",
    "DuplicateError",
    "IntegrityError",
    "InvalidSpecification",
    "MappingError",
    "NotFound",
    "OperationalError",
    "PersistenceError",
    "SchemaNotMigrated",
    "UnitOfWorkError",
    "UnsupportedOperation",
]


class NotFound(PersistenceError, LookupError):
    """No aggregate with the requested id exists (in this unit of work's view)."""

    def __init__(self, aggregate_type: type, id: object) -> None:
        self.aggregate_type = aggregate_type
        self.id = id
        super().__init__(f"{aggregate_type.__name__} with id {id!r} not found")


class IntegrityError(PersistenceError):
    """A constraint of the store (not null, foreign key, check, unique) was violated."""


class DuplicateError(IntegrityError):
    """An aggregate with the same id, or the same unique key, is already stored."""


class ConcurrencyError(PersistenceError):
    """Another unit of work changed or removed the same aggregate first.

    Retrying the whole unit of work (load again, change again, commit again) is the remedy.
    """


class UnitOfWorkError(PersistenceError, RuntimeError):
    """A unit of work was used out of order: entered twice, used after it ended, or committed
    after one of its statements failed."""


class MappingError(PersistenceError, TypeError):
    """An aggregate, table or unit-of-work declaration cannot be mapped as written."""


class UnsupportedOperation(PersistenceError, NotImplementedError):
    """What this adapter cannot do, whatever the arguments (raw SQL on the in-memory adapter);
    the message names the portable way."""


class DatabaseError(PersistenceError):
    """The database itself reported a failure."""


class ConfigurationError(DatabaseError, ValueError):
    """A database URL or setting is malformed or not supported."""


class DatabaseClosed(DatabaseError):
    """The database is closed: a unit of work began after :meth:`close`, or was still open when
    ``close()`` ended it (its transaction was rolled back: nothing of it was saved)."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot be opened (missing directory, permissions, wrong file)."""


class DatabaseLocked(DatabaseUnavailable):
    """Another process holds the database file's write lock.

    ``holder_pid`` is the process id DuckDB reports, when it reports one.
    """

    def __init__(self, message: str, *, holder_pid: int | None = None) -> None:
        self.holder_pid = holder_pid
        super().__init__(message)


class CorruptDatabase(DatabaseUnavailable):
    """The file exists but is not a database this driver can read."""


class SchemaNotMigrated(DatabaseError):
    """The database opened at start is not at the migrations' head revision (or lacks the
    mapping's tables): the message names the command to run (``andamios db upgrade``)."""


class OperationalError(DatabaseError):
    """Any other failure reported by the driver while running a statement."""


class DataError(PersistenceError, ValueError):
    """A value does not fit the column (or the declared constraint) that stores it.

    A string longer than its ``MaxLength``/``VARCHAR(n)``, a ``Decimal`` outside its ``Digits``/
    ``NUMERIC(p, s)``, a naive ``datetime`` where an ``Aware`` one is required. Raised before
    anything is written, naming the aggregate (``aggregate_type``, ``aggregate_id``) and the
    ``field``; the whole commit fails.
    """

    def __init__(
        self, message: str, *, aggregate_type: type, aggregate_id: object, field: str
    ) -> None:
        self.aggregate_type = aggregate_type
        self.aggregate_id = aggregate_id
        self.field = field
        super().__init__(message)
