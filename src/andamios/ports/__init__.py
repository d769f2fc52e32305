"""Ports: the repository and unit-of-work abstractions, and the error tree.

Application code depends on these and never on an adapter.
"""

from __future__ import annotations

from andamios.ports import errors
from andamios.ports._constraints import (
    Aware,
    Constraint,
    Digits,
    MaxLength,
    check_value,
    declared_constraints,
)
from andamios.ports._instances import (
    new_blank,
    register_blank_factory,
    unregister_blank_factory,
)
from andamios.ports._pagination import Cursor, Page, keyset_after
from andamios.ports._repository import Repository
from andamios.ports._tracker import Tracker, UnitOfWorkState
from andamios.ports._unit_of_work import (
    RepositorySlot,
    UnitOfWork,
    UnitOfWorkFactory,
    compose,
    repository_slots,
)

__all__ = [
    "Aware",
    "Constraint",
    "Cursor",
    "Digits",
    "MaxLength",
    "Page",
    "Repository",
    "RepositorySlot",
    "Tracker",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UnitOfWorkState",
    "check_value",
    "compose",
    "declared_constraints",
    "errors",
    "keyset_after",
    "new_blank",
    "register_blank_factory",
    "repository_slots",
    "unregister_blank_factory",
]
