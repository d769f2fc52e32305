"""DuckDB without the ``bulk`` extra: no pyarrow, so bulk writes go through the ORM, same results.

pyarrow is hidden with ``sys.modules["pyarrow"] = None`` (an import then fails as if it were not
installed); the cached lookup is cleared before and after, so no other test sees it missing.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.integration.duckdb._contract_mapping import contract_mapping, open_database

from andamios.adapters.duckdb._staging import ArrowStager, arrow
from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork
from andamios.adapters.sqlalchemy._bulk import BULK_THRESHOLD
from andamios.domain import F
from andamios.ports import UnitOfWorkFactory
from andamios.ports.errors import DuplicateError
from andamios.testing import BulkContract
from andamios.testing.models import ContractUnitOfWork, Gadget

pytestmark = pytest.mark.usefixtures("no_pyarrow")

_LOGGER = "andamios.adapters.duckdb"


@pytest.fixture
def no_pyarrow(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    arrow.cache_clear()
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    yield
    arrow.cache_clear()


@pytest.fixture
async def statements(tmp_path: Path) -> AsyncIterator[tuple[UnitOfWorkFactory[Any], list[str]]]:
    with contract_mapping() as mapping:
        async with open_database("file", tmp_path, mapping) as database:
            seen: list[str] = []

            def record(*args: Any) -> None:
                seen.append(args[2])

            sa.event.listen(database.engine.sync_engine, "before_cursor_execute", record)
            yield (
                SqlAlchemyUnitOfWork.factory(
                    ContractUnitOfWork, database=database, mapping=mapping
                ),
                seen,
            )


class TestDuckDBBulkWithoutPyarrow(BulkContract):
    """Every promise of the bulk contract holds when the ORM writes the rows, but one: when."""

    @pytest.fixture
    def new_uow(
        self, statements: tuple[UnitOfWorkFactory[ContractUnitOfWork], list[str]]
    ) -> UnitOfWorkFactory[ContractUnitOfWork]:
        return statements[0]

    async def test_a_bulk_add_of_a_stored_id_raises_duplicate_error_and_stores_nothing(
        self, new_uow: UnitOfWorkFactory[ContractUnitOfWork]
    ) -> None:
        # The ORM writes at the next flush, as for add(): the DuplicateError comes from
        # add_many() on the Arrow path, from commit() here (ADR 0013). Nothing is stored.
        batch = [Gadget(sku=f"K-{n:04}", name="bulk", price=Decimal(n)) for n in range(120)]
        async with new_uow() as uow:
            async with new_uow() as other:
                stored = Gadget(sku="S", name="stored", price=Decimal(1))
                await other.gadgets.add(stored)
                await other.commit()
            batch[60] = Gadget(id=stored.id, sku="X", name="x", price=Decimal(1))
            await uow.gadgets.add_many(batch)
            with pytest.raises(DuplicateError):
                await uow.commit()
        async with new_uow() as uow:
            assert await uow.gadgets.count() == 1


def test_the_stager_converts_nothing_and_says_once_what_to_install(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stager = ArrowStager()
    column = sa.Column("n", sa.BigInteger)
    dialect = sa.create_engine("duckdb+async:///:memory:").dialect
    with caplog.at_level(logging.WARNING, logger=_LOGGER):
        assert stager.converter(column, dialect) is None
        assert stager.converter(column, dialect) is None
    [record] = [r for r in caplog.records if r.name == _LOGGER]
    assert "pip install 'andamios[bulk]'" in record.getMessage()
    assert "same results" in record.getMessage()


async def test_add_many_writes_every_row_through_the_orm(
    statements: tuple[UnitOfWorkFactory[ContractUnitOfWork], list[str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    new_uow, seen = statements
    count = BULK_THRESHOLD * 3
    with caplog.at_level(logging.WARNING, logger=_LOGGER):
        async with new_uow() as uow:
            await uow.gadgets.add_many(
                Gadget(sku=f"G{n:04}", name="many", price=Decimal(n)) for n in range(count)
            )
            await uow.commit()
    assert any(s.startswith("INSERT INTO gadgets") for s in seen)  # the ORM's, not Arrow's
    assert not any("andamios_staged" in s for s in seen)
    async with new_uow() as uow:
        stored = await uow.gadgets.find(F("name") == "many", order_by=F("sku"))
    assert [g.price for g in stored] == [Decimal(n) for n in range(count)]
    assert [r.name for r in caplog.records].count(_LOGGER) == 1
