"""The in-memory adapter under the shipped port contracts."""

from __future__ import annotations

import pytest

from andamios.adapters.memory import InMemoryUnitOfWork
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


class TestMemoryHooks(HooksContract):
    @pytest.fixture
    def system(self) -> str:
        return "memory"

    @pytest.fixture
    def new_uow(
        self, hooks: Hooks, vetoing: Hooks, broken: Hooks
    ) -> UnitOfWorkFactory[ContractUnitOfWork]:
        return InMemoryUnitOfWork.factory(ContractUnitOfWork, hooks=[hooks, vetoing, broken])
