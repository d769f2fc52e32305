"""Migrations of tables and columns named with DuckDB keywords (quoted in every statement)."""

from __future__ import annotations

from tests.integration.migrations._project import Project

ORDERS_V1 = """\
orders = sa.Table(
    "order",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("at", sa.Integer, nullable=False),
    sa.Column("by", sa.String, unique=True),
    sa.Column("left", sa.Boolean),
    sa.Index("ix_order_at", "at"),
)
"""

ROWS = """INSERT INTO "order" (id, "at", "by", "left") VALUES (uuid(), 1, 'a', true)"""


def test_keyword_names_migrate_compare_equal_and_rebuild(project: Project) -> None:
    project.write_mapping(ORDERS_V1)
    migrations = project.migrations()
    migrations.init()
    migrations.revision("one", autogenerate=True, rev_id="r1")
    migrations.upgrade()
    result = migrations.check()
    assert result.ok, result.differences
    project.query(ROWS)

    # A new column, and a change DuckDB makes only by rebuilding the table (an indexed column).
    project.write_mapping(
        ORDERS_V1.replace(
            'sa.Column("at", sa.Integer, nullable=False)', 'sa.Column("at", sa.BigInteger)'
        ).replace(
            'sa.Column("left", sa.Boolean),',
            'sa.Column("left", sa.Boolean),\n    sa.Column("select", sa.String),',
        )
    )
    assert project.migrations().check().differences == (
        "+ column order.select VARCHAR NULL",
        "~ type of order.at: INTEGER -> BIGINT; ~ order.at: NOT NULL -> NULL",
    )
    migrations.revision("two", autogenerate=True, rev_id="r2")
    migrations.upgrade()

    assert project.migrations().check().ok
    assert project.columns('"order"') == ["id", "at", "by", "left", "select"]
    assert project.query('SELECT "at", "by", "left", "select" FROM "order"') == [
        (1, "a", True, None)
    ]
    migrations.downgrade("r1")
    assert project.columns('"order"') == ["id", "at", "by", "left"]
    assert project.query('SELECT "at", "by" FROM "order"') == [(1, "a")]
