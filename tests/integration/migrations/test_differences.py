"""How differences are described (``andamios db check``), and the rewrite's smaller pieces."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection, make_url

from andamios.adapters.duckdb import DuckDBType
from andamios.adapters.duckdb._catalog import TableCatalog
from andamios.adapters.migrations import (
    MigrationEnvironment,
    ProjectSettings,
    UnsupportedChangeOp,
    canonical_type,
    describe_diff,
    render_item,
)
from andamios.adapters.migrations._autogenerate import (
    _public_import,
    _reference,
    _referenced_tables,
    _rewrite,
    include_object,
)
from andamios.adapters.migrations._ddl import created_on
from andamios.adapters.migrations._rules import TableShape

BEFORE = [
    "CREATE TABLE kept (id INTEGER PRIMARY KEY, gone INTEGER, name VARCHAR NOT NULL, "
    "qty INTEGER DEFAULT 1, ref INTEGER REFERENCES other (id), UNIQUE (name, qty))",
    "CREATE INDEX ix_kept_qty ON kept (qty)",
    "CREATE TABLE dropped (id INTEGER PRIMARY KEY)",
]


def _after() -> sa.MetaData:
    metadata = sa.MetaData()
    sa.Table("other", metadata, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "kept",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String, nullable=True),
        sa.Column("qty", sa.BigInteger, server_default="2"),
        sa.Column("ref", sa.Integer, comment="a reference"),
        sa.Column("other_id", sa.Integer, sa.ForeignKey("other.id")),
        sa.Column("added", sa.String, nullable=False),
        sa.Index("ux_kept_added", "added", unique=True),
        sa.UniqueConstraint("name", "added"),
        comment="kept",
    )
    sa.Table("added", metadata, sa.Column("id", sa.Integer, primary_key=True))
    return metadata


async def test_each_kind_of_difference_is_one_line(tmp_path: Path) -> None:
    settings = ProjectSettings(
        root=tmp_path,
        pyproject=None,
        migrations=tmp_path,
        database_url=f"duckdb+async:///{tmp_path / 'd.duckdb'}",
    )
    metadata = _after()

    def compare(conn: Connection) -> list[Any]:
        conn.exec_driver_sql("CREATE TABLE other (id INTEGER PRIMARY KEY)")
        for statement in BEFORE:
            conn.exec_driver_sql(statement)
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))

    async with MigrationEnvironment(settings).connect() as connection:
        diffs = await connection.run_sync(compare)

    assert sorted(describe_diff(diff) for diff in diffs) == sorted(
        [
            "+ table added",
            "- table dropped",
            "+ column kept.other_id INTEGER NULL",
            "+ column kept.added VARCHAR NOT NULL",
            "- column kept.gone INTEGER NULL",
            "~ kept.name: NOT NULL -> NULL",
            "~ type of kept.qty: INTEGER -> BIGINT; ~ default of kept.qty: 1 -> 2",
            "~ comment of kept.ref",
            "~ add table comment: kept",
            "- index ix_kept_qty on kept (qty)",
            "+ unique index ux_kept_added on kept (added)",
            "- unique constraint on kept (name, qty)",
            "+ unique constraint on kept (name, added)",
            "- foreign key on kept (ref)",
            "+ foreign key on kept (other_id)",
        ]
    )


def test_refusals_are_described_and_undo_to_themselves() -> None:
    refused = UnsupportedChangeOp("products", "DuckDB cannot do it")
    assert refused.reverse() is refused
    assert describe_diff(("modify_default", None, "t", "c", {}, None, None)) == (
        "~ default of t.c: none -> none"
    )
    assert describe_diff(refused.to_diff_tuple()) == "! products: DuckDB cannot do it"


def test_operations_other_than_tables_pass_through() -> None:
    container = ops.UpgradeOps(ops=[ops.ExecuteSQLOp("SELECT 1")])
    _rewrite(container, {}, sa.create_engine("duckdb:///:memory:").dialect, {})
    assert [type(op) for op in container.ops] == [ops.ExecuteSQLOp]


def test_references_to_unknown_or_same_tables_change_nothing() -> None:
    state = {"a": TableShape("a")}
    _reference(state, "a", ["a", "elsewhere"])
    assert state == {"a": TableShape("a")}


def test_types_duckdb_does_not_know_have_no_canonical_name() -> None:
    assert canonical_type("TEXT") == "VARCHAR"
    assert canonical_type("no_such_type") is None


def test_only_duckdb_types_are_rendered_specially() -> None:
    assert render_item("type", sa.Integer(), None) is False  # type: ignore[arg-type]


def test_types_of_private_modules_are_imported_from_the_package_exporting_them() -> None:
    assert _public_import(DuckDBType) == "from andamios.adapters.duckdb import DuckDBType"
    assert _public_import(TableCatalog) is None  # not exported by andamios.adapters.duckdb
    assert _public_import(sa.Integer) is None  # a public module: Alembic renders it
    assert _public_import(type("Odd", (), {"__module__": "_odd"})) is None


def test_foreign_keys_a_dialect_does_not_create_are_left_out() -> None:
    duckdb_dialect = make_url("duckdb+async://").get_dialect()()
    postgresql_dialect = make_url("postgresql+asyncpg://h/db").get_dialect()()
    metadata = sa.MetaData()
    sa.Table("roots", metadata, sa.Column("id", sa.Integer, primary_key=True))
    children = sa.Table(
        "children",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("root_id", sa.ForeignKey("roots.id")),
    )
    (key,) = children.foreign_key_constraints
    # As the SQLAlchemy adapter marks a child's key (its callable takes keywords only).
    key.ddl_if(callable_=lambda *_, dialect, **__: dialect.name != "duckdb")
    assert not created_on(key, duckdb_dialect)
    assert created_on(key, postgresql_dialect)
    assert not include_object(
        key, None, "foreign_key_constraint", False, None, dialect=duckdb_dialect
    )
    assert include_object(
        key, None, "foreign_key_constraint", False, None, dialect=postgresql_dialect
    )
    assert include_object(children, "children", "table", False, None, dialect=duckdb_dialect)
    assert _referenced_tables(children.columns, duckdb_dialect) == set()
    assert _referenced_tables(children.columns, postgresql_dialect) == {"roots"}
    # A column not in a table yet: its key has no constraint to ask, so it is created.
    loose: sa.Column[int] = sa.Column("root_id", sa.ForeignKey("roots.id"))
    assert _referenced_tables([loose], duckdb_dialect) == {"roots"}
    # Rendering without a dialect (no database to ask) keeps the key.
    assert render_item("foreign_key", key, SimpleNamespace(dialect=None)) is False  # type: ignore[arg-type]


def test_the_environment_knows_its_dialect_before_it_connects(tmp_path: Path) -> None:
    def dialect(url: str) -> str:
        settings = ProjectSettings(
            root=tmp_path, pyproject=None, migrations=tmp_path, database_url=url
        )
        return MigrationEnvironment(settings).dialect.name

    assert dialect("duckdb+async:///:memory:") == "duckdb"
    assert dialect("postgresql+asyncpg://u@h/db") == "postgresql"
