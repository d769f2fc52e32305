"""Storage constraints a domain declares on its fields, honoured by every adapter.

The markers live in :mod:`andamios.domain` (standard library only) and are re-exported here,
where users imported them first. A value that breaks one is a
:class:`~andamios.ports.errors.DataError` naming the aggregate and the field, raised before
anything is written; :mod:`andamios.ports._storage` merges them with what a mapping's columns add.
"""

from __future__ import annotations

from andamios.domain import Aware, Bits, Digits, MaxLength, Naive
from andamios.ports._introspection import field_markers
from andamios.ports._storage import Constraint, violation
from andamios.ports.errors import DataError

__all__ = [
    "Aware",
    "Bits",
    "Constraint",
    "Digits",
    "MaxLength",
    "Naive",
    "check_value",
    "declared_constraints",
    "violation",
]

_KINDS = (MaxLength, Digits, Bits, Aware, Naive)


def check_value(
    aggregate: object, field: str, constraints: tuple[Constraint, ...], value: object
) -> None:
    """Raise :class:`DataError` naming the aggregate and field if ``value`` breaks a constraint."""
    for constraint in constraints:
        problem = violation(constraint, value)
        if problem is not None:
            kind = type(aggregate)
            id = getattr(aggregate, "id", None)
            msg = f"{kind.__name__} {id!r}: {field} = {value!r} {problem}"
            raise DataError(msg, aggregate_type=kind, aggregate_id=id, field=field)


_declared: dict[type, dict[str, tuple[Constraint, ...]]] = {}


def declared_constraints(owner: type) -> dict[str, tuple[Constraint, ...]]:
    """The constraints each dataclass field of ``owner`` declares with ``Annotated``.

    ``Annotated[str, MaxLength(20)] | None`` counts too. Fields without any are left out.
    """
    found = _declared.get(owner)
    if found is None:
        found = _declared[owner] = _read_constraints(owner)
    return found


def _read_constraints(owner: type) -> dict[str, tuple[Constraint, ...]]:
    found: dict[str, tuple[Constraint, ...]] = {}
    for name, markers in field_markers(owner).items():
        declared = tuple(m for m in markers if isinstance(m, _KINDS))
        if declared:
            found[name] = declared
    return found
