"""Ports: the repository and unit-of-work abstractions, and the error tree.

Application code depends on these and never on an adapter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from andamios.domain import Unique
from andamios.domain._lazy import lazy_names
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
    Bits,
    Constraint,
    Digits,
    MaxLength,
    Naive,
    check_value,
    declared_constraints,
)
from andamios.ports._hooks import (
    BeforeCommit,
    Began,
    Committed,
    Ended,
    Hooks,
    Operation,
    RollbackReason,
    RolledBack,
    Statement,
    UnitOfWorkEvent,
)
from andamios.ports._instances import (
    new_blank,
    register_blank_factory,
    unregister_blank_factory,
)
from andamios.ports._pagination import Cursor, Page, keyset_after
from andamios.ports._repository import Repository
from andamios.ports._storage import (
    ColumnFacts,
    FieldRule,
    Link,
    StorageRules,
    check_stored,
    id_type_of,
    register_storage,
    storage_rules,
    stored_state,
    unregister_storage,
)
from andamios.ports._tracker import Tracker, UnitOfWorkState
from andamios.ports._unit_of_work import (
    RepositorySlot,
    UnitOfWork,
    UnitOfWorkFactory,
    compose,
    repository_slots,
)

if TYPE_CHECKING:
    from andamios.ports._raw_sql import RawSql

__all__ = [
    "AuditFields",
    "Aware",
    "BeforeCommit",
    "Began",
    "Bits",
    "Clock",
    "ColumnFacts",
    "Committed",
    "Constraint",
    "CreatedAt",
    "Cursor",
    "DeletedAt",
    "Digits",
    "Ended",
    "FieldRule",
    "Hooks",
    "Link",
    "MaxLength",
    "Naive",
    "Operation",
    "Page",
    "RawSql",
    "Repository",
    "RepositorySlot",
    "RollbackReason",
    "RolledBack",
    "SoftDeletable",
    "Statement",
    "StorageRules",
    "SystemClock",
    "Timestamped",
    "Tracker",
    "Unique",
    "UnitOfWork",
    "UnitOfWorkEvent",
    "UnitOfWorkFactory",
    "UnitOfWorkState",
    "UpdatedAt",
    "audit_fields",
    "check_stored",
    "check_value",
    "compose",
    "declared_constraints",
    "errors",
    "id_type_of",
    "keyset_after",
    "new_blank",
    "register_blank_factory",
    "register_storage",
    "repository_slots",
    "storage_rules",
    "stored_state",
    "unregister_blank_factory",
    "unregister_storage",
]

# Raw SQL's runner type: imported when a program first names it (with the read models').
__getattr__ = lazy_names(__name__, {"RawSql": "andamios.ports._raw_sql"})
