"""Migrations on PostgreSQL: autogenerate with PostgreSQL's reflection, Alembic's own operations.

Each test has a schema of its own on the test server (``database.schema``), dropped afterwards.
The mapping has what an application maps: an aggregate root with children (whose foreign key
PostgreSQL does get, unlike DuckDB), a value object in a JSON column, a decimal, an aware
timestamp, bounded strings and an index.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from tests.integration.migrations._postgresql import fresh_schema, query, server_url
from tests.integration.migrations._project import Project

from andamios.adapters.migrations import MigrationError, Migrations
from andamios.ports.errors import ConfigurationError

SHOP = """\
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from andamios.adapters.sqlalchemy import Child, JsonValue
from andamios.domain import AggregateRoot, Entity


@dataclass(frozen=True)
class Address:
    street: str
    city: str


@dataclass(eq=False, kw_only=True)
class Line(Entity[UUID]):
    sku: str
    quantity: int


@dataclass(eq=False, kw_only=True)
class Order(AggregateRoot[UUID]):
    customer: str
    total: Decimal
    placed_at: datetime
    ship_to: Address | None = None
    {note_field}
    lines: list[Line] = field(default_factory=list)


orders = sa.Table(
    "orders",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("customer", sa.String({customer_length}), nullable=False),
    sa.Column("total", sa.Numeric(12, 2), nullable=False),
    sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ship_to", JsonValue(Address)),
    {note_column}
    sa.Index("ix_orders_customer", "customer"),
)
order_lines = sa.Table(
    "order_lines",
    mapping.metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("order_id", sa.Uuid, sa.ForeignKey("orders.id"), nullable=False),
    sa.Column("sku", sa.String(20), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
)
mapping.map(Order, orders, children={{"lines": Child(Line, order_lines)}})
"""
FIRST = SHOP.format(note_field="", note_column="", customer_length=80)
# The second version: a column more on the root, and a longer (indexed) column.
SECOND = SHOP.format(
    note_field="note: str | None = None",
    note_column='sa.Column("note", sa.String(200)),',
    customer_length=120,
)


@dataclass
class Server:
    """A project whose database is a fresh schema on the test server."""

    project: Project
    url: str
    schema: str

    def write_mapping(self, tables: str) -> None:
        """(Re)write the project's mapping, forgetting the classes the last one mapped."""
        _forget_mapping(self.project)
        self.project.write_mapping(tables)

    def migrations(self) -> Migrations:
        """The project's migrations, on the schema."""
        return self.project.migrations(database_url=self.url, database_schema=self.schema)

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of ``sql``, run in the schema."""
        return query(self.url, sql, schema=self.schema)

    def tables(self) -> list[str]:
        """The tables of the schema, sorted."""
        return sorted(
            name
            for (name,) in self.query(
                "SELECT table_name FROM information_schema.tables "
                f"WHERE table_schema = '{self.schema}'"
            )
        )

    def columns(self, table: str) -> dict[str, tuple[Any, ...]]:
        """Each column of ``table``: (type, length, precision, scale, nullable)."""
        rows = self.query(
            "SELECT column_name, data_type, character_maximum_length, numeric_precision, "
            "numeric_scale, is_nullable FROM information_schema.columns "
            f"WHERE table_schema = '{self.schema}' AND table_name = '{table}'"
        )
        return {name: tuple(rest) for name, *rest in rows}

    def constraints(self, table: str) -> list[str]:
        """The kinds of ``table``'s constraints, sorted."""
        rows = self.query(
            "SELECT constraint_type FROM information_schema.table_constraints "
            f"WHERE table_schema = '{self.schema}' AND table_name = '{table}'"
        )
        return sorted(kind for (kind,) in rows if kind != "CHECK")  # NOT NULL shows as CHECK


def _forget_mapping(project: Project) -> None:
    module = sys.modules.get(f"{project.package}.orm")
    if module is not None:
        module.mapping.clear()


@pytest.fixture
def server(project: Project) -> Iterator[Server]:
    url = server_url()
    with fresh_schema(url) as schema:
        made = Server(project, url, schema)
        try:
            yield made
        finally:
            _forget_mapping(project)


def test_a_mapping_is_migrated_checked_and_downgraded(server: Server) -> None:
    server.write_mapping(FIRST)
    migrations = server.migrations()
    migrations.init()
    script = migrations.revision("create the shop", autogenerate=True, rev_id="p1").read_text()
    # PostgreSQL gets the child's foreign key, and Alembic's own operations.
    assert "sa.ForeignKeyConstraint(['order_id'], ['orders.id'], )" in script
    assert "sa.Column('ship_to', sa.JSON(none_as_null=True), nullable=True)" in script
    assert "sa.Column('total', sa.Numeric(precision=12, scale=2), nullable=False)" in script
    assert "sa.Column('placed_at', sa.DateTime(timezone=True), nullable=False)" in script
    assert "sa.Column('customer', sa.String(length=80), nullable=False)" in script
    assert "UnsupportedMigration" not in script
    assert "nextval" not in script

    migrations.upgrade()
    assert server.tables() == ["alembic_version", "order_lines", "orders"]
    assert server.constraints("order_lines") == ["FOREIGN KEY", "PRIMARY KEY"]
    assert server.columns("orders") == {
        "id": ("uuid", None, None, None, "NO"),
        "version": ("integer", None, 32, 0, "NO"),
        "customer": ("character varying", 80, None, None, "NO"),
        "total": ("numeric", None, 12, 2, "NO"),
        "placed_at": ("timestamp with time zone", None, None, None, "NO"),
        "ship_to": ("json", None, None, None, "YES"),
    }
    assert server.query("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'ix_%'") == [
        ("ix_orders_customer",)
    ]
    assert migrations.current_revisions() == ("p1",)
    result = migrations.check()
    assert result.ok, result.differences
    # Nothing went to the public schema.
    assert query(
        server.url,
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' "
        "AND table_name IN ('orders', 'order_lines', 'alembic_version')",
    ) == [(0,)]

    migrations.downgrade("base")
    assert server.tables() == ["alembic_version"]
    assert migrations.current_revisions() == ()


def test_changes_to_a_root_with_children_go_up_down_and_up_again(server: Server) -> None:
    server.write_mapping(FIRST)
    migrations = server.migrations()
    migrations.init()
    migrations.revision("create the shop", autogenerate=True, rev_id="p1")
    migrations.upgrade()
    server.query("INSERT INTO orders VALUES (gen_random_uuid(), 1, 'ada', 9.5, now(), NULL)")

    server.write_mapping(SECOND)
    assert sorted(migrations.check().differences) == [
        "+ column orders.note VARCHAR(200) NULL",
        "~ type of orders.customer: VARCHAR(80) -> VARCHAR(120)",
    ]
    script = migrations.revision("note and longer names", autogenerate=True, rev_id="p2")
    text = script.read_text()
    # Alembic's operations as they are: no DuckDB rebuild, no refusal, although the root is
    # indexed and referenced by its children.
    assert "op.add_column('orders', sa.Column('note', sa.String(length=200)" in text
    assert "op.drop_column('orders', 'note')" in text
    assert "op.alter_column('orders', 'customer'" in text
    assert "batch_alter_table" not in text
    assert "UnsupportedMigration" not in text

    migrations.upgrade()
    assert server.columns("orders")["customer"][1] == 120
    assert migrations.check().ok
    migrations.downgrade("-1")
    assert "note" not in server.columns("orders")
    assert server.columns("orders")["customer"][1] == 80
    assert migrations.current_revisions() == ("p1",)
    migrations.upgrade()
    assert "note" in server.columns("orders")
    assert server.query("SELECT customer FROM orders") == [("ada",)]
    result = migrations.check()
    assert result.ok, result.differences


def test_reset_drops_the_schemas_tables_and_migrates_anew(server: Server) -> None:
    server.write_mapping(FIRST)
    migrations = server.migrations()
    migrations.init()
    migrations.revision("create the shop", autogenerate=True)
    migrations.upgrade()
    server.query("INSERT INTO orders VALUES (gen_random_uuid(), 1, 'ada', 9.5, now(), NULL)")
    server.query("CREATE SEQUENCE leftover")
    migrations.reset()
    assert server.query("SELECT count(*) FROM orders") == [(0,)]
    sequences = "SELECT count(*) FROM information_schema.sequences WHERE sequence_schema = '{}'"
    assert server.query(sequences.format(server.schema)) == [(0,)]
    assert migrations.check().ok


def test_a_schema_that_does_not_exist_is_a_setting_to_fix(server: Server) -> None:
    server.write_mapping(FIRST)
    migrations = server.project.migrations(database_url=server.url, database_schema="nowhere")
    migrations.init()
    with pytest.raises(ConfigurationError, match="nowhere"):
        migrations.current_revisions()


def test_a_not_null_column_without_a_default_stops_the_upgrade_here_too(server: Server) -> None:
    server.write_mapping(FIRST)
    migrations = server.migrations()
    migrations.init()
    migrations.revision("create the shop", autogenerate=True, rev_id="p1")
    migrations.upgrade()
    server.query("INSERT INTO orders VALUES (gen_random_uuid(), 1, 'ada', 9.5, now(), NULL)")
    server.write_mapping(
        SHOP.format(
            note_field="priority: int = 0",
            note_column='sa.Column("priority", sa.Integer, nullable=False),',
            customer_length=80,
        )
    )
    script = migrations.revision("priority", autogenerate=True, rev_id="p2").read_text()
    assert "raise MigrationError('orders.priority is NOT NULL without a server_default" in script
    with pytest.raises(MigrationError, match=r"orders\.priority is NOT NULL"):
        migrations.upgrade()
    assert "priority" not in server.columns("orders")
    assert migrations.current_revisions() == ("p1",)
