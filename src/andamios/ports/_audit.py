"""Audit timestamps a domain declares on its fields, stamped by every adapter alike.

::

    @dataclass(eq=False, kw_only=True)
    class Customer(AggregateRoot[UUID], Timestamped):   # created_at, updated_at
        name: str

or on fields of your own naming::

    opened: Annotated[datetime | None, CreatedAt()] = None
    touched: Annotated[datetime | None, UpdatedAt()] = None

When a unit of work first stores an aggregate, both fields get the unit of work's clock time
(:class:`~andamios.ports.Clock`, UTC, timezone-aware); each committed change of the aggregate sets
the ``UpdatedAt`` field again. Values the application assigns are overwritten: the adapter, not the
user, owns them. A commit that fails leaves them as they were. The SQL mapping requires a
``sa.DateTime(timezone=True)`` column for each (``MappingError`` at ``map`` otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass

from andamios.domain import CreatedAt, DeletedAt, SoftDeletable, Timestamped, UpdatedAt
from andamios.ports._introspection import field_markers
from andamios.ports.errors import MappingError

__all__ = [
    "AuditFields",
    "CreatedAt",
    "DeletedAt",
    "SoftDeletable",
    "Timestamped",
    "UpdatedAt",
    "audit_fields",
]


@dataclass(frozen=True, slots=True)
class AuditFields:
    """The fields of one aggregate class an adapter stamps (``None``: no such field)."""

    created: str | None = None
    updated: str | None = None
    deleted: str | None = None

    def __bool__(self) -> bool:
        """Whether there is a timestamp to stamp (``CreatedAt`` or ``UpdatedAt``)."""
        return self.created is not None or self.updated is not None


_found: dict[type, AuditFields] = {}


def audit_fields(owner: type) -> AuditFields:
    """The ``CreatedAt``, ``UpdatedAt`` and ``DeletedAt`` fields of a dataclass.

    A marker on two fields is a MappingError.
    """
    found = _found.get(owner)
    if found is None:
        found = _found[owner] = _read(owner)
    return found


def _read(owner: type) -> AuditFields:
    names: dict[type, list[str]] = {CreatedAt: [], UpdatedAt: [], DeletedAt: []}
    for field, markers in field_markers(owner).items():
        for marker in markers:
            if isinstance(marker, (CreatedAt, UpdatedAt, DeletedAt)):
                names[type(marker)].append(field)
    for kind, fields in names.items():
        if len(fields) > 1:
            msg = (
                f"{owner.__name__} marks {', '.join(fields)} with {kind.__name__}(): "
                "one field may be stamped so"
            )
            raise MappingError(msg)
    first = {kind: fields[0] if fields else None for kind, fields in names.items()}
    return AuditFields(first[CreatedAt], first[UpdatedAt], first[DeletedAt])
