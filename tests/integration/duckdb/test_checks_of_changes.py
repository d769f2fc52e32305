"""A flush checks what the unit of work gave a changed aggregate, not what it read and kept.

DuckDB does not enforce a ``VARCHAR(n)`` length: another writer can store a value that the
fields' rules refuse. Changing another field of that aggregate still saves (the flush writes
only the changed columns); assigning the refused value, or another one, is refused.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.integration.duckdb._contract_mapping import contract_mapping, open_database

from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork
from andamios.ports.errors import DataError
from andamios.testing.models import ContractUnitOfWork, Dimensions, Shipment

TOO_LONG = "C-0123456789abcdef"  # MaxLength(12) refuses it


@pytest.mark.parametrize("kind", ["memory", "file"])
async def test_a_stored_value_the_rules_refuse_does_not_block_a_change_of_another_field(
    tmp_path: Path, kind: str
) -> None:
    with contract_mapping() as mapping:
        async with open_database(kind, tmp_path, mapping) as database:
            new_uow = SqlAlchemyUnitOfWork.factory(
                ContractUnitOfWork, database=database, mapping=mapping
            )
            shipment = Shipment(code="C-1", amount=Decimal("1.00"))
            async with new_uow() as uow:
                await uow.repository(Shipment).add(shipment)
                await uow.commit()
            async with database.engine.begin() as connection:  # past the rules
                await connection.execute(sa.text(f"UPDATE shipments SET code = '{TOO_LONG}'"))
            async with new_uow() as uow:
                held = await uow.repository(Shipment).get(shipment.id)
                held.fragile = True  # a plain value
                await uow.commit()
                held.size = Dimensions(width_cm=3, height_cm=4)  # one the full check reads
                await uow.commit()
                held.code = TOO_LONG + "!"
                with pytest.raises(DataError, match="code"):
                    await uow.commit()
            async with new_uow() as uow:
                stored = await uow.repository(Shipment).get(shipment.id)
                assert (stored.code, stored.fragile, stored.size, stored.version) == (
                    TOO_LONG,
                    True,
                    Dimensions(width_cm=3, height_cm=4),
                    3,
                )
