"""Test support shipped with Andamios: the port contract suites and their small domain.

Run the suites against any adapter, including your own, by subclassing
:class:`RepositoryContract` and :class:`UnitOfWorkContract` and providing a ``new_uow`` fixture.
"""

from __future__ import annotations

import pytest

# Plain asserts in the shipped suites must explain themselves like asserts in test files.
pytest.register_assert_rewrite("andamios.testing._contracts")

from andamios.testing._contracts import RepositoryContract, UnitOfWorkContract, make_gadgets  # noqa: E402
from andamios.testing._model import ContractUnitOfWork, Counter, Gadget, GadgetRenamed  # noqa: E402

__all__ = [
    "ContractUnitOfWork",
    "Counter",
    "Gadget",
    "GadgetRenamed",
    "RepositoryContract",
    "UnitOfWorkContract",
    "make_gadgets",
]
