"""On a driver that counts no batch (asyncpg), each versioned DELETE is checked as it runs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError
from tests._postgresql import schema_database

from andamios.adapters.sqlalchemy._versioned_deletes import VERSION_MARK, watch_versioned_deletes


def _tables() -> tuple[sa.MetaData, sa.Table, sa.Table]:
    metadata = sa.MetaData()
    versioned = sa.Table(
        "versioned",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("version", sa.Integer, nullable=False, info={VERSION_MARK: True}),
    )
    plain = sa.Table(
        "plain", metadata, sa.Column("id", sa.Integer, primary_key=True, autoincrement=False)
    )
    return metadata, versioned, plain


async def test_a_versioned_delete_that_matches_nothing_is_stale() -> None:
    metadata, versioned, plain = _tables()
    async with schema_database(metadata) as database:
        watch_versioned_deletes(database.engine)
        watch_versioned_deletes(database.engine)  # once per engine
        async with database.engine.begin() as connection:
            await connection.execute(sa.insert(versioned).values(id=1, version=1))
            # Not versioned, or matching its row: nothing to say.
            await connection.execute(sa.delete(plain).where(plain.c.id == 7))
            await connection.execute(
                sa.delete(versioned).where(versioned.c.id == 1, versioned.c.version == 1)
            )
        async with database.engine.begin() as connection:
            with pytest.raises(StaleDataError, match="expected to delete 1 row"):
                await connection.execute(
                    sa.delete(versioned).where(versioned.c.id == 1, versioned.c.version == 1)
                )
