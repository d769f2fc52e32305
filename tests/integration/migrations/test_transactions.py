"""A migration that fails leaves the database at the revision it started from.

DuckDB's DDL is transactional, and the migration environment runs a whole upgrade (every
revision of it) in one transaction, so a failure anywhere rolls all of it back.
"""

from __future__ import annotations

import duckdb
import pytest
import sqlalchemy as sa
from tests.integration.migrations._project import Project
from tests.integration.migrations._revisions import write_revision

from andamios.adapters.duckdb import translate_error
from andamios.adapters.migrations import UnsupportedMigration
from andamios.ports.errors import IntegrityError

PRODUCTS = """\
products = sa.Table(
    "products",
    mapping.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String, nullable=False),
)
"""


def _at_first_revision(project: Project) -> str:
    project.write_mapping(PRODUCTS)
    migrations = project.migrations()
    migrations.init()
    migrations.revision("create products", autogenerate=True, rev_id="a1")
    migrations.upgrade()
    project.query("INSERT INTO products VALUES (1, 'tea'), (2, 'tea')")
    return "a1"


def test_duckdb_rolls_back_ddl() -> None:
    with duckdb.connect(":memory:") as conn:
        conn.execute("CREATE TABLE kept (a INTEGER)")
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE made (a INTEGER)")
        conn.execute("ALTER TABLE kept ADD COLUMN b INTEGER")
        conn.execute("CREATE INDEX ix_kept_a ON kept (a)")
        conn.execute("ROLLBACK")
        tables = conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        columns = conn.execute("SELECT column_name FROM (DESCRIBE kept)").fetchall()
        indexes = conn.execute("SELECT index_name FROM duckdb_indexes()").fetchall()
    assert tables == [("kept",)]
    assert columns == [("a",)]
    assert indexes == []


def test_a_failing_revision_is_rolled_back_entirely(project: Project) -> None:
    start = _at_first_revision(project)
    migrations = project.migrations()
    write_revision(
        migrations,
        "b2",
        """
        op.add_column("products", sa.Column("stock", sa.Integer, server_default="0"))
        op.create_table(
            "audit", sa.Column("id", sa.Integer, primary_key=True, autoincrement=False)
        )
        op.execute("INSERT INTO audit VALUES (1)")
        op.create_index("ux_products_name", "products", ["name"], unique=True)  # 'tea' twice
        """,
    )

    with pytest.raises(sa.exc.IntegrityError) as failed:
        migrations.upgrade()
    translated = translate_error(failed.value)
    assert isinstance(translated, IntegrityError)
    assert "Data contains duplicates on indexed column(s)" in str(translated)

    assert migrations.current_revisions() == (start,)
    assert project.columns("products") == ["id", "name"]
    assert project.tables() == ["alembic_version", "products"]
    assert project.query("SELECT count(*) FROM products") == [(2,)]


def test_an_upgrade_over_several_revisions_is_one_transaction(project: Project) -> None:
    start = _at_first_revision(project)
    migrations = project.migrations()
    write_revision(migrations, "b2", 'op.add_column("products", sa.Column("stock", sa.Integer))')
    write_revision(migrations, "c3", "op.execute(\"SELECT error('boom')\")")

    with pytest.raises(Exception, match="boom"):
        migrations.upgrade()

    # Not at b2, although b2 itself succeeded: the database is where the upgrade started.
    assert migrations.current_revisions() == (start,)
    assert project.columns("products") == ["id", "name"]

    migrations.upgrade("b2")
    assert migrations.current_revisions() == ("b2",)
    assert project.columns("products") == ["id", "name", "stock"]


def test_a_refused_change_rolls_back_what_ran_before_it(project: Project) -> None:
    start = _at_first_revision(project)
    migrations = project.migrations()
    write_revision(
        migrations,
        "b2",
        """
        op.add_column("products", sa.Column("stock", sa.Integer))
        op.create_check_constraint("ck_stock", "products", "stock >= 0")
        """,
    )

    with pytest.raises(UnsupportedMigration, match="add a CHECK constraint to products"):
        migrations.upgrade()

    assert migrations.current_revisions() == (start,)
    assert project.columns("products") == ["id", "name"]
