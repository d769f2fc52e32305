"""Migrations on DuckDB: a mapping that evolves, and the migrations that follow it.

What ``andamios db`` does from the command line, done from Python with
:class:`~andamios.adapters.migrations.Migrations`: autogenerate a revision from the mapping,
upgrade, change the mapping, let ``check`` find the difference, migrate again with the rows
kept, watch DuckDB's limits handled (a table rebuild), and a failing migration rolled back.
Run it with ``uv run python examples/intermediate/04_migrations.py`` (a temporary directory).
Alembic's ``Generating .../versions/....py ...  done`` lines (temporary paths) are left out
below, and ``...`` stands for the rest of a long line.

It prints::

    v1: the database is at ('v1',)
    check against v2: + column products.stock INTEGER NOT NULL; + index ix_products_name ...
    v2 upgrade: op.add_column('products', sa.Column('stock', sa.Integer(), server_default='0', ...
    rows kept across the new column: [('POT-01', 0), ('TEA-01', 0)]
    v3 upgrade: # DuckDB cannot alter column products.name in place: it has an index ...
    rebuilt with 2 rows; check: ok
    failed: Invalid Input Error: no colors today
    rolled back: still at ('v3',), columns ['id', 'sku', 'name', 'price', 'stock']
    downgraded to base: [('alembic_version',)]
"""

from __future__ import annotations

import asyncio
import io
import tempfile
from pathlib import Path

import sqlalchemy as sa

from andamios.adapters.duckdb import Database
from andamios.adapters.migrations import Migrations, load_settings


def products_table(metadata: sa.MetaData, version: int) -> sa.Table:
    """The products table as the mapping describes it in each version of the application."""
    columns: list[sa.schema.SchemaItem] = [
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("sku", sa.String, nullable=False, unique=True),
        sa.Column("name", sa.String, nullable=version < 3),
        sa.Column("price", sa.Numeric(12, 2), nullable=False),
    ]
    if version >= 2:
        columns += [
            sa.Column("stock", sa.Integer, nullable=False, server_default="0"),
            sa.Index("ix_products_name", "name"),
        ]
    return sa.Table("products", metadata, *columns)


# Three versions of the application's mapping (usually: one module, edited over time).
v1, v2, v3 = sa.MetaData(), sa.MetaData(), sa.MetaData()
for number, metadata in enumerate((v1, v2, v3), start=1):
    products_table(metadata, number)


# --8<-- [start:from-python]
def migrations_for(folder: Path, version: str) -> Migrations:
    # As [tool.andamios] in pyproject.toml would say (mapping = "package.module:attribute").
    settings = load_settings(
        cwd=folder,
        database_url=f"duckdb+async:///{folder / 'shop.duckdb'}",
        mapping=f"__main__:{version}",
        migrations=folder / "migrations",
    )
    return Migrations(settings, stdout=io.StringIO())  # Alembic's own messages: not shown


# --8<-- [end:from-python]


async def sql(folder: Path, statement: str) -> list[tuple[object, ...]]:
    async with (
        Database(f"duckdb+async:///{folder / 'shop.duckdb'}") as db,
        db.engine.begin() as conn,
    ):
        result = await conn.execute(sa.text(statement))
        return [tuple(row) for row in result] if result.returns_rows else []


def body(script: Path, function: str) -> list[str]:
    """The commands of a revision's ``upgrade()`` or ``downgrade()``."""
    text = script.read_text().split(f"def {function}() -> None:")[1].split("\n\n\n")[0]
    return [line.strip() for line in text.splitlines()[2:] if "###" not in line]


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        migrations = migrations_for(folder, "v1")
        migrations.init()
        migrations.revision("create products", autogenerate=True, rev_id="v1")
        migrations.upgrade()
        print(f"v1: the database is at {migrations.current_revisions()}")
        asyncio.run(
            sql(
                folder,
                "INSERT INTO products VALUES (uuid(), 'TEA-01', 'Green tea', 4.50), "
                "(uuid(), 'POT-01', 'Teapot', 32.00)",
            )
        )

        # v2 adds a column with a default, and an index.
        migrations = migrations_for(folder, "v2")
        print("check against v2:", "; ".join(migrations.check().differences))
        second = migrations.revision("add stock", autogenerate=True, rev_id="v2")
        print("v2 upgrade:", " / ".join(body(second, "upgrade")))
        migrations.upgrade()
        rows = asyncio.run(sql(folder, "SELECT sku, stock FROM products ORDER BY sku"))
        print(f"rows kept across the new column: {rows}")

        # v3 makes name NOT NULL: DuckDB cannot alter an indexed table, so the table is rebuilt.
        migrations = migrations_for(folder, "v3")
        third = migrations.revision("name required", autogenerate=True, rev_id="v3")
        print("v3 upgrade:", body(third, "upgrade")[0])
        migrations.upgrade()
        count = asyncio.run(sql(folder, "SELECT count(*) FROM products"))[0][0]
        print(f"rebuilt with {count} rows; check: {'ok' if migrations.check().ok else 'differs'}")

        # A migration that fails is rolled back entirely: the database stays where it was.
        broken = migrations.revision("broken", rev_id="v4")
        broken.write_text(
            broken.read_text().replace(
                '    """Upgrade the schema."""\n    pass',
                '    """Upgrade the schema."""\n'
                '    op.add_column("products", sa.Column("color", sa.String))\n'
                "    op.execute(\"SELECT error('no colors today')\")",
            )
        )
        try:
            migrations.upgrade()
        except sa.exc.DBAPIError as error:
            print(f"failed: {str(error.orig).splitlines()[0]}")
        columns = asyncio.run(sql(folder, "SELECT column_name FROM (DESCRIBE products)"))
        names = [name for (name,) in columns]
        print(f"rolled back: still at {migrations.current_revisions()}, columns {names}")

        migrations.downgrade("base")
        tables = asyncio.run(sql(folder, "SELECT table_name FROM duckdb_tables()"))
        print(f"downgraded to base: {tables}")


if __name__ == "__main__":
    main()
