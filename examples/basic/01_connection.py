"""Open DuckDB databases with Andamios: a file, ``:memory:``, settings, health and errors.

Run it with ``uv run python examples/basic/01_connection.py``.
The DuckDB version and the process ids vary, and long lines are cut (``...`` below).

It prints::

    file: shop.duckdb has 2 products (threads=2)
    health: ok=True duckdb=...
    memory: two connections see [1, 1] products
    ConfigurationError: 'sqlite:///shop.db' is not a DuckDB URL; expected duckdb+async:///...
    DatabaseLocked: held by PID ... (ours: ...)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

from andamios.adapters.duckdb import Database
from andamios.ports.errors import ConfigurationError, DatabaseLocked

metadata = sa.MetaData()
products = sa.Table(
    "products",
    metadata,
    sa.Column("sku", sa.String, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("price", sa.Numeric(12, 2), nullable=False),
)


async def file_database(path: Path) -> None:
    """A database file with explicit DuckDB settings."""
    async with Database(f"duckdb+async:///{path}", threads=2, memory_limit="512MB") as db:
        await db.create_all(metadata)
        async with db.engine.begin() as conn:
            await conn.execute(
                products.insert(),
                [
                    {"sku": "A-1", "name": "anchor", "price": 12},
                    {"sku": "B-2", "name": "buoy", "price": 7.5},
                ],
            )
        async with db.engine.connect() as conn:
            count = await conn.scalar(sa.select(sa.func.count()).select_from(products))
            threads = await conn.scalar(sa.text("SELECT current_setting('threads')"))
        print(f"file: {path.name} has {count} products (threads={threads})")
        health = await db.health_check()
        print(f"health: ok={health.ok} duckdb={health.duckdb_version}")


async def memory_database() -> None:
    """One in-memory database, shared by every connection of the Database."""
    async with Database("duckdb+async:///:memory:") as db:
        await db.create_all(metadata)
        async with db.engine.begin() as conn:
            await conn.execute(products.insert().values(sku="C-3", name="cleat", price=3))

        async def count() -> int:
            async with db.engine.connect() as conn:
                return int(await conn.scalar(sa.text("SELECT count(*) FROM products")) or 0)

        seen = await asyncio.gather(count(), count())
        print(f"memory: two connections see {list(seen)} products")


async def errors(path: Path) -> None:
    """Errors come from andamios.ports.errors, never from duckdb or sqlalchemy."""
    try:
        Database("sqlite:///shop.db")
    except ConfigurationError as error:
        print(f"ConfigurationError: {error}")

    # Another process opens the file for writing, and so holds its lock.
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
        "print('ready', flush=True); time.sleep(30)",
        str(path),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        await holder.stdout.readline()
        try:
            async with Database(f"duckdb+async:///{path}"):
                pass
        except DatabaseLocked as error:
            print(f"DatabaseLocked: held by PID {error.holder_pid} (ours: {holder.pid})")
    finally:
        holder.kill()
        await holder.wait()


async def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "shop.duckdb"
        await file_database(path)
        await memory_database()
        await errors(path)


if __name__ == "__main__":
    asyncio.run(main())
