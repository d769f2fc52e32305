"""The service provider interface: what an adapter is built from.

Applications use :mod:`andamios.ports`; adapters — the ones shipped and a third party's — use
this module, and never ``andamios.ports._*`` (an import-linter contract holds the shipped ones
to it). Everything here is stable API for adapter authors:

- the unit-of-work machinery a concrete unit of work composes: :class:`Tracker` (the
  lifecycle and the aggregates seen), :func:`compose` and :func:`repository_slots` (the shape's
  repositories), :func:`compose_repository` (a user's specialized repository over the adapter's),
  :class:`Clock` for audit timestamps;
- how aggregates are read and built: :func:`aggregate_fields`, :func:`resolve_path` (a dotted
  spec path), :func:`type_hints`, :func:`field_markers`, :func:`leaf_type`,
  :func:`check_aggregate_type`, :func:`new_blank` (a blank instance to load into) and the
  blank-factory registry;
- the storage rules every adapter enforces alike (ADR 0010): :func:`register_storage` (a SQL
  mapping registers what its columns can hold), :func:`storage_rules`, :func:`check_stored` /
  :func:`check_all` (refuse before writing), :func:`stored_state` (what a value reads back as),
  :func:`json_problem`, :func:`version_written`, :func:`id_type_of`, :func:`quantized` (a
  ``Decimal`` at a scale, as the ``Digits`` check quantizes it);
- :func:`audit_fields`, and :func:`keyset_after` for keyset pagination;
- hooks: :func:`hook_set` turns a factory's ``hooks=`` into a :class:`HookSet`, whose
  :meth:`HookSet.observer` is what ``UnitOfWork.__init__(observer=...)`` takes; a SQL adapter
  tells it each statement (:meth:`Observer.record_statement`, see ``sql_spi``), and
  :meth:`Tracker.observe` runs an operation told to the hooks (:class:`ObservedOperation`);
- the read side: a checked read-model query, :class:`QueryPlan` of :class:`Source` s (an
  adapter computes it, :meth:`UnitOfWork._run_query`), :func:`rename_fields`, and
  :class:`RawSql` with :func:`check_statement` (what raw SQL may say).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from andamios.domain._lazy import lazy_names
from andamios.ports._audit import AuditFields, audit_fields
from andamios.ports._clock import Clock, SystemClock
from andamios.ports._fast_checks import quantized
from andamios.ports._hooks import HookSet, Observer, hook_set, now
from andamios.ports._instances import new_blank, register_blank_factory, unregister_blank_factory
from andamios.ports._introspection import (
    aggregate_fields,
    check_aggregate_type,
    field_markers,
    leaf_type,
    resolve_path,
    type_hints,
)
from andamios.ports._pagination import keyset_after
from andamios.ports._reads import rows_to_arrow
from andamios.ports._repository import Repository
from andamios.ports._storage import (
    ColumnFacts,
    FieldRule,
    Link,
    StorageRules,
    check_all,
    check_stored,
    id_type_of,
    json_problem,
    register_storage,
    storage_rules,
    stored_state,
    unregister_storage,
    version_written,
)
from andamios.ports._tracker import ObservedOperation, Tracker, UnitOfWorkState
from andamios.ports._unit_of_work import (
    RepositorySlot,
    UnitOfWork,
    compose,
    compose_repository,
    repository_slots,
)

if TYPE_CHECKING:
    from andamios.ports._query_plan import QueryPlan, Source, rename_fields
    from andamios.ports._raw_sql import RawSql, check_statement

__all__ = [
    "AuditFields",
    "Clock",
    "ColumnFacts",
    "FieldRule",
    "HookSet",
    "Link",
    "ObservedOperation",
    "Observer",
    "QueryPlan",
    "RawSql",
    "Repository",
    "RepositorySlot",
    "Source",
    "StorageRules",
    "SystemClock",
    "Tracker",
    "UnitOfWork",
    "UnitOfWorkState",
    "aggregate_fields",
    "audit_fields",
    "check_aggregate_type",
    "check_all",
    "check_statement",
    "check_stored",
    "compose",
    "compose_repository",
    "field_markers",
    "hook_set",
    "id_type_of",
    "json_problem",
    "keyset_after",
    "leaf_type",
    "new_blank",
    "now",
    "quantized",
    "register_blank_factory",
    "register_storage",
    "rename_fields",
    "repository_slots",
    "resolve_path",
    "rows_to_arrow",
    "storage_rules",
    "stored_state",
    "type_hints",
    "unregister_blank_factory",
    "unregister_storage",
    "version_written",
]

# The read models' planner and raw SQL: imported when an adapter first names them.
__getattr__ = lazy_names(
    __name__,
    {
        **dict.fromkeys(("QueryPlan", "Source", "rename_fields"), "andamios.ports._query_plan"),
        **dict.fromkeys(("RawSql", "check_statement"), "andamios.ports._raw_sql"),
    },
)
