"""Reflection of DuckDB schemas from DuckDB's catalog (SQLAlchemy's PostgreSQL queries fail).

The duckdb+async dialect's inspector is DuckDBInspector: sqlalchemy.inspect() needs no setup.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import NoSuchTableError
from sqlalchemy.ext.asyncio import AsyncConnection

from andamios.adapters.duckdb import Database, DuckDBInspector, DuckDBType
from andamios.adapters.duckdb._catalog import _index_expression, _split_expressions
from andamios.adapters.duckdb._types import _SIMPLE, sqlalchemy_type
from andamios.adapters.migrations import canonical_type

SCHEMA = [
    "CREATE SEQUENCE parent_ids START 5",
    """CREATE TABLE parent (
        id INTEGER DEFAULT nextval('parent_ids') PRIMARY KEY,
        code VARCHAR NOT NULL UNIQUE,
        "Odd Name" INTEGER,
        "we""ird" INTEGER,
        amount DECIMAL(12, 2) DEFAULT 0,
        stamp TIMESTAMPTZ,
        local TIMESTAMP,
        tags VARCHAR[],
        point STRUCT(x INTEGER, y INTEGER),
        flag BOOLEAN,
        data JSON,
        raw BLOB,
        uid UUID,
        day DATE,
        clock TIME,
        span INTERVAL,
        ratio FLOAT,
        precise DOUBLE,
        big BIGINT,
        small SMALLINT,
        tiny TINYINT,
        huge HUGEINT,
        UNIQUE (amount, flag),
        CHECK (amount >= 0)
    )""",
    "COMMENT ON TABLE parent IS 'the parent'",
    "COMMENT ON COLUMN parent.code IS 'a code'",
    'CREATE INDEX ix_parent_odd ON parent ("Odd Name", code)',
    "CREATE UNIQUE INDEX ux_parent_uid ON parent (uid)",
    'CREATE INDEX ix_parent_expr ON parent ((code || \', (x)\'), "we""ird")',
    "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id))",
    "CREATE VIEW parent_codes AS SELECT code FROM parent",
]


@pytest.fixture
async def connection(tmp_path: Path) -> AsyncIterator[AsyncConnection]:
    async with (
        Database(f"duckdb+async:///{tmp_path / 'r.duckdb'}") as db,
        db.engine.connect() as conn,
    ):
        for statement in SCHEMA:
            await conn.exec_driver_sql(statement)
        await conn.commit()
        await conn.exec_driver_sql("CREATE TEMP TABLE scratch (a INTEGER)")
        yield conn


async def inspect[T](connection: AsyncConnection, fn: Callable[[DuckDBInspector], T]) -> T:
    def run(conn: Connection) -> T:
        inspector = sa.inspect(conn)
        assert isinstance(inspector, DuckDBInspector)
        return fn(inspector)

    return await connection.run_sync(run)


async def test_tables_sequences_and_comments(connection: AsyncConnection) -> None:
    def read(i: DuckDBInspector) -> Any:
        return (
            i.get_table_names(),
            i.has_table("parent"),
            i.has_table("parent_codes"),
            i.has_table("scratch"),
            i.get_sequence_names(),
            i.has_sequence("parent_ids"),
            i.has_sequence("nope"),
            i.get_table_comment("parent"),
            i.get_table_options("parent"),
            i.get_multi_table_options(),
            i.get_multi_table_comment(filter_names=["child"]),
        )

    assert await inspect(connection, read) == (
        ["child", "parent"],
        True,
        False,
        False,
        ["parent_ids"],
        True,
        False,
        {"text": "the parent"},
        {},
        {(None, "child"): {}, (None, "parent"): {}},
        {(None, "child"): {"text": None}},
    )


async def test_columns(connection: AsyncConnection) -> None:
    columns = {c["name"]: c for c in await inspect(connection, lambda i: i.get_columns("parent"))}
    types = {name: repr(column["type"]) for name, column in columns.items()}
    assert types == {
        "id": "INTEGER()",
        "code": "VARCHAR()",
        "Odd Name": "INTEGER()",
        'we"ird': "INTEGER()",
        "amount": "NUMERIC(precision=12, scale=2)",
        "stamp": "TIMESTAMP(timezone=True)",
        "local": "TIMESTAMP()",
        "tags": "DuckDBType('VARCHAR[]')",
        "point": "DuckDBType('STRUCT(x INTEGER, y INTEGER)')",
        "flag": "BOOLEAN()",
        "data": "JSON()",
        "raw": "BLOB()",
        "uid": "UUID()",
        "day": "DATE()",
        "clock": "TIME()",
        "span": "Interval()",
        "ratio": "REAL()",
        "precise": "DOUBLE()",
        "big": "BIGINT()",
        "small": "SMALLINT()",
        "tiny": "DuckDBType('TINYINT')",
        "huge": "DuckDBType('HUGEINT')",
    }
    assert columns["id"]["default"] == "nextval('parent_ids')"
    assert columns["id"]["nullable"] is False
    assert columns["amount"]["default"] == "0"
    assert columns["code"]["comment"] == "a code"
    assert isinstance(columns["point"]["type"], DuckDBType)


async def test_keys_constraints_and_indexes(connection: AsyncConnection) -> None:
    def read(i: DuckDBInspector) -> Any:
        return (
            i.get_pk_constraint("parent"),
            i.get_unique_constraints("parent"),
            i.get_check_constraints("parent"),
            i.get_foreign_keys("child"),
            i.get_indexes("parent"),
        )

    primary, uniques, checks, foreign, indexes = await inspect(connection, read)
    assert primary == {"name": "parent_id_pkey", "constrained_columns": ["id"]}
    assert uniques == [
        {"name": "parent_code_key", "column_names": ["code"]},
        {"name": "parent_amount_flag_key", "column_names": ["amount", "flag"]},
    ]
    assert checks == [{"name": "parent_amount_check", "sqltext": "(amount >= 0)"}]
    assert foreign == [
        {
            "name": "child_parent_id_id_fkey",
            "constrained_columns": ["parent_id"],
            "referred_schema": None,
            "referred_table": "parent",
            "referred_columns": ["id"],
            "options": {},
        }
    ]
    assert indexes == [
        {
            "name": "ix_parent_expr",
            "column_names": [None, 'we"ird'],
            "unique": False,
            "dialect_options": {},
            "expressions": ["((code || ', (x)'))", 'we"ird'],
        },
        {
            "name": "ix_parent_odd",
            "column_names": ["Odd Name", "code"],
            "unique": False,
            "dialect_options": {},
        },
        {"name": "ux_parent_uid", "column_names": ["uid"], "unique": True, "dialect_options": {}},
    ]


async def test_multi_reflection_is_keyed_by_schema_and_table(connection: AsyncConnection) -> None:
    def read(i: DuckDBInspector) -> Any:
        return (
            sorted(i.get_multi_columns()),
            i.get_multi_pk_constraint(filter_names=["child"]),
            i.get_multi_foreign_keys(filter_names=["parent"]),
            sorted(i.get_multi_indexes()),
            i.get_multi_unique_constraints(filter_names=["child"]),
            i.get_multi_check_constraints(filter_names=["child"]),
            i.get_pk_constraint("parent", schema="main")["name"],
        )

    assert await inspect(connection, read) == (
        [(None, "child"), (None, "parent")],
        {(None, "child"): {"name": "child_id_pkey", "constrained_columns": ["id"]}},
        {(None, "parent"): []},
        [(None, "child"), (None, "parent")],
        {(None, "child"): []},
        {(None, "child"): []},
        "parent_id_pkey",
    )


async def test_a_missing_table_raises_no_such_table(connection: AsyncConnection) -> None:
    with pytest.raises(NoSuchTableError, match="missing"):
        await inspect(connection, lambda i: i.get_columns("missing"))
    with pytest.raises(NoSuchTableError):
        await inspect(connection, lambda i: i.get_table_options("scratch"))


async def test_tables_reflect_whole_for_batch_rebuilds(connection: AsyncConnection) -> None:
    def reflect(conn: Connection) -> sa.Table:
        return sa.Table("parent", sa.MetaData(), autoload_with=conn)

    table = await connection.run_sync(reflect)
    assert [c.name for c in table.primary_key.columns] == ["id"]
    assert {index.name for index in table.indexes} == {
        "ix_parent_expr",
        "ix_parent_odd",
        "ux_parent_uid",
    }
    assert table.comment == "the parent"
    created = str(sa.schema.CreateTable(table).compile(dialect=connection.dialect))
    assert "point STRUCT(x INTEGER, y INTEGER)" in created
    assert "DEFAULT nextval('parent_ids')" in created


def test_index_expressions_are_split_outside_parentheses() -> None:
    assert _split_expressions("[lower(a, b), c]") == ["lower(a, b)", "c"]
    assert _index_expression("lower(a, b)") == (None, "lower(a, b)")
    assert _index_expression("'\"Odd\"'") == ("Odd", '"Odd"')


@pytest.mark.parametrize("name", [*_SIMPLE, "DECIMAL(12,2)", "TINYINT", "STRUCT(x INTEGER)"])
def test_reflected_types_render_back_to_the_type_duckdb_reported(name: str) -> None:
    # What makes a rebuilt table keep its types, and the migrations' type comparison exact.
    dialect = sa.create_engine("duckdb+async:///:memory:").dialect
    rendered = dialect.type_compiler_instance.process(sqlalchemy_type(name))
    assert canonical_type(rendered) == name
