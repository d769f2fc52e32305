"""Alembic's DuckDB implementation: operations DuckDB cannot run are refused before they run."""

from __future__ import annotations

import io
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.ddl.impl import DefaultImpl
from tests.integration.migrations._project import Project
from tests.integration.migrations._revisions import write_revision

from andamios.adapters.duckdb import AsyncDuckDBDialect, DuckDBType
from andamios.adapters.duckdb._types import sqlalchemy_type
from andamios.adapters.migrations import DuckDBImpl, Migrations, UnsupportedMigration

TABLES = """\
products = sa.Table(
    "products",
    mapping.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("sku", sa.String, nullable=False, unique=True),
    sa.Column("name", sa.String),
    sa.Column("qty", sa.Integer),
)
shelves = sa.Table(
    "shelves",
    mapping.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("label", sa.String),
    sa.Column("size", sa.Integer),
    sa.Index("ix_shelves_label", "label"),
)
labels = sa.Table(
    "labels",
    mapping.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("code", sa.String, nullable=False, unique=True),
    sa.Column("text", sa.String),
    sa.Column("qty", sa.Integer),
)
lines = sa.Table(
    "lines",
    mapping.metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("product_id", sa.Integer, sa.ForeignKey("products.id")),
)
"""


@pytest.fixture
def migrations(project: Project) -> Migrations:
    project.write_mapping(TABLES)
    made = project.migrations()
    made.init()
    made.revision("one", autogenerate=True, rev_id="r1")
    made.upgrade()
    project.query("INSERT INTO shelves VALUES (1, 'top', 3), (2, 'low', 5)")
    return made


def test_duckdb_is_found_by_dialect_name() -> None:
    assert DefaultImpl.get_by_dialect(AsyncDuckDBDialect()) is DuckDBImpl
    assert DuckDBImpl.transactional_ddl is True


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (
            'op.alter_column("shelves", "size", type_=sa.BigInteger)',
            "DuckDB cannot alter column shelves.size in place: it has an index "
            "('ix_shelves_label'). Rebuild the table: with op.batch_alter_table('shelves', "
            "recreate='always') as batch_op:",
        ),
        (
            'op.drop_column("labels", "code")',
            "DuckDB cannot drop column labels.code in place: it is in a key or foreign key",
        ),
        (
            'op.add_column("shelves", sa.Column("p", sa.Integer, sa.ForeignKey("products.id")))',
            "DuckDB cannot add column shelves.p in place: a new column cannot have a FOREIGN KEY",
        ),
        (
            'op.create_foreign_key("fk", "shelves", "products", ["size"], ["id"])',
            "DuckDB cannot add a FOREIGN KEY constraint to shelves in place",
        ),
        (
            'op.drop_constraint("shelves_pkey", "shelves", type_="primary")',
            "DuckDB cannot drop a constraint of shelves in place",
        ),
        (
            'op.alter_column("products", "name", new_column_name="title")',
            "DuckDB cannot make these changes to table 'products' in place: alter column "
            "products.name (table 'lines' references it with a FOREIGN KEY); nor can it rebuild",
        ),
    ],
)
def test_operations_duckdb_cannot_run_in_place_are_refused(
    project: Project, migrations: Migrations, operation: str, message: str
) -> None:
    write_revision(migrations, "r2", operation)
    with pytest.raises(UnsupportedMigration) as refused:
        migrations.upgrade()
    assert str(refused.value).startswith(message)
    assert migrations.current_revisions() == ("r1",)


def test_operations_duckdb_can_run_in_place_run(project: Project, migrations: Migrations) -> None:
    write_revision(
        migrations,
        "r2",
        """
        op.drop_column("labels", "qty")
        op.alter_column("labels", "text", nullable=False, server_default="?")
        op.add_column("shelves", sa.Column("note", sa.String))
        op.alter_column("shelves", "label", server_default="none")
        """,
    )
    migrations.upgrade()
    assert project.columns("labels") == ["id", "code", "text"]
    assert project.columns("shelves")[-1] == "note"


def test_batches_rebuild_only_when_duckdb_needs_it(
    project: Project, migrations: Migrations
) -> None:
    write_revision(
        migrations,
        "r2",
        """
        with op.batch_alter_table("labels") as batch_op:  # in place
            batch_op.alter_column("text", nullable=False, existing_type=sa.String)
        with op.batch_alter_table("shelves") as batch_op:  # a rebuild: shelves has an index
            batch_op.alter_column("size", type_=sa.BigInteger, existing_type=sa.Integer)
            batch_op.add_column(sa.Column("depth", sa.Integer))
            batch_op.create_unique_constraint("uq_shelves_label", ["label"])
            batch_op.create_index("ix_shelves_size", ["size"])
        with op.batch_alter_table("labels") as batch_op:  # a rebuild: no constraint is dropped
            batch_op.drop_constraint("labels_code_key", type_="unique")
            batch_op.drop_column("qty")
        """,
    )
    project.query("INSERT INTO labels VALUES (1, 'a', 'x', 1)")
    migrations.upgrade()
    assert project.query(
        "SELECT data_type FROM duckdb_columns() WHERE table_name = 'shelves' AND column_name = "
        "'size'"
    ) == [("BIGINT",)]
    assert project.query("SELECT * FROM shelves ORDER BY id") == [
        (1, "top", 3, None),
        (2, "low", 5, None),
    ]
    assert project.columns("labels") == ["id", "code", "text"]
    assert project.query(
        "SELECT constraint_type FROM duckdb_constraints() WHERE table_name = 'labels'"
    ) == [("NOT NULL",), ("NOT NULL",), ("NOT NULL",), ("PRIMARY KEY",)]
    assert sorted(project.query("SELECT index_name FROM duckdb_indexes()")) == [
        ("ix_shelves_label",),
        ("ix_shelves_size",),
    ]


def test_a_batch_on_a_referenced_table_is_refused(migrations: Migrations) -> None:
    write_revision(
        migrations,
        "r2",
        """
        with op.batch_alter_table("products") as batch_op:
            batch_op.alter_column("qty", type_=sa.BigInteger, existing_type=sa.Integer)
        """,
    )
    with pytest.raises(UnsupportedMigration, match="table 'lines' references it"):
        migrations.upgrade()


def test_an_integer_key_without_a_default_is_refused(migrations: Migrations) -> None:
    write_revision(
        migrations, "r2", 'op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True))'
    )
    with pytest.raises(UnsupportedMigration, match="DuckDB has no SERIAL"):
        migrations.upgrade()


def test_a_missing_table_is_left_to_duckdb(migrations: Migrations) -> None:
    write_revision(migrations, "r2", 'op.add_column("nowhere", sa.Column("a", sa.Integer))')
    with pytest.raises(sa.exc.ProgrammingError, match="Table with name nowhere does not exist"):
        migrations.upgrade()


def test_offline_sql_is_written_without_checks(project: Project, migrations: Migrations) -> None:
    write_revision(
        migrations,
        "r2",
        """
        op.alter_column("shelves", "size", type_=sa.BigInteger)
        op.drop_constraint("products_sku_key", "products", type_="unique")
        with op.batch_alter_table("labels") as batch_op:
            batch_op.alter_column("text", nullable=False)
        """,
    )
    output = io.StringIO()
    Migrations(migrations.settings, stdout=output).upgrade("r1:r2", sql=True)
    sql = output.getvalue()
    assert "ALTER TABLE shelves ALTER COLUMN size TYPE BIGINT;" in sql
    assert "ALTER TABLE products DROP CONSTRAINT products_sku_key;" in sql
    assert "ALTER TABLE labels ALTER COLUMN text SET NOT NULL;" in sql
    assert (
        "UPDATE alembic_version SET version_num='r2' WHERE alembic_version.version_num = 'r1';"
        in sql
    )
    assert sql.startswith("BEGIN;")


def test_types_are_compared_by_duckdbs_names() -> None:
    impl = DuckDBImpl(AsyncDuckDBDialect(), None, False, None, None, {})

    def differs(reflected: str, wanted: sa.types.TypeEngine[Any]) -> bool:
        # A reflected column's type, as the DuckDB adapter's reflection makes it.
        column = sa.Column("c", sqlalchemy_type(reflected))
        return impl.compare_type(column, sa.Column("c", wanted))

    assert not differs("VARCHAR", sa.Text())
    assert not differs("DECIMAL(18,3)", sa.Numeric())
    assert not differs("TIMESTAMP WITH TIME ZONE", sa.DateTime(timezone=True))
    assert differs("TIMESTAMP", sa.DateTime(timezone=True))
    assert differs("INTEGER", sa.BigInteger())
    assert differs("TINYINT", sa.SmallInteger())
    assert not differs("INTEGER[]", DuckDBType("INTEGER[]"))
    # No DuckDB name (an enum type only the database knows): Alembic's own comparison.
    mood = sa.Enum("happy", "sad", name="mood")
    assert not impl.compare_type(sa.Column("c", mood), sa.Column("c", mood))
    assert impl.compare_type(sa.Column("c", sa.Integer), sa.Column("c", mood))
