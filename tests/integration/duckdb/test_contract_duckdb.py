"""The SQLAlchemy adapter on DuckDB (a file and an in-memory database) under the port contracts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.integration.duckdb._contract_mapping import (
    DATABASE_KINDS,
    contract_mapping,
    open_database,
)

from andamios.adapters.sqlalchemy import SqlAlchemyUnitOfWork
from andamios.ports import Hooks, UnitOfWorkFactory
from andamios.testing import (
    AuditContract,
    BulkContract,
    ChildrenContract,
    FakeClock,
    HooksContract,
    ReadModelContract,
    RepositoryContract,
    UnitOfWorkContract,
)
from andamios.testing.models import ContractUnitOfWork


@pytest.fixture(params=DATABASE_KINDS)
async def duckdb_uow(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[UnitOfWorkFactory[ContractUnitOfWork]]:
    with contract_mapping() as mapping:
        async with open_database(request.param, tmp_path, mapping) as database:
            yield SqlAlchemyUnitOfWork.factory(
                ContractUnitOfWork, database=database, mapping=mapping
            )


class TestDuckDBRepository(RepositoryContract):
    @pytest.fixture
    def new_uow(
        self, duckdb_uow: UnitOfWorkFactory[ContractUnitOfWork]
    ) -> UnitOfWorkFactory[ContractUnitOfWork]:
        return duckdb_uow


class TestDuckDBUnitOfWork(UnitOfWorkContract):
    @pytest.fixture
    def new_uow(
        self, duckdb_uow: UnitOfWorkFactory[ContractUnitOfWork]
    ) -> UnitOfWorkFactory[ContractUnitOfWork]:
        return duckdb_uow


class TestDuckDBBulk(BulkContract):
    @pytest.fixture
    def new_uow(
        self, duckdb_uow: UnitOfWorkFactory[ContractUnitOfWork]
    ) -> UnitOfWorkFactory[ContractUnitOfWork]:
        return duckdb_uow


class TestDuckDBAudit(AuditContract):
    @pytest.fixture(params=DATABASE_KINDS)
    async def new_uow(
        self, request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
    ) -> AsyncIterator[UnitOfWorkFactory[ContractUnitOfWork]]:
        with contract_mapping() as mapping:
            async with open_database(request.param, tmp_path, mapping) as database:
                yield SqlAlchemyUnitOfWork.factory(
                    ContractUnitOfWork, database=database, mapping=mapping, clock=clock
                )


class TestDuckDBChildren(ChildrenContract):
    @pytest.fixture
    def new_uow(
        self, duckdb_uow: UnitOfWorkFactory[ContractUnitOfWork]
    ) -> UnitOfWorkFactory[ContractUnitOfWork]:
        return duckdb_uow


class TestDuckDBReadModel(ReadModelContract):
    @pytest.fixture
    def new_uow(
        self, duckdb_uow: UnitOfWorkFactory[ContractUnitOfWork]
    ) -> UnitOfWorkFactory[ContractUnitOfWork]:
        return duckdb_uow


class TestDuckDBHooks(HooksContract):
    @pytest.fixture(params=DATABASE_KINDS)
    def kind(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    @pytest.fixture
    def system(self, kind: str) -> str:
        return "postgresql" if kind == "postgresql" else "duckdb"

    @pytest.fixture
    async def new_uow(
        self, kind: str, tmp_path: Path, hooks: Hooks, vetoing: Hooks, broken: Hooks
    ) -> AsyncIterator[UnitOfWorkFactory[ContractUnitOfWork]]:
        with contract_mapping() as mapping:
            async with open_database(kind, tmp_path, mapping) as database:
                yield SqlAlchemyUnitOfWork.factory(
                    ContractUnitOfWork,
                    database=database,
                    mapping=mapping,
                    hooks=[hooks, vetoing, broken],
                )
