"""The in-memory adapter under the shipped port contracts."""

from __future__ import annotations

import pytest

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.ports import UnitOfWorkFactory
from andamios.testing import (
    AuditContract,
    BulkContract,
    ChildrenContract,
    FakeClock,
    ReadModelContract,
    RepositoryContract,
    UnitOfWorkContract,
)
from andamios.testing.models import ContractUnitOfWork


class TestMemoryRepository(RepositoryContract):
    @pytest.fixture
    def new_uow(self) -> UnitOfWorkFactory[ContractUnitOfWork]:
        return InMemoryUnitOfWork.factory(ContractUnitOfWork)


class TestMemoryUnitOfWork(UnitOfWorkContract):
    @pytest.fixture
    def new_uow(self) -> UnitOfWorkFactory[ContractUnitOfWork]:
        return InMemoryUnitOfWork.factory(ContractUnitOfWork)


class TestMemoryBulk(BulkContract):
    @pytest.fixture
    def new_uow(self) -> UnitOfWorkFactory[ContractUnitOfWork]:
        return InMemoryUnitOfWork.factory(ContractUnitOfWork)


class TestMemoryAudit(AuditContract):
    @pytest.fixture
    def new_uow(self, clock: FakeClock) -> UnitOfWorkFactory[ContractUnitOfWork]:
        return InMemoryUnitOfWork.factory(ContractUnitOfWork, clock=clock)


class TestMemoryChildren(ChildrenContract):
    @pytest.fixture
    def new_uow(self) -> UnitOfWorkFactory[ContractUnitOfWork]:
        return InMemoryUnitOfWork.factory(ContractUnitOfWork)


class TestMemoryReadModel(ReadModelContract):
    @pytest.fixture
    def new_uow(self) -> UnitOfWorkFactory[ContractUnitOfWork]:
        return InMemoryUnitOfWork.factory(ContractUnitOfWork)
