"""Reading aggregate classes and unit-of-work shapes: shared by every adapter."""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from andamios.domain import (
    AggregateRoot,
    And,
    Between,
    Compare,
    In,
    InvalidSpecification,
    Match,
    Not,
    Or,
    Spec,
)
from andamios.ports.errors import MappingError

__all__ = [
    "aggregate_fields",
    "check_aggregate_type",
    "field_markers",
    "resolve_path",
    "validate_fields",
    "validate_path",
    "validate_spec",
]


def check_aggregate_type(aggregate_type: object) -> type[AggregateRoot[Any]]:
    """Return ``aggregate_type`` if it is a dataclass subclass of AggregateRoot, else raise."""
    if not (isinstance(aggregate_type, type) and issubclass(aggregate_type, AggregateRoot)):
        msg = f"{aggregate_type!r} is not an AggregateRoot subclass; repositories store aggregates"
        raise MappingError(msg)
    if "__dataclass_fields__" not in aggregate_type.__dict__:
        msg = (
            f"{aggregate_type.__name__} must be a dataclass: decorate it with "
            "@dataclass(eq=False, kw_only=True)"
        )
        raise MappingError(msg)
    return aggregate_type


def aggregate_fields(aggregate_type: type) -> tuple[str, ...]:
    """The names of the dataclass fields that make up an aggregate's stored state."""
    return _fields_of(aggregate_type)


@functools.cache
def _fields_of(owner: Any) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(owner))


@functools.cache
def _field_types(owner: type) -> dict[str, object]:
    try:
        return typing.get_type_hints(owner)
    except (NameError, TypeError):  # pragma: no cover - unresolvable annotations: skip deep checks
        return {}


_markers: dict[type, dict[str, tuple[object, ...]]] = {}


def field_markers(owner: type) -> dict[str, tuple[object, ...]]:
    """The ``Annotated`` metadata of each dataclass field of ``owner``, also inside ``X | None``.

    Fields without any are left out. Constraints and audit markers are both read from here.
    """
    found = _markers.get(owner)
    if found is None:
        found = _markers[owner] = _read_markers(owner)
    return found


def _read_markers(owner: type) -> dict[str, tuple[object, ...]]:
    try:
        hints = typing.get_type_hints(owner, include_extras=True)
    except (NameError, TypeError):  # pragma: no cover - unresolvable annotations declare nothing
        return {}
    found: dict[str, tuple[object, ...]] = {}
    for field in dataclasses.fields(owner):
        annotation = hints.get(field.name)
        markers = tuple(
            marker
            for member in (annotation, *typing.get_args(annotation))
            if typing.get_origin(member) is typing.Annotated
            for marker in member.__metadata__
        )
        if markers:
            found[field.name] = markers
    return found


def _unwrap_optional(annotation: object) -> object:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        found = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(found) == 1:
            return found[0]
    return annotation


def _dataclass_of(annotation: object) -> type | None:
    """The dataclass an annotation names, unwrapping ``X | None``; None if it names none."""
    annotation = _unwrap_optional(annotation)
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return annotation
    return None


@functools.cache
def validate_path(owner: type, path: str) -> None:
    """Raise InvalidSpecification unless ``path`` names a field of ``owner`` (dotted: nested)."""
    current: type | None = owner
    walked: list[str] = []
    for part in path.split("."):
        if current is None:
            msg = (
                f"{'.'.join(walked)!r} of {owner.__name__} is not a dataclass value object, "
                f"so {path!r} cannot reach into it"
            )
            raise InvalidSpecification(msg)
        names = {f.name for f in dataclasses.fields(current)}
        if part not in names:
            known = ", ".join(sorted(names))
            msg = f"{owner.__name__} has no field {path!r} (known fields: {known})"
            raise InvalidSpecification(msg)
        walked.append(part)
        current = _dataclass_of(_field_types(current).get(part))


@functools.cache
def leaf_type(owner: type, path: str) -> object:
    """The annotation of the field a (valid) path ends at, ``X | None`` unwrapped."""
    current: type = owner
    annotation: object = None
    for part in path.split("."):
        annotation = _unwrap_optional(_field_types(current).get(part))
        if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
            current = annotation
    return annotation


_NUMBERS = (int, float, Decimal)
_ACCEPTS: dict[type, tuple[type, ...]] = {
    str: (str,),
    bytes: (bytes,),
    bool: (bool,),
    int: _NUMBERS,
    float: _NUMBERS,
    Decimal: _NUMBERS,
    UUID: (UUID,),
    datetime: (datetime,),
    date: (date,),
    time: (time,),
    timedelta: (timedelta,),
}


def unwrap_new_type(annotation: object) -> object:
    """The class a ``typing.NewType`` (``CustomerId = NewType("CustomerId", UUID)``) stands for."""
    while isinstance(annotation, typing.NewType):
        annotation = annotation.__supertype__
    return annotation


def _check_value(owner: type, path: str, value: object, id_type: object) -> None:
    """A value that cannot be compared with the field is a clear error in every adapter."""
    if value is None:
        return
    annotation = id_type if path == "id" and id_type is not None else leaf_type(owner, path)
    annotation = unwrap_new_type(annotation)
    if not isinstance(annotation, type):
        return
    if issubclass(annotation, enum.Enum):
        accepted: tuple[type, ...] = (annotation,)
    else:
        accepted = next((v for k, v in _ACCEPTS.items() if issubclass(annotation, k)), ())
    if not accepted:
        return
    wrong_bool = isinstance(value, bool) and annotation is not bool
    wrong_date = isinstance(value, datetime) and annotation is date
    if wrong_bool or wrong_date or not isinstance(value, accepted):
        msg = (
            f"{owner.__name__}.{path} is {annotation.__name__}; "
            f"cannot compare it with {type(value).__name__} {value!r}"
        )
        raise InvalidSpecification(msg)


def validate_spec(owner: type, spec: Spec, id_type: object = None) -> None:
    """Check every path of ``spec`` against ``owner`` and every value against its field.

    ``id_type`` is the aggregate's id class when known (``id`` is generic on the base class).
    """
    validate_fields(owner, spec.fields())
    match spec:
        case Compare(field=field, value=value):
            _check_value(owner, field, value, id_type)
        case In(field=field, values=values):
            for value in values:
                _check_value(owner, field, value, id_type)
        case Between(field=field, low=low, high=high):
            _check_value(owner, field, low, id_type)
            _check_value(owner, field, high, id_type)
        case Match(field=field):
            _check_value(owner, field, "", id_type)
        case And(parts=parts) | Or(parts=parts):
            for part in parts:
                validate_spec(owner, part, id_type)
        case Not(part=part):
            validate_spec(owner, part, id_type)


def validate_fields(owner: type, paths: typing.Iterable[str]) -> None:
    """Validate every path in ``paths`` against ``owner`` (see :func:`validate_path`)."""
    for path in paths:
        validate_path(owner, path)


def resolve_path(obj: object, path: str) -> object:
    """Read a dotted path from an object; ``None`` part-way through gives ``None`` (as SQL)."""
    value: object = obj
    for part in path.split("."):
        if value is None:
            return None
        value = getattr(value, part)
    return value
