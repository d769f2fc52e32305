"""Autogenerate on DuckDB: the migrations it writes, and that DuckDB runs them."""

from __future__ import annotations

import sys

import pytest
from tests.integration.migrations._project import Project

from andamios.adapters.migrations import Migrations, UnsupportedMigration

PRODUCTS_V1 = """\
products = sa.Table(
    "products",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("sku", sa.String(20), nullable=False, unique=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("price", sa.Numeric(12, 2), nullable=False),
    sa.Column("qty", sa.Integer),
    sa.Column("ratio", sa.Float),
    sa.Column("note", sa.Text),
    sa.Column("made", sa.DateTime(timezone=True)),
    sa.Index("ix_products_name", "name"),
    sa.UniqueConstraint("name", "price", name="uq_products_name_price"),
)
"""

ROWS = """INSERT INTO products (id, sku, name, price, qty) VALUES
    (uuid(), 'TEA-01', 'Green tea', 4.50, 10), (uuid(), 'POT-01', 'Teapot', 32, 2)"""


def _start(project: Project, tables: str = PRODUCTS_V1) -> Migrations:
    project.write_mapping(tables)
    migrations = project.migrations()
    migrations.init()
    migrations.revision("one", autogenerate=True, rev_id="r1")
    migrations.upgrade()
    return migrations


def _script(project: Project, message: str) -> str:
    return project.revision_file(message).read_text()


def test_types_and_named_constraints_compare_equal(project: Project) -> None:
    migrations = _start(project)
    # String(20) is VARCHAR, Float is FLOAT (REAL), Text is VARCHAR, NUMERIC(12, 2) is
    # DECIMAL(12,2), and DuckDB renamed uq_products_name_price: no difference is real.
    result = migrations.check()
    assert result.ok, result.differences
    assert result.current == result.heads == ("r1",)


def test_changes_duckdb_cannot_make_in_place_rebuild_the_table(project: Project) -> None:
    migrations = _start(project)
    project.query(ROWS)
    project.write_mapping(
        PRODUCTS_V1.replace(
            'sa.Column("name", sa.String, nullable=False)', 'sa.Column("name", sa.String)'
        )
        .replace('sa.Column("qty", sa.Integer)', 'sa.Column("qty", sa.BigInteger)')
        .replace(
            'sa.Column("made", sa.DateTime(timezone=True)),',
            'sa.Column("made", sa.DateTime(timezone=True)),\n'
            '    sa.UniqueConstraint("sku", "qty"),',
        )
    )
    assert project.migrations().check().differences == (
        "~ products.name: NOT NULL -> NULL",
        "~ type of products.qty: INTEGER -> BIGINT",
        "+ unique constraint on products (sku, qty)",
    )
    migrations.revision("two", autogenerate=True, rev_id="r2")
    script = _script(project, "two")
    assert "# DuckDB cannot alter column products.name in place: it has an index" in script
    assert "with op.batch_alter_table('products', schema=None, recreate='always')" in script
    assert "batch_op.create_unique_constraint('products_sku_qty_key', ['sku', 'qty'])" in script
    assert "batch_op.drop_constraint('products_sku_qty_key', type_='unique')" in script

    migrations.upgrade()

    assert project.migrations().check().ok
    assert project.query("SELECT sku, name, qty FROM products ORDER BY sku") == [
        ("POT-01", "Teapot", 2),
        ("TEA-01", "Green tea", 10),
    ]
    assert project.query("SELECT index_name FROM duckdb_indexes()") == [("ix_products_name",)]
    assert project.query("SELECT data_type FROM duckdb_columns() WHERE column_name = 'qty'") == [
        ("BIGINT",)
    ]

    migrations.downgrade("r1")  # a rebuild that drops the unique constraint

    assert project.query(
        "SELECT column_name, data_type, is_nullable FROM duckdb_columns() "
        "WHERE table_name = 'products' AND column_name IN ('name', 'qty') ORDER BY column_name"
    ) == [("name", "VARCHAR", False), ("qty", "INTEGER", True)]
    assert sorted(
        project.query(
            "SELECT constraint_text FROM duckdb_constraints() "
            "WHERE table_name = 'products' AND constraint_type = 'UNIQUE'"
        )
    ) == [('UNIQUE("name", price)',), ("UNIQUE(sku)",)]
    assert project.query("SELECT count(*) FROM products") == [(2,)]


def test_changes_in_place_stay_plain_operations(project: Project) -> None:
    plain = PRODUCTS_V1.replace('    sa.Index("ix_products_name", "name"),\n', "")
    migrations = _start(project, plain)
    project.query(ROWS)
    project.write_mapping(
        plain.replace('sa.Column("note", sa.Text)', 'sa.Column("note", sa.Text, unique=True)')
        .replace('sa.Column("qty", sa.Integer)', 'sa.Column("qty", sa.Integer, nullable=False)')
        .replace(
            'sa.Column("ratio", sa.Float),',
            'sa.Column("ratio", sa.Float),\n'
            '    sa.Column("stock", sa.Integer, nullable=False, server_default="0"),',
        )
    )
    migrations.revision("two", autogenerate=True, rev_id="r2")
    script = _script(project, "two")
    assert "batch_alter_table" not in script.split("def downgrade")[0]
    assert "op.create_unique_constraint('products_note_key', 'products', ['note'])" in script
    assert "op.alter_column('products', 'qty'" in script

    migrations.upgrade()

    assert project.migrations().check().ok
    assert project.query("SELECT sku, stock FROM products ORDER BY sku") == [
        ("POT-01", 0),
        ("TEA-01", 0),
    ]
    # Dropping the unique constraint again needs a rebuild (DuckDB drops no constraint).
    assert "recreate='always'" in script.split("def downgrade")[1]
    migrations.downgrade("r1")
    assert project.columns("products") == [
        "id",
        "sku",
        "name",
        "price",
        "qty",
        "ratio",
        "note",
        "made",
    ]


LINES = """
lines = sa.Table(
    "lines",
    mapping.metadata,
    sa.Column("id", sa.Integer, sa.Sequence("lines_id_seq", start=100), primary_key=True),
    sa.Column("product_id", sa.Uuid, sa.ForeignKey("products.id"), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Index("ix_lines_product_id", "product_id"),
)
"""


def test_new_tables_come_after_changes_and_get_their_sequences(project: Project) -> None:
    migrations = _start(project)
    project.query(ROWS)
    project.write_mapping(
        PRODUCTS_V1.replace(
            'sa.Column("qty", sa.Integer)', 'sa.Column("qty", sa.BigInteger)'
        ).replace('    sa.Index("ix_products_name", "name"),\n', "")
        + LINES
    )
    migrations.revision("two", autogenerate=True, rev_id="r2")
    upgrade, downgrade = _script(project, "two").split("def downgrade")
    # Had lines (which references products) been created first, or dropped last, DuckDB could
    # not alter products in place. Without its index, products is altered in place.
    assert "batch_alter_table" not in upgrade + downgrade
    assert upgrade.index("op.alter_column('products', 'qty'") < upgrade.index(
        "op.create_table('lines'"
    )
    assert upgrade.index("op.drop_index(op.f('ix_products_name')") < upgrade.index(
        "op.alter_column('products', 'qty'"
    )
    assert "op.execute('CREATE SEQUENCE IF NOT EXISTS lines_id_seq START WITH 100')" in upgrade
    assert "server_default=sa.text(\"nextval('lines_id_seq')\")" in upgrade
    assert downgrade.index("op.drop_table('lines')") < downgrade.index(
        "op.alter_column('products', 'qty'"
    )
    assert downgrade.index("op.alter_column('products', 'qty'") < downgrade.index(
        "op.create_index(op.f('ix_products_name')"
    )
    assert "op.execute('DROP SEQUENCE IF EXISTS lines_id_seq')" in downgrade

    migrations.upgrade()
    project.query(
        "INSERT INTO lines (product_id, quantity) SELECT id, 1 FROM products WHERE sku = 'TEA-01'"
    )
    assert project.query("SELECT id FROM lines") == [(100,)]
    assert project.migrations().check().ok

    migrations.downgrade("r1")
    assert project.tables() == ["alembic_version", "products"]
    assert project.query("SELECT sequence_name FROM duckdb_sequences()") == []
    assert project.query("SELECT index_name FROM duckdb_indexes()") == [("ix_products_name",)]


def test_changes_duckdb_cannot_make_are_refused_before_anything_runs(project: Project) -> None:
    migrations = _start(project, PRODUCTS_V1 + LINES)
    project.query(ROWS)
    project.write_mapping(
        PRODUCTS_V1.replace('sa.Column("qty", sa.Integer)', 'sa.Column("qty", sa.BigInteger)')
        + LINES
    )
    differences = project.migrations().check().differences
    assert differences[0].startswith(
        "! products: DuckDB cannot make these changes to table 'products' in place: alter "
        "column products.qty (table 'lines' references it with a FOREIGN KEY); nor can it "
        "rebuild the table"
    )
    migrations.revision("two", autogenerate=True, rev_id="r2")
    script = _script(project, "two")
    assert "from andamios.adapters.migrations import UnsupportedMigration" in script
    assert "    raise UnsupportedMigration(" in script
    assert "# The changes below are what the mapping asks for" in script

    with pytest.raises(UnsupportedMigration, match="DuckDB refuses to drop a table that others"):
        migrations.upgrade()
    assert migrations.current_revisions() == ("r1",)


def test_dropped_columns_of_duckdb_types_come_back_on_downgrade(project: Project) -> None:
    migrations = _start(project)
    project.query("ALTER TABLE products ADD COLUMN point STRUCT(x INTEGER, y INTEGER)")
    migrations.revision("two", autogenerate=True, rev_id="r2")
    script = _script(project, "two")
    assert "from andamios.adapters.duckdb import DuckDBType" in script
    assert "DuckDBType('STRUCT(x INTEGER, y INTEGER)')" in script

    migrations.upgrade()
    assert "point" not in project.columns("products")
    migrations.downgrade("r1")
    assert project.columns("products")[-1] == "point"


def test_tables_removed_from_the_mapping_are_dropped_first(project: Project) -> None:
    migrations = _start(project, PRODUCTS_V1 + LINES)
    project.write_mapping(PRODUCTS_V1.replace('    sa.Column("qty", sa.Integer),\n', ""))
    migrations.revision("two", autogenerate=True, rev_id="r2")
    upgrade = _script(project, "two").split("def downgrade")[0]
    assert upgrade.index("op.drop_table('lines')") < upgrade.index("batch_alter_table")

    migrations.upgrade()

    assert project.tables() == ["alembic_version", "products"]
    assert "qty" not in project.columns("products")


def test_a_foreign_key_on_an_existing_column_rebuilds_the_table(project: Project) -> None:
    loose = LINES.replace(', sa.ForeignKey("products.id")', "")
    migrations = _start(project, PRODUCTS_V1 + loose)
    project.query(ROWS)
    project.query("INSERT INTO lines SELECT nextval('lines_id_seq'), id, 3 FROM products")
    project.write_mapping(PRODUCTS_V1 + LINES)
    migrations.revision("two", autogenerate=True, rev_id="r2")
    script = _script(project, "two")
    assert "# DuckDB cannot add a FOREIGN KEY constraint to lines in place" in script
    assert "batch_op.create_foreign_key(" in script

    migrations.upgrade()

    assert project.migrations().check().ok
    assert project.query("SELECT count(*), min(id) FROM lines") == [(2, 100)]
    assert project.query(
        "SELECT referenced_table FROM duckdb_constraints() WHERE constraint_type = 'FOREIGN KEY'"
    ) == [("products",)]


APPLICATION_TYPES = """\
class Money(sa.types.UserDefinedType):
    cache_ok = True

    def get_col_spec(self, **kw):
        return "DECIMAL(12, 2)"


class Tags(sa.types.TypeDecorator):
    impl = sa.String(200)
    cache_ok = True


class Cents(sa.types.TypeDecorator):
    impl = Money()
    cache_ok = True


prices = sa.Table(
    "prices",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("amount", Money()),
    sa.Column("tags", Tags()),
    sa.Column("cents", Cents()),
)
"""


def test_application_types_render_so_the_migration_runs(project: Project) -> None:
    migrations = _start(project, APPLICATION_TYPES)
    script = _script(project, "one")
    # A type of the application's own: imported from its module.
    assert f"import {project.package}.orm" in script
    assert f"sa.Column('amount', {project.package}.orm.Money(), nullable=True)" in script
    # A TypeDecorator: the SQLAlchemy type it stores, so the migration outlives the class.
    assert "sa.Column('tags', sa.String(length=200), nullable=True)" in script
    # ... unless that type is the application's too.
    assert f"sa.Column('cents', {project.package}.orm.Cents(), nullable=True)" in script
    assert migrations.check().ok


CHILDREN = """\
from dataclasses import dataclass, field
from uuid import UUID

from andamios.adapters.sqlalchemy import Child
from andamios.domain import AggregateRoot, Entity


@dataclass(eq=False, kw_only=True)
class Line(Entity[UUID]):
    sku: str


@dataclass(eq=False, kw_only=True)
class Cart(AggregateRoot[UUID]):
    lines: list[Line] = field(default_factory=list)


carts = sa.Table(
    "carts",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)
cart_lines = sa.Table(
    "cart_lines",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("cart_id", sa.Uuid, sa.ForeignKey("carts.id"), nullable=False),
    sa.Column("sku", sa.String, nullable=False),
)
mapping.map(Cart, carts, children={"lines": Child(Line, cart_lines)})
"""


def test_a_child_tables_foreign_key_is_neither_written_nor_missed(project: Project) -> None:
    # ADR 0009: the foreign key of a child table defines the join but is not emitted on DuckDB,
    # where it would break the root's versioned UPDATE ... RETURNING.
    migrations = _start(project, CHILDREN)
    try:
        assert "ForeignKey" not in _script(project, "one")
        constraints = project.query(
            "SELECT constraint_type FROM duckdb_constraints() WHERE table_name = 'cart_lines'"
        )
        assert "FOREIGN KEY" not in {kind for (kind,) in constraints}
        result = migrations.check()
        assert result.ok, result.differences
    finally:
        module = sys.modules.get(f"{project.package}.orm")
        if module is not None:
            module.mapping.clear()


def test_a_root_with_children_changes_up_down_and_up_again(project: Project) -> None:
    # The child's foreign key is not created on DuckDB, so nothing references the root: its
    # changes are made in place both ways (the downgrade was refused as "table 'cart_lines'
    # references it with a FOREIGN KEY" while migrations judged the mapping, not DuckDB).
    migrations = _start(project, CHILDREN)
    try:
        project.query("INSERT INTO carts VALUES (uuid(), 1)")
        noted = CHILDREN.replace(
            "    lines: list[Line]", "    note: str | None = None\n    lines: list[Line]"
        ).replace(
            '    sa.Column("version", sa.Integer, nullable=False),\n)',
            '    sa.Column("version", sa.Integer, nullable=False),\n'
            '    sa.Column("note", sa.String),\n)',
        )
        sys.modules[f"{project.package}.orm"].mapping.clear()
        project.write_mapping(noted)
        migrations.revision("two", autogenerate=True, rev_id="r2")
        script = _script(project, "two")
        assert "op.add_column('carts', sa.Column('note', sa.String(), nullable=True))" in script
        assert "op.drop_column('carts', 'note')" in script
        assert "UnsupportedMigration" not in script
        assert "batch_alter_table" not in script
        migrations.upgrade()
        assert project.columns("carts") == ["id", "version", "note"]
        migrations.downgrade("-1")
        assert project.columns("carts") == ["id", "version"]
        migrations.upgrade()
        assert project.columns("carts") == ["id", "version", "note"]
        assert project.query("SELECT count(*) FROM carts") == [(1,)]
        result = migrations.check()
        assert result.ok, result.differences
    finally:
        module = sys.modules.get(f"{project.package}.orm")
        if module is not None:
            module.mapping.clear()
