"""Every DuckDB failure the adapter translates, provoked for real on DuckDB 2.0."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.orm.exc import StaleDataError

from andamios.adapters.duckdb import translate_error
from andamios.adapters.duckdb._errors import translate_open_error
from andamios.ports.errors import (
    ConcurrencyError,
    ConfigurationError,
    CorruptDatabase,
    DatabaseLocked,
    DatabaseUnavailable,
    DuplicateError,
    IntegrityError,
    NotFound,
    OperationalError,
    PersistenceError,
    UnitOfWorkError,
)

SCHEMA = """
CREATE TABLE parent (
    id INTEGER PRIMARY KEY,
    code VARCHAR UNIQUE,
    qty INTEGER NOT NULL CHECK (qty > 0)
);
CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id));
INSERT INTO parent VALUES (1, 'a', 1);
"""


@pytest.fixture
async def engine(db_file: Path) -> AsyncIterator[AsyncEngine]:
    with duckdb.connect(str(db_file)) as conn:
        conn.execute(SCHEMA)
    engine = create_async_engine(f"duckdb+async:///{db_file}")
    yield engine
    await engine.dispose()


async def _fail(engine: AsyncEngine, statement: str) -> DBAPIError:
    async with engine.connect() as conn:
        with pytest.raises(DBAPIError) as caught:
            await conn.exec_driver_sql(statement)
    return caught.value


def _assert_translates(
    exc: BaseException, kind: type[PersistenceError], message: str
) -> PersistenceError:
    error = translate_error(exc)
    assert type(error) is kind
    assert str(error) == message
    assert error.__cause__ is exc
    return error


# -- constraints ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "kind", "message"),
    [
        (
            "INSERT INTO parent VALUES (1, 'b', 1)",
            DuplicateError,
            'Constraint Error: Duplicate key "id: 1" violates primary key constraint.',
        ),
        (
            "INSERT INTO parent VALUES (2, 'a', 1)",
            DuplicateError,
            'Constraint Error: Duplicate key "code: a" violates unique constraint.',
        ),
        (
            "INSERT INTO parent VALUES (5, 'e', NULL)",
            IntegrityError,
            "Constraint Error: NOT NULL constraint failed: parent.qty",
        ),
        (
            "INSERT INTO parent VALUES (6, 'f', -1)",
            IntegrityError,
            'Constraint Error: CHECK constraint failed on table "parent" with expression '
            "CHECK((qty > 0))",
        ),
        (
            "INSERT INTO child VALUES (1, 99)",
            IntegrityError,
            'Constraint Error: Violates foreign key constraint because key "id: 99" does not '
            "exist in the referenced table",
        ),
    ],
    ids=["primary-key", "unique", "not-null", "check", "foreign-key"],
)
async def test_constraint_violations(
    engine: AsyncEngine, statement: str, kind: type[PersistenceError], message: str
) -> None:
    exc = await _fail(engine, statement)
    assert isinstance(exc.orig, duckdb.ConstraintException)
    _assert_translates(exc, kind, message)


async def test_duplicate_within_one_transaction(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.exec_driver_sql("INSERT INTO parent VALUES (3, 'c', 1)")
        with pytest.raises(DBAPIError) as caught:
            await conn.exec_driver_sql("INSERT INTO parent VALUES (3, 'd', 1)")
    _assert_translates(
        caught.value,
        DuplicateError,
        'Constraint Error: PRIMARY KEY or UNIQUE constraint violation: duplicate key "3"',
    )


async def test_unique_index_over_repeated_values_is_a_duplicate(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.exec_driver_sql("CREATE TABLE repeated (code VARCHAR)")
        await conn.exec_driver_sql("INSERT INTO repeated VALUES ('a'), ('a')")
    # Inside a transaction DuckDB reports it at the index or at the commit.
    with pytest.raises(DBAPIError) as caught:
        async with engine.begin() as conn:
            await conn.exec_driver_sql("CREATE UNIQUE INDEX code_once ON repeated (code)")
    _assert_translates(
        caught.value,
        DuplicateError,
        "Constraint Error: Data contains duplicates on indexed column(s)",
    )


async def test_same_key_inserted_by_two_transactions_fails_at_the_second_commit(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as first, engine.connect() as second:
        await first.exec_driver_sql("INSERT INTO parent VALUES (10, 'x', 1)")
        await second.exec_driver_sql("INSERT INTO parent VALUES (10, 'y', 1)")
        await first.commit()
        with pytest.raises(DBAPIError) as caught:
            await second.commit()
    assert isinstance(caught.value.orig, duckdb.TransactionException)
    _assert_translates(
        caught.value,
        DuplicateError,
        "TransactionContext Error: Failed to commit: PRIMARY KEY or UNIQUE constraint "
        'violation: duplicate key "10"',
    )


# -- concurrency ----------------------------------------------------------------------------------


async def test_write_write_conflict(engine: AsyncEngine) -> None:
    async with engine.connect() as first, engine.connect() as second:
        await first.exec_driver_sql("UPDATE parent SET qty = 2 WHERE id = 1")
        with pytest.raises(DBAPIError) as caught:
            await second.exec_driver_sql("UPDATE parent SET qty = 3 WHERE id = 1")
    _assert_translates(
        caught.value, ConcurrencyError, "TransactionContext Error: Conflict on update!"
    )


async def test_update_of_a_row_deleted_by_another_transaction(engine: AsyncEngine) -> None:
    async with engine.connect() as first, engine.connect() as second:
        await first.exec_driver_sql("INSERT INTO parent VALUES (20, 'z', 1)")
        await first.commit()
        await second.exec_driver_sql("SELECT 1")  # take the snapshot that still has the row
        await first.exec_driver_sql("DELETE FROM parent WHERE id = 20")
        with pytest.raises(DBAPIError) as caught:
            await second.exec_driver_sql("UPDATE parent SET qty = 5 WHERE id = 20 RETURNING id")
    _assert_translates(
        caught.value, ConcurrencyError, "TransactionContext Error: Conflict on tuple deletion!"
    )


class _Base(DeclarativeBase):
    pass


class _Versioned(_Base):
    __tablename__ = "versioned"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str]
    version: Mapped[int] = mapped_column()
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declaration


async def test_stale_versioned_update_raises_instead_of_losing_the_write(
    memory_engine: AsyncEngine,
) -> None:
    async with memory_engine.begin() as conn:
        await conn.run_sync(_Base.metadata.create_all)
    async with AsyncSession(memory_engine, expire_on_commit=False) as session:
        session.add(_Versioned(id=1, name="first"))
        await session.commit()
    async with (
        AsyncSession(memory_engine, expire_on_commit=False) as late,
        AsyncSession(memory_engine) as early,
    ):
        stale = await late.get_one(_Versioned, 1)
        await late.commit()  # the late writer holds version 1, outside any transaction
        (await early.get_one(_Versioned, 1)).name = "early"
        await early.commit()  # version 2
        stale.name = "late"
        # With rowcount trusted, SQLAlchemy sees the UPDATE ... WHERE version = 1 match nothing
        # (and pytest's filterwarnings=error proves no "cannot be verified" warning instead).
        with pytest.raises(StaleDataError) as caught:
            await late.commit()
    _assert_translates(
        caught.value,
        ConcurrencyError,
        "UPDATE statement on table 'versioned' expected to update 1 row(s); 0 were matched.",
    )
    async with memory_engine.connect() as conn:
        assert await conn.scalar(sa.text("SELECT name FROM versioned")) == "early"


async def test_versioned_delete_of_several_rows_checks_the_total(
    memory_engine: AsyncEngine,
) -> None:
    # The ORM deletes versioned rows with one executemany and trusts its total rowcount.
    async with memory_engine.begin() as conn:
        await conn.run_sync(_Base.metadata.create_all)
    async with AsyncSession(memory_engine) as session:
        session.add_all([_Versioned(id=i, name="n") for i in range(6)])
        await session.commit()
    async with AsyncSession(memory_engine) as session:
        for row in await session.scalars(sa.select(_Versioned).where(_Versioned.id < 3)):
            await session.delete(row)
        await session.commit()  # 3 rows matched: no false alarm
    async with (
        AsyncSession(memory_engine, expire_on_commit=False) as late,
        AsyncSession(memory_engine) as early,
    ):
        stale = (await late.scalars(sa.select(_Versioned))).all()
        await late.commit()
        (await early.get_one(_Versioned, 4)).name = "changed"
        await early.commit()
        for row in stale:
            await late.delete(row)
        with pytest.raises(StaleDataError) as caught:
            await late.commit()
    error = translate_error(caught.value)
    assert isinstance(error, ConcurrencyError)
    assert "expected to delete 3 row(s); 2 were matched" in str(error)


async def test_statement_after_a_failure_in_the_transaction(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        with pytest.raises(DBAPIError) as failed:
            await conn.exec_driver_sql("INSERT INTO parent VALUES (1, 'dup', 1)")
        # The driver refuses at once (DuckDB would say "Current transaction is aborted").
        with pytest.raises(DBAPIError) as caught:
            await conn.exec_driver_sql("SELECT 1")
    error = translate_error(caught.value)
    assert type(error) is UnitOfWorkError
    assert str(error) == (
        "an earlier statement in this transaction failed (DuplicateError: Constraint Error: "
        'Duplicate key "id: 1" violates primary key constraint.); roll back first'
    )
    assert type(error.__cause__) is DuplicateError
    assert error.__cause__.__cause__ is failed.value.orig


# -- opening files --------------------------------------------------------------------------------


async def test_file_locked_by_another_process(
    db_file: Path, lock_holder: subprocess.Popen[str]
) -> None:
    with pytest.raises(duckdb.IOException) as raw:
        duckdb.connect(str(db_file))
    error = translate_error(raw.value)
    assert isinstance(error, DatabaseLocked)
    assert error.holder_pid == lock_holder.pid
    assert str(db_file) in str(error)
    assert f"PID {lock_holder.pid}" in str(error)

    engine = create_async_engine(f"duckdb+async:///{db_file}")
    try:
        with pytest.raises(DBAPIError) as wrapped:
            await engine.connect()
    finally:
        await engine.dispose()
    locked = translate_error(wrapped.value)
    assert isinstance(locked, DatabaseLocked)
    assert locked.holder_pid == lock_holder.pid


def test_lock_message_without_a_holder() -> None:
    # Not every platform's lock failure names the holder; the file is still named.
    exc = duckdb.IOException(
        'IO Error: Could not set lock on file "/data/x.duckdb": Resource temporarily unavailable'
    )
    error = translate_error(exc)
    assert isinstance(error, DatabaseLocked)
    assert error.holder_pid is None
    assert "/data/x.duckdb" in str(error)


@pytest.fixture
def corrupt_file(db_file: Path) -> Path:
    db_file.write_bytes(os.urandom(16384))
    return db_file


async def test_corrupt_file(corrupt_file: Path) -> None:
    db_file = corrupt_file
    with pytest.raises(duckdb.IOException) as raw:
        duckdb.connect(str(db_file))
    _assert_translates(
        raw.value,
        CorruptDatabase,
        f'IO Error: The file "{db_file}" exists, but it is not a valid DuckDB database file!',
    )
    engine = create_async_engine(f"duckdb+async:///{db_file}")
    try:
        with pytest.raises(DBAPIError) as wrapped:
            await engine.connect()
    finally:
        await engine.dispose()
    assert isinstance(translate_error(wrapped.value), CorruptDatabase)


async def test_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "x.duckdb"
    with pytest.raises(duckdb.IOException) as raw:
        duckdb.connect(str(path))
    _assert_translates(
        raw.value,
        DatabaseUnavailable,
        f'IO Error: Cannot open file "{path}": No such file or directory',
    )
    engine = create_async_engine(f"duckdb+async:///{path}")
    try:
        with pytest.raises(DBAPIError) as wrapped:
            await engine.connect()
    finally:
        await engine.dispose()
    assert wrapped.value.statement is None
    assert type(translate_error(wrapped.value)) is DatabaseUnavailable


def test_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("not a directory")
    with pytest.raises(duckdb.IOException) as raw:
        duckdb.connect(str(tmp_path / "plain" / "x.duckdb"))
    assert type(translate_error(raw.value)) is DatabaseUnavailable


def test_read_only_file_that_does_not_exist(db_file: Path) -> None:
    with pytest.raises(duckdb.IOException) as raw:
        duckdb.connect(str(db_file), read_only=True)
    _assert_translates(
        raw.value,
        DatabaseUnavailable,
        f'IO Error: Cannot open database "{db_file}" in read-only mode: database does not exist',
    )


def test_same_file_with_another_configuration(db_file: Path) -> None:
    with (
        duckdb.connect(str(db_file), config={"threads": 2}),
        pytest.raises(duckdb.ConnectionException) as raw,
    ):
        duckdb.connect(str(db_file), config={"threads": 1})
    _assert_translates(
        raw.value,
        ConfigurationError,
        "Connection Error: Can't open a connection to same database file with a different "
        "configuration than existing connections",
    )


# -- statements -----------------------------------------------------------------------------------


async def test_statement_that_cannot_open_its_file_is_not_a_database_failure(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    target = tmp_path / "missing" / "out.csv"
    exc = await _fail(engine, f"COPY parent TO '{target}'")
    assert isinstance(exc.orig, duckdb.IOException)
    error = translate_error(exc)
    assert type(error) is OperationalError
    assert str(target) in str(error)


@pytest.mark.parametrize(
    ("statement", "exception", "message"),
    [
        (
            "SELECT 'abc'::INTEGER",
            duckdb.ConversionException,
            "Conversion Error: Could not convert string 'abc' to INT32",
        ),
        (
            "SELECT nope FROM parent",
            duckdb.BinderException,
            'Binder Error: Referenced column "nope" not found in FROM clause!',
        ),
        (
            "SELECT * FROM nope",
            duckdb.CatalogException,
            "Catalog Error: Table with name nope does not exist!",
        ),
        ("SELEC 1", duckdb.ParserException, 'Parser Error: syntax error at or near "SELEC"'),
        (
            "SAVEPOINT sp",
            duckdb.ParserException,
            'Parser Error: syntax error at or near "SAVEPOINT"',
        ),
        (
            "SELECT * FROM read_csv('/nonexistent/x.csv')",
            duckdb.IOException,
            'IO Error: No files found that match the pattern "/nonexistent/x.csv"',
        ),
    ],
    ids=["conversion", "binder", "catalog", "parser", "savepoint", "no-files"],
)
async def test_other_statement_errors_keep_the_first_line(
    engine: AsyncEngine, statement: str, exception: type[duckdb.Error], message: str
) -> None:
    exc = await _fail(engine, statement)
    assert isinstance(exc.orig, exception)
    assert "LINE 1" in str(exc.orig)
    _assert_translates(exc, OperationalError, message)


def test_closed_connection() -> None:
    conn = duckdb.connect()
    conn.close()
    with pytest.raises(duckdb.ConnectionException) as raw:
        conn.execute("SELECT 1")
    _assert_translates(raw.value, OperationalError, "Connection Error: Connection already closed!")


# -- anything else --------------------------------------------------------------------------------


def test_andamios_errors_pass_through() -> None:
    error = NotFound(int, 1)
    assert translate_error(error) is error


def test_foreign_exceptions_become_operational_errors() -> None:
    _assert_translates(ValueError("bad value\nmore detail"), OperationalError, "bad value")
    _assert_translates(RuntimeError(), OperationalError, "RuntimeError")
    wrapped = DBAPIError("SELECT 1", None, ValueError("driver said no"))
    _assert_translates(wrapped, OperationalError, "driver said no")


def test_open_errors_that_are_not_about_the_file_are_configuration_errors() -> None:
    with pytest.raises(duckdb.Error) as raw:
        duckdb.connect(":memory:", config={"memory_limit": "lots"})
    error = translate_open_error(raw.value)
    assert type(error) is ConfigurationError
    assert str(error) == "Parser Error: Memory must have a number (e.g. 1GB)"
    assert error.__cause__ is raw.value


def test_open_errors_about_the_file_keep_their_kind(tmp_path: Path) -> None:
    with pytest.raises(duckdb.IOException) as raw:
        duckdb.connect(str(tmp_path / "missing" / "x.duckdb"))
    assert type(translate_open_error(raw.value)) is DatabaseUnavailable
