"""Test support shipped with Andamios: the port contract suites and the tools tests use.

What is here:

- One contract suite per port concern: :class:`RepositoryContract` (add, get, remove, queries,
  pages, streams), :class:`UnitOfWorkContract` (transactions, isolation, versions, concurrency,
  events), :class:`BulkContract` (many aggregates in one unit of work), :class:`AuditContract`
  (audit stamps and soft delete), :class:`ChildrenContract` (child entities),
  :class:`ReadModelContract` (read-model queries: joins, groups, aggregations, pages) and
  :class:`HooksContract` (what every adapter tells :class:`~andamios.ports.Hooks`);
  :class:`RecordingHooks` records those events for your own tests.
- :class:`FakeClock`, a ``Clock`` that stands still until a test moves it.
- :mod:`andamios.testing.models`: the small domain the suites run against (``Gadget``,
  ``Counter``, ``Shipment``, ``Ticket``, ``Basket``... and the unit-of-work shape
  ``ContractUnitOfWork``). Your adapter stores these to pass the suites; they are the suites'
  own, not building blocks for your application.

Proving an adapter or a specialized repository
-----------------------------------------------

Subclass every suite in a test module (its name must start with ``Test``) and give it one
fixture, ``new_uow``: a callable returning a fresh ``ContractUnitOfWork`` each time, every one
over the same store, empty when the test starts. The suites' tests are inherited, so the whole
contract runs against your code::

    import pytest
    from andamios.ports import UnitOfWorkFactory
    from andamios.testing import (
        AuditContract, BulkContract, ChildrenContract, FakeClock, ReadModelContract,
        RepositoryContract, UnitOfWorkContract,
    )
    from andamios.testing.models import ContractUnitOfWork

    type Factory = UnitOfWorkFactory[ContractUnitOfWork]

    class TestMyRepository(RepositoryContract):
        @pytest.fixture
        def new_uow(self) -> Factory:
            return MyUnitOfWork.factory(ContractUnitOfWork, ...)   # an empty store per test

    class TestMyUnitOfWork(UnitOfWorkContract): ...   # the same fixture
    class TestMyBulk(BulkContract): ...
    class TestMyChildren(ChildrenContract): ...
    class TestMyReadModels(ReadModelContract): ...

    class TestMyAudit(AuditContract):
        @pytest.fixture
        def new_uow(self, clock: FakeClock) -> Factory:   # stamps read the suite's clock
            return MyUnitOfWork.factory(ContractUnitOfWork, clock=clock, ...)

A SQL adapter maps the models first (``tests/integration/duckdb/_contract_mapping.py`` in the
Andamios repository maps them onto DuckDB). A specialized repository (``class
Products(Repository[Product, str])`` with domain queries, declared ``products: Products`` on your
shape) is built by every adapter over its own repository: prove its queries with the plugin's
``uow_factory``, which runs a test once per adapter (``docs/guides/testing.md``). The fixture
may be async (it may ``yield`` and clean up after the test): under pytest-asyncio's default
strict mode declare it with ``@pytest_asyncio.fixture``; every test of the suites carries the
``asyncio`` mark, so they run in strict and in auto mode alike.

The suites run on pytest and pytest-asyncio, the ``testing`` extra
(``pip install 'andamios[testing]'``); without them this import says so.
"""

from __future__ import annotations

try:
    import pytest
    import pytest_asyncio  # noqa: F401 - the suites' async tests run on its plugin
except ModuleNotFoundError as missing:
    _msg = (
        f"andamios.testing runs its suites on pytest and pytest-asyncio, and {missing.name} is "
        "not installed: install andamios[testing] (pip install 'andamios[testing]')"
    )
    raise ModuleNotFoundError(_msg, name=missing.name) from missing

# Plain asserts in the shipped suites must explain themselves like asserts in test files.
pytest.register_assert_rewrite(
    "andamios.testing._audit_contract",
    "andamios.testing._bulk_contract",
    "andamios.testing._children_contract",
    "andamios.testing._hooks_contract",
    "andamios.testing._read_model_contract",
    "andamios.testing._repository_contract",
    "andamios.testing._unit_of_work_contract",
)

from andamios.testing._audit_contract import AuditContract  # noqa: E402
from andamios.testing._bulk_contract import BulkContract  # noqa: E402
from andamios.testing._children_contract import ChildrenContract  # noqa: E402
from andamios.testing._clock import FakeClock  # noqa: E402
from andamios.testing._hooks_contract import HooksContract  # noqa: E402
from andamios.testing._read_model_contract import ReadModelContract  # noqa: E402
from andamios.testing._recording_hooks import RecordingHooks  # noqa: E402
from andamios.testing._repository_contract import RepositoryContract  # noqa: E402
from andamios.testing._unit_of_work_contract import UnitOfWorkContract  # noqa: E402

__all__ = [
    "AuditContract",
    "BulkContract",
    "ChildrenContract",
    "FakeClock",
    "HooksContract",
    "ReadModelContract",
    "RecordingHooks",
    "RepositoryContract",
    "UnitOfWorkContract",
]
