"""How differences are described (``andamios db check``), and the rewrite's smaller pieces."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.operations import ops
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from andamios.adapters.migrations import (
    MigrationEnvironment,
    ProjectSettings,
    UnsupportedChangeOp,
    canonical_type,
    describe_diff,
    render_item,
)
from andamios.adapters.migrations._autogenerate import _reference, _rewrite
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
