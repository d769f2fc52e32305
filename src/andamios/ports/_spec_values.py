"""Spec values every adapter compares alike, or refuses alike before any of them runs.

A value of another type than its field, or one its column cannot hold, would be converted by one
adapter and compared as it is by another: DuckDB casts a ``Decimal("1.234")`` parameter to the
column's ``NUMERIC(12, 2)`` (``1.23``), a huge ``int`` to ``DOUBLE``; Python compares exactly.
The field's :class:`~andamios.ports._storage.FieldRule` says what its column holds.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from andamios.domain import (
    And,
    AnyMatch,
    Between,
    Compare,
    In,
    InvalidSpecification,
    IsNone,
    Match,
    MaxLength,
    Not,
    Or,
    Spec,
)
from andamios.ports._introspection import (
    child_entity_type,
    holds_child_list,
    validate_fields,
)
from andamios.ports._storage import (
    FieldRule,
    describe,
    id_type_of,
    short,
    storage_rules,
    text_problem,
    type_problem,
    violation,
)

__all__ = ["check_spec_value", "validate_spec"]


def _spec_rule(owner: type, path: str) -> FieldRule | None:
    rule = storage_rules(owner).by_name.get(path)
    if rule is not None:
        return rule
    current: type = owner
    for part in path.split("."):
        if rule is not None:
            kind = rule.kind
            if not (isinstance(kind, type) and dataclasses.is_dataclass(kind)):
                return None
            current = kind
        rule = storage_rules(current).by_name.get(part)
        if rule is None:
            return None
    return rule


def check_spec_value(owner: type, path: str, value: object) -> None:
    """Raise :class:`InvalidSpecification` unless every adapter compares ``value`` alike.

    A value of another type, or one its field cannot hold (an ``int`` beyond the column's bits,
    a ``Decimal`` with more places than its ``Digits``, ``Decimal('NaN')``, a naive datetime for
    an aware field), would be converted by one adapter and compared as it is by another.
    """
    if value is None:
        return
    rule = _spec_rule(owner, path)
    if rule is None:
        return
    kind = rule.kind
    where = f"{owner.__name__}.{path}"
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        msg = (
            f"{where} is a {kind.__name__} value; compare its fields "
            f"(F('{path}.<field>')), not the whole value"
        )
        raise InvalidSpecification(msg)
    if isinstance(value, Decimal) and not value.is_finite():
        msg = f"cannot compare {where} with {value!r}: it is not a number any column stores"
        raise InvalidSpecification(msg)
    problem = type_problem(kind, value)
    if isinstance(value, str) and problem is not None and isinstance(kind, type):
        text = text_problem(value)
        if text is not None:
            msg = f"cannot compare {where} with {short(value)}: the value {text}"
            raise InvalidSpecification(msg)
    wrong_type = (
        (kind is float and isinstance(value, int) and not _exact_float(value))
        or (kind is float and isinstance(value, Decimal))
        or (kind is Decimal and isinstance(value, float))
        or problem is not None
    )
    if wrong_type:
        msg = (
            f"{where} is {describe(kind)}; cannot compare it with "
            f"{type(value).__name__} {short(value)}"
        )
        raise InvalidSpecification(msg)
    for constraint in rule.constraints:
        problem = None if isinstance(constraint, MaxLength) else violation(constraint, value)
        if problem is not None:  # a longer text than MaxLength simply matches nothing
            msg = f"cannot compare {where} with {short(value)}: the value {problem}"
            raise InvalidSpecification(msg)


def _exact_float(value: int) -> bool:
    """Whether an int compares with a DOUBLE column as Python compares it (DuckDB converts)."""
    return abs(value) <= 2**53


def validate_spec(owner: type, spec: Spec, id_type: object = None) -> None:
    """Check every path of ``spec`` against ``owner`` and every value against its field.

    ``id_type`` is the aggregate's id class when known (``id`` is generic on the base class).
    The spec inside ``F("lines").any(...)`` is checked alike against the child entity class.
    """
    validate_fields(owner, spec.fields())
    match spec:
        case Compare(field=path, value=value):
            _check_spec(owner, path, value, id_type)
        case In(field=path, values=values):
            for value in values:
                _check_spec(owner, path, value, id_type)
        case Between(field=path, low=low, high=high):
            _check_spec(owner, path, low, id_type)
            _check_spec(owner, path, high, id_type)
        case Match(field=path):
            _check_spec(owner, path, "", id_type)
        case And(parts=parts) | Or(parts=parts):
            for part in parts:
                validate_spec(owner, part, id_type)
        case Not(part=part):
            validate_spec(owner, part, id_type)
        case AnyMatch(field=path, spec=inner):
            child = child_entity_type(owner, path)
            if inner is not None:
                validate_spec(child, inner, id_type_of(child))
        case IsNone(field=path) if holds_child_list(owner, path):
            msg = (
                f"{owner.__name__}.{path} is a list of child entities, never None: "
                f"F({path!r}).any() holds when there is one, ~F({path!r}).any() when there is none"
            )
            raise InvalidSpecification(msg)


def _check_spec(owner: type, path: str, value: object, id_type: object) -> None:
    if path == "id" and isinstance(id_type, type) and value is not None:
        if type_problem(id_type, value) is not None:
            msg = (
                f"{owner.__name__}.id is {id_type.__name__}; cannot compare it with "
                f"{type(value).__name__} {short(value)}"
            )
            raise InvalidSpecification(msg)
        return
    check_spec_value(owner, path, value)
