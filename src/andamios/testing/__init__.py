"""Test support shipped with Andamios: the port contract suites and their small domain.

Run the suites against any adapter, including your own, by subclassing
:class:`RepositoryContract`, :class:`UnitOfWorkContract` and :class:`BulkContract`, and
providing a ``new_uow`` fixture (for :class:`AuditContract`, one using the ``clock`` fixture).

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
pytest.register_assert_rewrite("andamios.testing._contracts")

from andamios.testing._clock import FakeClock  # noqa: E402
from andamios.testing._contracts import (  # noqa: E402
    AuditContract,
    BulkContract,
    ChildrenContract,
    RepositoryContract,
    UnitOfWorkContract,
    make_gadgets,
)
from andamios.testing._model import (  # noqa: E402
    Basket,
    BasketLine,
    BasketNote,
    Carrier,
    ContractUnitOfWork,
    Counter,
    Dimensions,
    Gadget,
    GadgetRenamed,
    ItemAdded,
    Shipment,
    Ticket,
)

__all__ = [
    "AuditContract",
    "Basket",
    "BasketLine",
    "BasketNote",
    "BulkContract",
    "Carrier",
    "ChildrenContract",
    "ContractUnitOfWork",
    "Counter",
    "Dimensions",
    "FakeClock",
    "Gadget",
    "GadgetRenamed",
    "ItemAdded",
    "RepositoryContract",
    "Shipment",
    "Ticket",
    "UnitOfWorkContract",
    "make_gadgets",
]
