"""``Database``: connecting eagerly, settings on the server, lifecycle, replica and health."""

from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from tests.integration.postgresql._server import (
    refusing,
    run,
    silent,
    stand_in_server,
    url_of,
)

from andamios.adapters.postgresql import Database, HealthCheck, PostgreSQLSettings
from andamios.ports.errors import (
    ConfigurationError,
    DatabaseClosed,
    DatabaseError,
    DatabaseUnavailable,
    DuplicateError,
    OperationalError,
)

metadata = sa.MetaData()
products = sa.Table(
    "products",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("sku", sa.String(20), nullable=False, unique=True),
)


async def _scalar(conn: AsyncConnection, sql: str) -> object:
    return await conn.scalar(sa.text(sql))


def _started(db: Database) -> bool:
    # A function, so that mypy does not carry a narrowed property across the awaits.
    return db.is_started


# -- lifecycle ------------------------------------------------------------------------------------


async def test_start_and_close(postgresql_url: str, pg_schema: str) -> None:
    db = Database(postgresql_url, schema=pg_schema)
    assert not db.is_started
    assert repr(db) == "<Database postgresql+asyncpg://postgres@127.0.0.1:5432/test closed>"
    await db.start()
    assert _started(db)
    assert repr(db).endswith(" started>")
    engine = db.engine
    await db.start()  # a no-op: the same engine
    assert db.engine is engine
    async with db.engine.connect() as conn:
        assert await _scalar(conn, "SELECT 1") == 1
    await db.close()
    assert not _started(db)
    await db.close()  # idempotent
    with pytest.raises(DatabaseClosed, match="is closed: use 'async with Database"):
        _ = db.engine


async def test_context_manager_and_url(postgresql_url: str) -> None:
    async with Database(postgresql_url.replace("+asyncpg", "")) as db:
        assert db.is_started
        assert db.url == "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        assert db.replica is None
    assert not db.is_started


def test_the_repr_hides_the_password_and_url_keeps_it(postgresql_url: str) -> None:
    db = Database(url_of(postgresql_url, password="s3cret"))
    assert repr(db) == "<Database postgresql+asyncpg://postgres:***@127.0.0.1:5432/test closed>"
    assert db.url == "postgresql+asyncpg://postgres:s3cret@127.0.0.1:5432/test"


def test_keywords_are_the_settings(postgresql_url: str) -> None:
    db = Database(
        postgresql_url,
        pool_size=2,
        max_overflow=1,
        pool_timeout=3.0,
        statement_timeout=4.0,
        isolation_level="SERIALIZABLE",
        schema="shop",
        replica_url=postgresql_url,
        echo=True,
    )
    assert db.settings == PostgreSQLSettings(
        url=postgresql_url,
        pool_size=2,
        max_overflow=1,
        pool_timeout=3.0,
        statement_timeout=4.0,
        isolation_level="SERIALIZABLE",
        schema="shop",
        replica_url=postgresql_url,
        echo=True,
    )
    with pytest.raises(ConfigurationError, match="pool_size must be at least 1"):
        Database(postgresql_url, pool_size=0)


async def test_from_settings(postgresql_url: str, pg_schema: str) -> None:
    settings = PostgreSQLSettings(url=postgresql_url, schema=pg_schema)
    db = Database.from_settings(settings)
    assert db.settings is settings
    assert not db.is_started
    async with db, db.engine.connect() as conn:
        assert await _scalar(conn, "SELECT current_schema()") == pg_schema


async def test_create_all_and_drop_all_in_the_schema(
    postgresql_url: str, pg_schema: str, admin: AsyncConnection
) -> None:
    async with Database(postgresql_url, schema=pg_schema) as db:
        await db.create_all(metadata)
        await db.create_all(metadata)  # only what is missing
        tables = await admin.scalar(
            sa.text(
                "SELECT string_agg(table_schema || '.' || table_name, ',') "
                "FROM information_schema.tables WHERE table_name = 'products' "
                "AND table_schema = :schema"
            ),
            {"schema": pg_schema},
        )
        assert tables == f"{pg_schema}.products"
        async with db.engine.begin() as conn:
            await conn.execute(products.insert().values(id=1, sku="a"))
        await db.drop_all(metadata)
        async with db.engine.connect() as conn:
            assert not await conn.run_sync(lambda c: sa.inspect(c).has_table("products"))


async def test_create_all_failures_are_translated(postgresql_url: str, pg_schema: str) -> None:
    broken = sa.MetaData()
    sa.Table("t", broken, sa.Column("id", sa.Integer), sa.CheckConstraint("missing > 0"))
    async with Database(postgresql_url, schema=pg_schema) as db:
        with pytest.raises(OperationalError, match='column "missing" does not exist') as failed:
            await db.create_all(broken)
        assert isinstance(failed.value.__cause__, sa.exc.DBAPIError)
        await db.drop_all(broken)  # nothing to drop


async def test_translate_error_names_this_database(postgresql_url: str) -> None:
    async with Database(postgresql_url) as db, db.engine.connect() as conn:
        await run(conn, "CREATE TEMPORARY TABLE t (id int PRIMARY KEY)")
        await run(conn, "INSERT INTO t VALUES (1)")
        with pytest.raises(sa.exc.IntegrityError) as failed:
            await run(conn, "INSERT INTO t VALUES (1)")
        assert isinstance(db.translate_error(failed.value), DuplicateError)


# -- the settings on the server -------------------------------------------------------------------


async def test_each_connection_has_the_settings(postgresql_url: str, pg_schema: str) -> None:
    db = Database(postgresql_url, schema=pg_schema, statement_timeout=1.5)
    async with db, db.engine.connect() as conn:
        assert await _scalar(conn, "SHOW search_path") == pg_schema
        assert await _scalar(conn, "SHOW statement_timeout") == "1500ms"
        assert await _scalar(conn, "SHOW application_name") == "andamios"
        assert await _scalar(conn, "SHOW transaction_isolation") == "repeatable read"


@pytest.mark.parametrize(
    ("level", "shown"), [("READ COMMITTED", "read committed"), ("SERIALIZABLE", "serializable")]
)
async def test_the_isolation_level(postgresql_url: str, level: str, shown: str) -> None:
    db = Database(postgresql_url, isolation_level=level)
    async with db, db.engine.connect() as conn:
        assert await _scalar(conn, "SHOW transaction_isolation") == shown


async def test_a_unit_of_work_sees_one_snapshot_from_its_first_read(
    postgresql_url: str, pg_schema: str
) -> None:
    async with Database(postgresql_url, schema=pg_schema) as db:
        await db.create_all(metadata)
        async with db.engine.connect() as reader:
            assert await _scalar(reader, "SELECT count(*) FROM products") == 0
            async with db.engine.begin() as writer:
                await writer.execute(products.insert().values(id=1, sku="a"))
            # Committed meanwhile, but after this transaction's snapshot.
            assert await _scalar(reader, "SELECT count(*) FROM products") == 0
            await reader.rollback()
            assert await _scalar(reader, "SELECT count(*) FROM products") == 1


async def test_without_a_schema_the_servers_search_path_is_kept(postgresql_url: str) -> None:
    async with Database(postgresql_url) as db, db.engine.connect() as conn:
        assert await _scalar(conn, "SHOW search_path") == '"$user", public'
        assert await _scalar(conn, "SHOW statement_timeout") == "0"


async def test_a_missing_schema_fails_at_start(postgresql_url: str) -> None:
    db = Database(postgresql_url, schema="no_such_schema")
    with pytest.raises(ConfigurationError) as refused:
        await db.start()
    assert str(refused.value) == (
        "schema 'no_such_schema' does not exist at 127.0.0.1:5432, database 'test', or the "
        "role may not use it: create it first (CREATE SCHEMA no_such_schema)"
    )
    assert not db.is_started


# -- failing to connect ---------------------------------------------------------------------------


async def test_a_wrong_port_fails_at_start_naming_the_server(postgresql_url: str) -> None:
    db = Database(url_of(postgresql_url, port=1, password="s3cret"))
    with pytest.raises(DatabaseUnavailable) as refused:
        await db.start()
    message = str(refused.value)
    assert message.startswith("cannot use PostgreSQL at 127.0.0.1:1, database 'test': ")
    assert "Connect call failed" in message
    assert "s3cret" not in message
    assert isinstance(refused.value.__cause__, OSError)
    assert not db.is_started


async def test_an_ipv6_address_is_named_in_brackets(postgresql_url: str) -> None:
    db = Database(postgresql_url.replace("127.0.0.1:5432", "[::1]:1"))
    with pytest.raises(DatabaseUnavailable, match=r"^cannot use PostgreSQL at \[::1\]:1, database"):
        await db.start()


async def test_an_unknown_database_fails_at_start(postgresql_url: str) -> None:
    db = Database(url_of(postgresql_url, database="no_such_database"))
    with pytest.raises(DatabaseUnavailable) as refused:
        await db.start()
    assert str(refused.value) == (
        "cannot use PostgreSQL at 127.0.0.1:5432, database 'no_such_database': "
        'database "no_such_database" does not exist'
    )
    assert isinstance(refused.value.__cause__, sa.exc.DBAPIError)
    assert not db.is_started


async def test_an_unknown_role_fails_at_start(postgresql_url: str) -> None:
    db = Database(url_of(postgresql_url, username="no_such_role", password="s3cret"))
    with pytest.raises(DatabaseUnavailable, match='role "no_such_role" does not exist') as refused:
        await db.start()
    assert "s3cret" not in str(refused.value)


async def test_a_role_that_may_not_connect_fails_at_start(
    postgresql_url: str, pg_database: str, pg_role: str, admin: AsyncConnection
) -> None:
    # 42501 insufficient_privilege: not a reason to be unavailable once connected, but it is
    # what keeps the database from opening here.
    await run(admin, f"REVOKE CONNECT ON DATABASE {pg_database} FROM PUBLIC")
    db = Database(url_of(postgresql_url, username=pg_role, database=pg_database))
    with pytest.raises(DatabaseUnavailable) as refused:
        await db.start()
    assert str(refused.value) == (
        f"cannot use PostgreSQL at 127.0.0.1:5432, database {pg_database!r}: "
        f'permission denied for database "{pg_database}"'
    )
    assert isinstance(refused.value.__cause__, sa.exc.DBAPIError)


async def test_sslmode_in_the_url_reaches_asyncpg_as_ssl(postgresql_url: str) -> None:
    # asyncpg's connect() has no sslmode keyword: given as it is, it would be a TypeError.
    async with Database(f"{postgresql_url}?sslmode=disable") as db, db.engine.connect() as conn:
        assert (
            await _scalar(conn, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is False
        )


async def test_ssl_required_of_a_server_without_it_fails_at_start(postgresql_url: str) -> None:
    db = Database(f"{postgresql_url}?sslmode=require")
    with pytest.raises(DatabaseUnavailable, match="rejected SSL upgrade"):
        await db.start()


@pytest.mark.parametrize(
    ("sqlstate", "said", "ask_password"),
    [
        ("28P01", 'password authentication failed for user "postgres"', True),
        ("57P03", "the database system is starting up", False),
    ],
)
async def test_a_server_refusing_the_connection_fails_at_start(
    postgresql_url: str, sqlstate: str, said: str, ask_password: bool
) -> None:
    async with stand_in_server(refusing(sqlstate, said, ask_password=ask_password)) as port:
        db = Database(url_of(postgresql_url, port=port, password="s3cret"))
        with pytest.raises(DatabaseUnavailable) as refused:
            await db.start()
    assert (
        str(refused.value) == f"cannot use PostgreSQL at 127.0.0.1:{port}, database 'test': {said}"
    )
    assert "s3cret" not in str(refused.value)
    assert not db.is_started


async def test_start_cancelled_while_connecting_leaves_nothing_open(postgresql_url: str) -> None:
    async with stand_in_server(silent) as port:
        db = Database(url_of(postgresql_url, port=port))
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.3):
                await db.start()
    assert not db.is_started


# -- the pool -------------------------------------------------------------------------------------


async def test_waiting_too_long_for_a_connection_names_the_settings(postgresql_url: str) -> None:
    # 1 s, not less: the connect timeout is pool_timeout too, and a loaded machine connects slowly.
    async with Database(postgresql_url, pool_size=1, pool_timeout=1.0) as db:
        async with db.engine.connect():
            started = time.perf_counter()
            with pytest.raises(sa.exc.TimeoutError) as waited:
                async with db.engine.connect():
                    pass
            assert time.perf_counter() - started >= 1.0
        error = db.translate_error(waited.value)
    assert isinstance(error, OperationalError)
    assert str(error).startswith(
        "no database connection became free within pool_timeout=1.0 s, with all pool_size=1 "
        "(+ max_overflow=0) connections in use; raise pool_size or pool_timeout, or hold "
        "units of work for less time (QueuePool limit of size 1 overflow 0 reached"
    )
    assert error.__cause__ is waited.value


async def test_a_connection_the_server_dropped_is_replaced(
    postgresql_url: str, admin: AsyncConnection
) -> None:
    async with Database(postgresql_url, pool_size=1) as db:
        async with db.engine.connect() as conn:
            pid = await _scalar(conn, "SELECT pg_backend_pid()")
        await run(admin, f"SELECT pg_terminate_backend({pid})")
        # pool_pre_ping: the checkout notices, and connects again.
        async with db.engine.connect() as conn:
            assert await _scalar(conn, "SELECT pg_backend_pid()") != pid


# -- the replica ----------------------------------------------------------------------------------


async def test_the_replica_is_started_and_closed_with_the_primary(
    postgresql_url: str, pg_schema: str
) -> None:
    db = Database(postgresql_url, schema=pg_schema, replica_url=postgresql_url)
    with pytest.raises(DatabaseError, match="is not open"):
        _ = db.replica
    async with db:
        replica = db.replica
        assert replica is not None
        assert replica is not db.engine
        async with replica.connect() as conn:
            assert await _scalar(conn, "SHOW search_path") == pg_schema
            assert await _scalar(conn, "SHOW transaction_isolation") == "repeatable read"
    with pytest.raises(DatabaseClosed, match="is closed"):
        _ = db.replica


async def test_an_unreachable_replica_fails_the_start_naming_it(postgresql_url: str) -> None:
    db = Database(postgresql_url, replica_url=url_of(postgresql_url, port=1))
    with pytest.raises(
        DatabaseUnavailable, match=r"^cannot use PostgreSQL at 127\.0\.0\.1:1, database"
    ):
        await db.start()
    assert not db.is_started


# -- health ---------------------------------------------------------------------------------------


async def test_health_check_ok(postgresql_url: str) -> None:
    async with Database(postgresql_url) as db:
        health = await db.health_check()
    assert health.ok
    assert health.error is None
    assert health.server_version is not None
    assert health.server_version.split(".")[0].isdigit()
    assert health.latency_ms > 0


async def test_health_check_of_a_database_not_started(postgresql_url: str) -> None:
    health = await Database(postgresql_url).health_check()
    assert health == HealthCheck(
        ok=False, server_version=None, latency_ms=0.0, error="database is not started"
    )


async def test_health_check_when_every_connection_is_busy(postgresql_url: str) -> None:
    async with Database(postgresql_url, pool_size=1) as db, db.engine.connect():
        health = await db.health_check(within=0.2)
    assert not health.ok
    assert health.error == "no connection or answer within 0.2 s"
    assert health.latency_ms >= 200


async def test_health_check_when_the_database_is_gone(
    postgresql_url: str, pg_database: str, admin: AsyncConnection
) -> None:
    async with Database(url_of(postgresql_url, database=pg_database)) as db:
        await run(admin, f"DROP DATABASE {pg_database} WITH (FORCE)")
        health = await db.health_check()
    assert not health.ok
    assert health.server_version is None
    assert health.error == (
        f"cannot use PostgreSQL at 127.0.0.1:5432, database {pg_database!r}: "
        f'database "{pg_database}" does not exist'
    )
