"""Ports: the repository and unit-of-work abstractions, and the error tree.

Application code depends on these and never on an adapter.
"""

from __future__ import annotations

from andamios.ports import errors
from andamios.ports._audit import (
    AuditFields,
    CreatedAt,
    DeletedAt,
    SoftDeletable,
    Timestamped,
    UpdatedAt,
    audit_fields,
)
from andamios.ports._clock import Clock, SystemClock
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
    "AuditFields",
    "Aware",
    "Clock",
    "Constraint",
    "CreatedAt",
    "Cursor",
    "DeletedAt",
    "Digits",
    "MaxLength",
    "Page",
    "Repository",
    "RepositorySlot",
    "SoftDeletable",
    "SystemClock",
    "Timestamped",
    "Tracker",
    "UnitOfWork",
    "UnitOfWorkFactory",
    "UnitOfWorkState",
    "UpdatedAt",
    "audit_fields",
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
