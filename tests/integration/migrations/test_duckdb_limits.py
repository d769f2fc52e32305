"""What DuckDB 2.0 can and cannot change in an existing table: the facts the rules rest on.

Each case runs the real statement on a real database. If DuckDB lifts a limit, a test here
fails, and the rules (andamios.adapters.migrations._rules) can be relaxed.
"""

from __future__ import annotations

import duckdb
import pytest
import sqlalchemy as sa

from andamios.adapters.duckdb import Database
from andamios.adapters.migrations._rules import TableShape, judge

PLAIN = [
    "CREATE TABLE p (id UUID PRIMARY KEY, sku VARCHAR NOT NULL UNIQUE, name VARCHAR, qty INTEGER)"
]
INDEXED = [*PLAIN, "CREATE INDEX ix_p_name ON p (name)"]
REFERENCED = [*PLAIN, "CREATE TABLE l (id UUID PRIMARY KEY, pid UUID REFERENCES p (id))"]
ROWS = "INSERT INTO p VALUES (uuid(), 'a', 'A', 1), (uuid(), 'b', NULL, 2)"

DEPENDENCY = 'Dependency Error: Cannot alter entry "p" because there are entries that depend on it.'


def _run(setup: list[str], statement: str) -> str | None:
    """DuckDB's error for ``statement`` (first line), ``None`` if it ran."""
    with duckdb.connect(":memory:") as conn:
        for each in [*setup, ROWS]:
            conn.execute(each)
        try:
            conn.execute(statement)
        except duckdb.Error as error:
            return str(error).splitlines()[0]
    return None


@pytest.mark.parametrize(
    ("setup", "statement", "error"),
    [
        (PLAIN, "ALTER TABLE p ALTER COLUMN qty TYPE BIGINT", None),
        (PLAIN, "ALTER TABLE p ALTER COLUMN qty SET NOT NULL", None),
        (PLAIN, "ALTER TABLE p ADD CONSTRAINT u UNIQUE (name)", None),
        (PLAIN, "ALTER TABLE p DROP COLUMN qty", None),
        (PLAIN, "ALTER TABLE p ADD COLUMN c INTEGER NOT NULL DEFAULT 0", None),
        (INDEXED, "ALTER TABLE p ALTER COLUMN qty TYPE BIGINT", DEPENDENCY),
        (INDEXED, "ALTER TABLE p ALTER COLUMN qty SET NOT NULL", DEPENDENCY),
        (INDEXED, "ALTER TABLE p ADD CONSTRAINT u UNIQUE (name)", DEPENDENCY),
        (INDEXED, "ALTER TABLE p DROP COLUMN qty", DEPENDENCY),
        (INDEXED, "ALTER TABLE p ADD COLUMN c INTEGER NOT NULL DEFAULT 0", DEPENDENCY),
        (INDEXED, "ALTER TABLE p ADD COLUMN c INTEGER DEFAULT 0", None),
        (INDEXED, "ALTER TABLE p ALTER COLUMN name SET DEFAULT 'x'", None),
        (REFERENCED, "ALTER TABLE p ALTER COLUMN qty TYPE BIGINT", DEPENDENCY),
        (
            REFERENCED,
            "DROP TABLE p",
            "Catalog Error: Could not drop the table because this table is main key table of "
            'the table "l"',
        ),
        (
            PLAIN,
            "ALTER TABLE p ADD CONSTRAINT c CHECK (qty > 0)",
            "Not implemented Error: No support for adding CHECK constraints with ALTER TABLE",
        ),
        (
            PLAIN,
            "ALTER TABLE p ADD COLUMN o UUID REFERENCES p (id)",
            "Parser Error: Adding columns with FOREIGN KEY constraints is not supported yet",
        ),
        (
            PLAIN,
            "ALTER TABLE p DROP CONSTRAINT p_sku_key",
            "Not implemented Error: No support for that ALTER TABLE option yet!",
        ),
        (
            PLAIN,
            "ALTER TABLE p ALTER COLUMN sku TYPE TEXT",
            "Binder Error: Cannot change the type of a column that has a UNIQUE or PRIMARY KEY "
            "constraint specified",
        ),
        (
            PLAIN,
            "ALTER TABLE p DROP COLUMN sku",
            'Catalog Error: Cannot drop column "sku" because there is a UNIQUE constraint that '
            "depends on it",
        ),
    ],
)
def test_what_duckdb_alters_in_place(setup: list[str], statement: str, error: str | None) -> None:
    assert _run(setup, statement) == error


def test_the_rules_follow_duckdb() -> None:
    plain = TableShape("p", key_columns=frozenset({"id", "sku"}))
    indexed = TableShape("p", indexes=("ix_p_name",), key_columns=frozenset({"id", "sku"}))
    referenced = TableShape("p", referenced_by=("l",))
    column = sa.Column("c", sa.Integer, nullable=False, server_default="0")

    assert judge(plain, "alter_column", column="qty", type_changed=True).in_place
    assert judge(plain, "add_constraint", constraint=sa.UniqueConstraint("name")).in_place
    assert judge(plain, "add_column", new_column=column).in_place
    assert not judge(indexed, "alter_column", column="qty").in_place
    assert not judge(indexed, "add_column", new_column=column).in_place
    assert judge(indexed, "add_column", new_column=sa.Column("c", sa.Integer)).in_place
    assert judge(indexed, "alter_column", column="name", structural=False).in_place
    assert judge(indexed, "create_index").in_place
    assert not judge(referenced, "alter_column", column="qty").possible
    assert not judge(plain, "add_constraint", constraint=sa.CheckConstraint("qty > 0")).in_place
    assert not judge(plain, "drop_constraint").in_place
    assert not judge(plain, "alter_column", column="sku", type_changed=True).in_place
    assert not judge(plain, "drop_column", column="sku").in_place
    assert judge(plain, "drop_column", column="qty").in_place
    other = judge(plain, "add_constraint", constraint=sa.Constraint(name="x"))
    assert other.why == (
        "DuckDB cannot add a new constraint to p in place: an existing table gets no new "
        "constraint but UNIQUE"
    )


def test_shapes_follow_references_and_indexes() -> None:
    shape = TableShape("p")
    assert shape.referenced("l").referenced("l").referenced_by == ("l",)
    assert shape.referenced("l").unreferenced_by("l") == shape
    assert shape.unreferenced_by("l") is shape


async def test_shapes_are_read_from_the_database() -> None:
    async with Database("duckdb+async:///:memory:") as db, db.engine.begin() as conn:
        for statement in [
            *INDEXED,
            "CREATE TABLE l (id UUID PRIMARY KEY, pid UUID REFERENCES p (id))",
        ]:
            await conn.exec_driver_sql(statement)
        await conn.exec_driver_sql(
            "CREATE TABLE s (id INTEGER PRIMARY KEY, up INTEGER REFERENCES s (id))"
        )
        shapes = await conn.run_sync(lambda c: TableShape.read_all(sa.inspect(c)))
        missing = await conn.run_sync(lambda c: TableShape.read(sa.inspect(c), "missing"))
    assert shapes == {
        "p": TableShape(
            "p",
            indexes=("ix_p_name",),
            key_columns=frozenset({"id", "sku"}),
            referenced_by=("l",),
        ),
        "l": TableShape("l", key_columns=frozenset({"id"}), foreign_key_columns=frozenset({"pid"})),
        # A table's key to itself does not lock it against itself.
        "s": TableShape("s", key_columns=frozenset({"id"}), foreign_key_columns=frozenset({"up"})),
    }
    assert missing == TableShape("missing")
