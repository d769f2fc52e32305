"""Every SQLSTATE the translation tells apart, provoked for real on the server.

Each test makes PostgreSQL (or asyncpg, or SQLAlchemy's pool) fail the way it does in use, and
checks the Andamios error, its message, and that the driver's exception is kept as its cause.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator
from types import ModuleType

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.orm.exc import StaleDataError
from tests.integration.postgresql._server import run, url_of

from andamios.adapters.postgresql import Database, translate_error
from andamios.ports.errors import (
    ConcurrencyError,
    DatabaseUnavailable,
    DataError,
    DuplicateError,
    IntegrityError,
    NotFound,
    OperationalError,
    PersistenceError,
    UnitOfWorkError,
)

# asyncpg ships no type information (no py.typed): imported as a plain module, its names are Any.
asyncpg: ModuleType = importlib.import_module("asyncpg")

TABLES = """
CREATE TABLE parent (
    id integer PRIMARY KEY,
    code varchar(3) NOT NULL UNIQUE,
    qty integer CHECK (qty > 0),
    due date
);
CREATE TABLE variant (sku text, size integer, UNIQUE (sku, size));
CREATE TABLE child (id integer PRIMARY KEY, parent_id integer REFERENCES parent (id));
CREATE TABLE late (
    code text, CONSTRAINT late_code_key UNIQUE (code) DEFERRABLE INITIALLY DEFERRED
);
INSERT INTO parent VALUES (1, 'a', 1, NULL);
"""


@pytest.fixture
async def db(postgresql_url: str, pg_schema: str) -> AsyncIterator[Database]:
    """A started database in a fresh schema, with the tables above."""
    async with Database(postgresql_url, schema=pg_schema) as database:
        async with database.engine.begin() as conn:
            # One statement at a time: asyncpg prepares each statement it is given.
            await run(conn, *filter(str.strip, TABLES.split(";")))
        yield database


async def _failure(db: Database, *statements: str) -> DBAPIError:
    """The error of the last of ``statements``, run in one transaction (rolled back)."""
    async with db.engine.connect() as conn:
        *before, last = statements
        await run(conn, *before)
        with pytest.raises(DBAPIError) as failed:
            await run(conn, last)
        await conn.rollback()
    return failed.value


def _translated(db: Database, exc: BaseException) -> PersistenceError:
    error = db.translate_error(exc)
    assert error.__cause__ is exc
    return error


async def _count(db: Database, table: str) -> object:
    async with db.engine.connect() as conn:
        return await conn.scalar(sa.text(f"SELECT count(*) FROM {table}"))


# -- 23505 unique_violation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "message", "key"),
    [
        (
            "INSERT INTO parent VALUES (1, 'b', 1)",
            'duplicate key value violates unique constraint "parent_pkey"; '
            "Key (id)=(1) already exists.",
            "id: 1",
        ),
        (
            "INSERT INTO parent VALUES (2, 'a', 1)",
            'duplicate key value violates unique constraint "parent_code_key"; '
            "Key (code)=(a) already exists.",
            "code: a",
        ),
        (
            "INSERT INTO variant VALUES ('x', 2)",
            'duplicate key value violates unique constraint "variant_sku_size_key"; '
            "Key (sku, size)=(x, 2) already exists.",
            "sku: x, size: 2",
        ),
    ],
    ids=["primary-key", "unique", "two-columns"],
)
async def test_a_duplicate_names_its_constraint_and_key(
    db: Database, statement: str, message: str, key: str
) -> None:
    exc = await _failure(db, "INSERT INTO variant VALUES ('x', 2)", statement)
    assert exc.orig is not None
    assert getattr(exc.orig, "sqlstate", None) == "23505"
    error = _translated(db, exc)
    assert type(error) is DuplicateError
    assert str(error) == message
    assert error.duplicate_key == key  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("row", "key"),
    [
        # Values alone: "x, y" and "2", or "x" and "y, 2"? The pairs cannot be told apart.
        ("INSERT INTO variant VALUES ('x, y', 2)", "x, y, 2"),
        ("INSERT INTO late VALUES ('x, y')", "code: x, y"),
    ],
    ids=["several-columns", "one-column"],
)
async def test_a_key_whose_value_holds_a_comma(db: Database, row: str, key: str) -> None:
    exc = await _failure(db, "SET CONSTRAINTS ALL IMMEDIATE", row, row)
    error = _translated(db, exc)
    assert isinstance(error, DuplicateError)
    assert error.duplicate_key == key  # type: ignore[attr-defined]


async def test_a_duplicate_the_role_may_not_see_names_no_key(
    db: Database, pg_role: str, pg_schema: str
) -> None:
    async with db.engine.connect() as conn:
        await run(
            conn,
            f"GRANT USAGE ON SCHEMA {pg_schema} TO {pg_role}",
            f"GRANT INSERT ON parent TO {pg_role}",
            f"SET ROLE {pg_role}",
        )
        with pytest.raises(DBAPIError) as failed:
            await run(conn, "INSERT INTO parent VALUES (1, 'b', 1)")
        await conn.rollback()
    error = _translated(db, failed.value)
    # Without SELECT on the key's columns, PostgreSQL leaves the detail out.
    assert str(error) == 'duplicate key value violates unique constraint "parent_pkey"'
    assert error.duplicate_key is None  # type: ignore[attr-defined]


async def test_a_duplicate_found_at_commit(db: Database) -> None:
    async with db.engine.connect() as conn:
        await run(conn, "INSERT INTO late VALUES ('x')", "INSERT INTO late VALUES ('x')")
        with pytest.raises(DBAPIError) as failed:
            await conn.commit()
    assert failed.value.statement is None
    error = _translated(db, failed.value)
    assert isinstance(error, DuplicateError)
    assert error.duplicate_key == "code: x"  # type: ignore[attr-defined]
    assert await _count(db, "late") == 0


# -- other constraints: 23502, 23514, 23503 -------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "sqlstate", "message"),
    [
        (
            "INSERT INTO parent VALUES (2, NULL, 1)",
            "23502",
            'null value in column "code" of relation "parent" violates not-null constraint',
        ),
        (
            "INSERT INTO parent VALUES (2, 'b', 0)",
            "23514",
            'new row for relation "parent" violates check constraint "parent_qty_check"',
        ),
        (
            "INSERT INTO child VALUES (1, 99)",
            "23503",
            'insert or update on table "child" violates foreign key constraint '
            '"child_parent_id_fkey"',
        ),
        (
            "DELETE FROM parent",
            "23503",
            'update or delete on table "parent" violates foreign key constraint '
            '"child_parent_id_fkey" on table "child"',
        ),
    ],
    ids=["not-null", "check", "foreign-key", "referenced"],
)
async def test_other_constraint_violations_are_integrity_errors(
    db: Database, statement: str, sqlstate: str, message: str
) -> None:
    exc = await _failure(db, "INSERT INTO child VALUES (5, 1)", statement)
    assert getattr(exc.orig, "sqlstate", None) == sqlstate
    error = _translated(db, exc)
    # As DuckDB's, and as the port's tree says: not DataError, which is for values.
    assert type(error) is IntegrityError
    assert str(error) == message


# -- 22xxx data exceptions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "sqlstate", "message"),
    [
        (
            "INSERT INTO parent VALUES (2, 'abcd', 1)",
            "22001",
            "value too long for type character varying(3)",
        ),
        ("INSERT INTO parent VALUES (2, 'b', 2147483648)", "22003", "integer out of range"),
        (
            "INSERT INTO parent VALUES (2, 'b', 'many')",
            "22P02",
            'invalid input syntax for type integer: "many"',
        ),
        (
            "INSERT INTO parent VALUES (2, 'b', 1, 'soon')",
            "22007",
            'invalid input syntax for type date: "soon"',
        ),
        (
            "INSERT INTO parent VALUES (2, 'b', 1, '2024-13-45')",
            "22008",
            'date/time field value out of range: "2024-13-45"',
        ),
    ],
    ids=["too-long", "out-of-range", "invalid-text", "invalid-datetime", "datetime-overflow"],
)
async def test_a_value_that_does_not_fit_is_a_data_error(
    db: Database, statement: str, sqlstate: str, message: str
) -> None:
    exc = await _failure(db, statement)
    assert getattr(exc.orig, "sqlstate", None) == sqlstate
    error = _translated(db, exc)
    assert isinstance(error, DataError)
    assert str(error) == message
    # The server names no aggregate; a unit of work that knows what it wrote may say more.
    assert (error.aggregate_type, error.aggregate_id, error.field) == (object, None, "")


async def test_a_parameter_asyncpg_cannot_encode_is_a_data_error_that_aborts_nothing(
    db: Database,
) -> None:
    async with db.engine.connect() as conn:
        await run(conn, "INSERT INTO parent VALUES (2, 'b', 1)")
        with pytest.raises(DBAPIError) as failed:
            await conn.execute(
                sa.text("INSERT INTO parent (id, code) VALUES (:id, 'c')"), {"id": "x"}
            )
        # asyncpg refused it before sending anything: the transaction goes on, and commits.
        await run(conn, "INSERT INTO parent VALUES (4, 'd', 1)")
        await conn.commit()
    assert getattr(failed.value.orig, "sqlstate", None) == "22000"
    error = _translated(db, failed.value)
    assert isinstance(error, DataError)
    assert str(error).startswith("invalid input for query argument $1: 'x'")
    assert await _count(db, "parent") == 3


# -- 40001, 40P01: concurrent transactions --------------------------------------------------------


async def test_a_serialization_failure_is_a_concurrency_error(db: Database) -> None:
    async with db.engine.connect() as first, db.engine.connect() as second:
        # REPEATABLE READ: both snapshots are taken before either writes.
        assert await first.scalar(sa.text("SELECT qty FROM parent WHERE id = 1")) == 1
        assert await second.scalar(sa.text("SELECT qty FROM parent WHERE id = 1")) == 1
        await run(first, "UPDATE parent SET qty = qty + 1 WHERE id = 1")
        await first.commit()
        with pytest.raises(DBAPIError) as failed:
            await run(second, "UPDATE parent SET qty = qty + 10 WHERE id = 1")
        await second.rollback()
    assert getattr(failed.value.orig, "sqlstate", None) == "40001"
    error = _translated(db, failed.value)
    assert type(error) is ConcurrencyError
    assert str(error) == "could not serialize access due to concurrent update"


async def test_a_deadlock_is_a_concurrency_error(db: Database) -> None:
    async with db.engine.connect() as first, db.engine.connect() as second:
        await run(first, "INSERT INTO child VALUES (1, 1), (2, 1)")
        await first.commit()
        for conn, row in ((first, 1), (second, 2)):
            await run(conn, "SET LOCAL deadlock_timeout = '50ms'")
            await run(conn, f"UPDATE child SET parent_id = 1 WHERE id = {row}")
        results = await asyncio.gather(
            run(first, "UPDATE child SET parent_id = 1 WHERE id = 2"),
            run(second, "UPDATE child SET parent_id = 1 WHERE id = 1"),
            return_exceptions=True,
        )
        await first.rollback()
        await second.rollback()
    [failure] = [each for each in results if isinstance(each, BaseException)]
    assert isinstance(failure, DBAPIError)
    assert getattr(failure.orig, "sqlstate", None) == "40P01"
    error = _translated(db, failure)
    assert type(error) is ConcurrencyError
    assert str(error) == "deadlock detected"


async def test_a_write_waiting_past_lock_timeout_is_a_concurrency_error(db: Database) -> None:
    async with db.engine.connect() as first, db.engine.connect() as second:
        await run(first, "UPDATE parent SET qty = qty + 1 WHERE id = 1")
        await run(second, "SET LOCAL lock_timeout = '50ms'")
        with pytest.raises(DBAPIError) as failed:
            # The row is first's until it commits: DuckDB would refuse at once, here it waits.
            await run(second, "UPDATE parent SET qty = qty + 10 WHERE id = 1")
        await second.rollback()
        await first.rollback()
    assert getattr(failed.value.orig, "sqlstate", None) == "55P03"
    error = _translated(db, failed.value)
    assert type(error) is ConcurrencyError
    assert str(error).startswith(
        "another unit of work holds an uncommitted change to the same row: waited "
        f"lock_timeout={db.settings.lock_timeout} s for it (canceling statement due to lock"
    )
    assert (
        translate_error(failed.value)
        .args[0]
        .startswith(
            "another unit of work holds an uncommitted change to the same row: waited lock_timeout "
        )
    )


class _Base(DeclarativeBase):
    pass


class _Versioned(_Base):
    __tablename__ = "versioned"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str]
    version: Mapped[int] = mapped_column()
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's own attribute


async def test_a_stale_version_is_a_concurrency_error(db: Database) -> None:
    await db.create_all(_Base.metadata)
    async with AsyncSession(db.engine, expire_on_commit=False) as session:
        session.add(_Versioned(id=1, name="a"))
        await session.commit()
        loaded = await session.get(_Versioned, 1)
        assert loaded is not None
        await session.commit()
        async with db.engine.begin() as other:
            await run(other, "UPDATE versioned SET version = version + 1")
        loaded.name = "b"
        with pytest.raises(StaleDataError) as failed:
            await session.commit()
    error = _translated(db, failed.value)
    assert type(error) is ConcurrencyError
    assert str(error) == (
        "UPDATE statement on table 'versioned' expected to update 1 row(s); 0 were matched."
    )


# -- 25P02: a transaction a failed statement aborted ----------------------------------------------


async def test_a_statement_after_a_failure_names_the_failure(db: Database) -> None:
    async with db.engine.connect() as conn:
        with pytest.raises(sa.exc.IntegrityError) as first:
            await run(conn, "INSERT INTO parent VALUES (1, 'b', 1)")
        with pytest.raises(DBAPIError) as refused:
            await run(conn, "SELECT 1")
        with pytest.raises(DBAPIError) as again:
            await run(conn, "SELECT 2")
        await conn.rollback()
        assert await conn.scalar(sa.text("SELECT 3")) == 3
    assert getattr(refused.value.orig, "sqlstate", None) == "25P02"
    error = db.translate_error(refused.value)
    assert type(error) is UnitOfWorkError
    assert str(error) == (
        "an earlier statement in this transaction failed (DuplicateError: duplicate key value "
        'violates unique constraint "parent_pkey"; Key (id)=(1) already exists.); roll back first'
    )
    # The cause is the failure itself, translated, whose own cause is the driver's error.
    assert isinstance(error.__cause__, DuplicateError)
    assert error.__cause__.__cause__ is first.value
    assert str(db.translate_error(again.value)) == str(error)


async def test_a_statement_after_a_failure_without_the_database_knowing_it(
    engine: AsyncEngine,
) -> None:
    # A plain engine has no listener remembering the failure: the error still says what to do.
    async with engine.connect() as conn:
        with pytest.raises(DBAPIError):
            await run(conn, "SELECT 1/0")
        with pytest.raises(DBAPIError) as refused:
            await run(conn, "SELECT 1")
        await conn.rollback()
    error = translate_error(refused.value)
    assert type(error) is UnitOfWorkError
    assert str(error) == (
        "an earlier statement in this transaction failed, and PostgreSQL refuses every "
        "statement after it until the transaction is rolled back (SQLSTATE 25P02); roll back "
        "first"
    )
    assert error.__cause__ is refused.value


async def test_a_commit_after_a_failure_is_refused_and_nothing_is_saved(db: Database) -> None:
    async with db.engine.connect() as conn:
        await run(conn, "INSERT INTO parent VALUES (2, 'b', 1)")
        with pytest.raises(DBAPIError) as failed:
            await run(conn, "INSERT INTO parent VALUES (3, 'b', 1)")
        # PostgreSQL would answer this COMMIT by rolling back, without an error.
        with pytest.raises(UnitOfWorkError) as refused:
            await conn.commit()
        await conn.rollback()
        # The connection is usable at once: the failed transaction ended on the server.
        await run(conn, "INSERT INTO parent VALUES (5, 'e', 1)")
        await conn.commit()
    assert str(refused.value) == (
        "cannot commit: an earlier statement in this transaction failed (DuplicateError: "
        'duplicate key value violates unique constraint "parent_code_key"; Key (code)=(b) '
        "already exists.); nothing was saved"
    )
    assert isinstance(refused.value.__cause__, DuplicateError)
    assert refused.value.__cause__.__cause__ is failed.value
    assert db.translate_error(refused.value) is refused.value
    async with db.engine.connect() as conn:
        ids = (await conn.execute(sa.text("SELECT id FROM parent ORDER BY id"))).scalars().all()
    assert ids == [1, 5]


async def test_a_session_commit_after_a_failure_is_refused(db: Database) -> None:
    async with AsyncSession(db.engine) as session:
        await session.execute(sa.text("INSERT INTO parent VALUES (2, 'b', 1)"))
        with pytest.raises(DBAPIError):
            await session.execute(sa.text("INSERT INTO parent VALUES (2, 'c', 1)"))
        with pytest.raises(UnitOfWorkError, match="nothing was saved"):
            await session.commit()
        await session.rollback()
    assert await _count(db, "parent") == 1


async def _write_and_fail(db: Database) -> None:
    async with db.engine.begin() as conn:
        await run(conn, "INSERT INTO parent VALUES (2, 'b', 1)")
        with pytest.raises(DBAPIError):
            await run(conn, "SELECT 1/0")


async def test_a_transaction_block_after_a_failure_is_refused(db: Database) -> None:
    with pytest.raises(UnitOfWorkError, match="cannot commit"):
        await _write_and_fail(db)
    assert await _count(db, "parent") == 1


async def test_a_savepoint_rolled_back_to_forgets_its_failure(db: Database) -> None:
    async with db.engine.connect() as conn:
        await run(conn, "INSERT INTO parent VALUES (2, 'b', 1)")
        savepoint = await conn.begin_nested()
        with pytest.raises(DBAPIError):
            await run(conn, "INSERT INTO parent VALUES (2, 'b', 1)")
        await savepoint.rollback()
        await run(conn, "INSERT INTO parent VALUES (3, 'c', 1)")
        await conn.commit()
    assert await _count(db, "parent") == 3


async def test_a_failed_savepoint_left_open_refuses_the_commit(db: Database) -> None:
    async with db.engine.connect() as conn:
        await run(conn, "INSERT INTO parent VALUES (2, 'b', 1)")
        await conn.begin_nested()
        with pytest.raises(DBAPIError):
            await run(conn, "SELECT 1/0")
        with pytest.raises(UnitOfWorkError, match=r"\(OperationalError: division by zero\)"):
            await conn.commit()
        await conn.rollback()
    assert await _count(db, "parent") == 1


async def test_a_failure_in_autocommit_mode_refuses_nothing(db: Database) -> None:
    async with db.engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await run(conn, "INSERT INTO parent VALUES (2, 'b', 1)")
        with pytest.raises(DBAPIError):
            await run(conn, "SELECT 1/0")
        await run(conn, "INSERT INTO parent VALUES (3, 'c', 1)")
        await conn.commit()
    assert await _count(db, "parent") == 3


async def test_failures_of_ended_transactions_are_forgotten(db: Database) -> None:
    async with db.engine.connect() as conn:
        for _ in range(3):
            with pytest.raises(DBAPIError):
                await run(conn, "SELECT 1/0")
            await conn.rollback()
        await run(conn, "INSERT INTO parent VALUES (2, 'b', 1)")
        await conn.commit()
    assert await _count(db, "parent") == 2


# -- 57014: statement timeout ---------------------------------------------------------------------


async def test_a_statement_timeout_names_the_setting(postgresql_url: str) -> None:
    db = Database(postgresql_url, statement_timeout=0.1)
    async with db, db.engine.connect() as conn:
        with pytest.raises(DBAPIError) as failed:
            await run(conn, "SELECT pg_sleep(2)")
    assert getattr(failed.value.orig, "sqlstate", None) == "57014"
    error = _translated(db, failed.value)
    assert type(error) is OperationalError
    assert str(error) == (
        "canceling statement due to statement timeout (SQLSTATE 57014: the statement ran longer "
        "than statement_timeout=0.1 s; raise the setting or make the statement cheaper)"
    )


async def test_a_statement_timeout_set_elsewhere(db: Database) -> None:
    exc = await _failure(db, "SET LOCAL statement_timeout = '50ms'", "SELECT pg_sleep(2)")
    error = _translated(db, exc)
    assert type(error) is OperationalError
    assert str(error) == (
        "canceling statement due to statement timeout (SQLSTATE 57014: statement_timeout (the "
        "server's or the role's setting) or a cancel request)"
    )


# -- the server going away ------------------------------------------------------------------------


async def test_a_session_the_server_ended_is_unavailable(
    db: Database, admin: AsyncConnection
) -> None:
    async with db.engine.connect() as conn:
        pid = await conn.scalar(sa.text("SELECT pg_backend_pid()"))
        statement = asyncio.create_task(run(conn, "SELECT pg_sleep(5)"))
        await asyncio.sleep(0.3)
        await run(admin, f"SELECT pg_terminate_backend({pid})")
        with pytest.raises(DBAPIError) as failed:
            await statement
    assert failed.value.connection_invalidated
    assert getattr(failed.value.orig, "sqlstate", None) == "08003"
    error = _translated(db, failed.value)
    assert type(error) is DatabaseUnavailable
    assert str(error) == (
        "cannot use PostgreSQL at 127.0.0.1:5432, database 'test': connection was closed in the "
        "middle of operation: terminating connection due to administrator command"
    )


async def test_too_many_connections_is_unavailable(
    postgresql_url: str, pg_role: str, admin: AsyncConnection
) -> None:
    await run(admin, f"ALTER ROLE {pg_role} CONNECTION LIMIT 0")
    db = Database(url_of(postgresql_url, username=pg_role))
    with pytest.raises(DatabaseUnavailable) as refused:
        await db.start()
    assert isinstance(refused.value.__cause__, DBAPIError)
    assert getattr(refused.value.__cause__.orig, "sqlstate", None) == "53300"
    assert str(refused.value) == (
        "cannot use PostgreSQL at 127.0.0.1:5432, database 'test': "
        f'too many connections for role "{pg_role}"'
    )


# -- anything else --------------------------------------------------------------------------------


async def test_other_server_errors_are_operational_errors(db: Database) -> None:
    exc = await _failure(db, "SELECT * FROM no_such_table")
    assert getattr(exc.orig, "sqlstate", None) == "42P01"
    error = _translated(db, exc)
    assert type(error) is OperationalError
    assert str(error) == 'relation "no_such_table" does not exist'


async def test_other_sqlalchemy_errors_are_operational_errors(db: Database) -> None:
    async with db.engine.connect() as conn:
        result = await conn.execute(sa.text("UPDATE parent SET qty = 2"))
        with pytest.raises(sa.exc.ResourceClosedError) as failed:
            result.fetchall()
        await conn.rollback()
    error = _translated(db, failed.value)
    assert type(error) is OperationalError
    assert (
        str(error) == "This result object does not return rows. It has been closed automatically."
    )


def test_an_andamios_error_is_returned_as_it_is() -> None:
    error = NotFound(int, 1)
    assert translate_error(error) is error


async def test_the_pool_wait_without_settings(engine: AsyncEngine) -> None:
    small = create_async_engine(engine.url, pool_size=1, max_overflow=0, pool_timeout=0.1)
    try:
        async with small.connect():
            with pytest.raises(sa.exc.TimeoutError) as waited:
                async with small.connect():
                    pass
    finally:
        await small.dispose()
    error = translate_error(waited.value)
    assert type(error) is OperationalError
    assert str(error).startswith(
        "no database connection became free within pool_timeout, with every connection of "
        "pool_size in use; raise pool_size or pool_timeout"
    )


# -- asyncpg's own exceptions, without SQLAlchemy -------------------------------------------------


def _dsn(url: str) -> str:
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)


async def test_asyncpg_errors_are_translated_as_well(postgresql_url: str) -> None:
    conn = await asyncpg.connect(_dsn(postgresql_url))
    try:
        await conn.execute("CREATE TEMPORARY TABLE t (sku text PRIMARY KEY)")
        await conn.execute("INSERT INTO t VALUES ('a')")
        with pytest.raises(asyncpg.UniqueViolationError) as duplicate:
            await conn.execute("INSERT INTO t VALUES ('a')")
        await conn.execute("BEGIN")
        with pytest.raises(asyncpg.DivisionByZeroError):
            await conn.execute("SELECT 1/0")
        with pytest.raises(asyncpg.InFailedSQLTransactionError) as refused:
            await conn.execute("SELECT 1")
        await conn.execute("ROLLBACK")
    finally:
        await conn.close()
    error = translate_error(duplicate.value)
    assert type(error) is DuplicateError
    assert error.duplicate_key == "sku: a"  # type: ignore[attr-defined]
    assert error.__cause__ is duplicate.value
    aborted = translate_error(refused.value)
    assert type(aborted) is UnitOfWorkError
    assert aborted.__cause__ is refused.value


async def test_asyncpg_connect_errors_are_unavailable(postgresql_url: str) -> None:
    for url in (
        url_of(postgresql_url, database="no_such_database"),
        url_of(postgresql_url, port=1),
    ):
        with pytest.raises((asyncpg.PostgresError, OSError)) as refused:
            await asyncpg.connect(_dsn(url))
        error = translate_error(refused.value)
        assert type(error) is DatabaseUnavailable
        assert str(error).startswith("cannot use the PostgreSQL server: ")
        assert error.__cause__ is refused.value
