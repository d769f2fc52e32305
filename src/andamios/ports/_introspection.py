"""Reading aggregate classes and unit-of-work shapes: shared by every adapter."""

from __future__ import annotations

import dataclasses
import functools
import operator
import sys
import types
import typing
from typing import Any

from andamios.domain import AggregateRoot, Entity, InvalidSpecification
from andamios.ports.errors import MappingError

__all__ = [
    "aggregate_fields",
    "callers_namespace",
    "check_aggregate_type",
    "child_entities_of",
    "child_entity_type",
    "field_markers",
    "holds_child_list",
    "resolve_path",
    "type_hints",
    "validate_fields",
    "validate_path",
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
    type_hints(aggregate_type)  # unresolvable annotations fail here, not at the first commit
    return aggregate_type


def aggregate_fields(aggregate_type: type) -> tuple[str, ...]:
    """The names of the dataclass fields that make up an aggregate's stored state."""
    return _fields_of(aggregate_type)


@functools.cache
def _fields_of(owner: Any) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(owner))


def callers_namespace(depth: int = 24) -> dict[str, Any]:
    """The local names of the calling frames, nearest first (as pydantic resolves annotations).

    Classes declared inside a function, under ``from __future__ import annotations``, name
    classes that only those frames can see.
    """
    namespace: dict[str, Any] = {}
    frame: types.FrameType | None = sys._getframe(1)
    for _ in range(depth):
        if frame is None:
            break
        for name, value in frame.f_locals.items():
            namespace.setdefault(name, value)
        frame = frame.f_back
    return namespace


_hints: dict[type, dict[str, object]] = {}


def type_hints(owner: type) -> dict[str, object]:
    """The resolved annotations of ``owner`` (``Annotated`` kept), cached; MappingError if not.

    An annotation naming a class the module cannot see (declared beside ``owner`` inside a
    function) is looked up in the calling frames; if it is still unknown, the markers and types
    it carries would vanish silently, so it is an error instead.
    """
    found = _hints.get(owner)
    if found is None:
        try:
            found = typing.get_type_hints(owner, include_extras=True)
        except (NameError, TypeError):
            try:
                found = typing.get_type_hints(
                    owner, localns=callers_namespace(), include_extras=True
                )
            except (NameError, TypeError) as error:
                msg = (
                    f"cannot resolve the annotations of {owner.__qualname__}: {error}; declare "
                    "the classes they name at module level (or where the annotation can see them)"
                )
                raise MappingError(msg) from error
        _hints[owner] = found
        for hint in found.values():
            for nested in _dataclasses_in(hint):
                if nested is not owner and nested not in _hints:
                    type_hints(nested)  # resolved now, while the declaring frames are alive
    return found


def _dataclasses_in(hint: object) -> typing.Iterator[type]:
    """The dataclasses an annotation names, also inside ``Annotated``, unions and generics."""
    if isinstance(hint, type):
        if dataclasses.is_dataclass(hint):
            yield hint
        return
    for arg in typing.get_args(hint):
        yield from _dataclasses_in(arg)


@functools.cache
def _field_types(owner: type) -> dict[str, object]:
    # Cached as type_hints() is: read for every path of every spec and query (never mutated).
    return {name: _strip_annotated(hint) for name, hint in type_hints(owner).items()}


def _strip_annotated(hint: object) -> object:
    if typing.get_origin(hint) is typing.Annotated:
        return typing.get_args(hint)[0]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        members = tuple(_strip_annotated(arg) for arg in typing.get_args(hint))
        return functools.reduce(operator.or_, members)
    return hint


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
    hints = type_hints(owner)
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


def _entity_list_of(annotation: object) -> type | None:
    """The child entity class of a ``list[Child]`` annotation; None for any other annotation."""
    annotation = _unwrap_optional(annotation)
    if typing.get_origin(annotation) is not list:
        return None
    (item,) = typing.get_args(annotation) or (None,)
    return item if _is_child_entity(item) else None


def _is_child_entity(kind: object) -> bool:
    return (
        isinstance(kind, type)
        and dataclasses.is_dataclass(kind)
        and issubclass(kind, Entity)
        and not issubclass(kind, AggregateRoot)
    )


def holds_child_list(owner: type, path: str) -> bool:
    """Whether a (valid) field path of ``owner`` holds a ``list[Child]`` of child entities."""
    return "." not in path and _entity_list_of(_field_types(owner).get(path)) is not None


def child_entities_of(owner: type, field: str) -> type[Entity[Any]] | None:
    """The child entity class a field of ``owner`` holds (``list[Child]`` or ``Child | None``),
    or None when it holds none."""
    hint = _field_types(owner).get(field)
    found = _entity_list_of(hint)
    if found is None and _is_child_entity(_unwrap_optional(hint)):
        found = typing.cast("type", _unwrap_optional(hint))
    return found


@functools.cache
def child_entity_type(owner: type, path: str) -> type[Entity[Any]]:
    """The child entity class a field of ``owner`` holds (``list[Child]`` or ``Child | None``).

    What ``F(path).any(...)`` reads; InvalidSpecification for any other field (a text, a value
    object), in every adapter alike, before a database is asked.
    """
    validate_path(owner, path)
    found = None if "." in path else child_entities_of(owner, path)
    if found is None:
        where = f"{owner.__name__}.{path}"
        kind = _unwrap_optional(leaf_type(owner, path))
        described = kind.__name__ if isinstance(kind, type) else repr(kind)
        msg = (
            f"F({path!r}).any() matches child entities, but {where} is {described}: any() takes "
            "a field of the aggregate itself holding list[Child] or Child | None (an Entity "
            "dataclass); compare other fields directly, e.g. F('x.y') == value"
        )
        raise InvalidSpecification(msg)
    return found


@functools.cache
def validate_path(owner: type, path: str) -> None:
    """Raise InvalidSpecification unless ``path`` names a field of ``owner`` (dotted: nested).

    A dotted path may reach into a value object or a one-to-one child entity, not into a list
    of children: matching one of those is ``F('lines').any(F('sku') == ...)``.
    """
    current: type | None = owner
    walked: list[str] = []
    for part in path.split("."):
        if current is None:
            children = _entity_list_of(_field_types(owner).get(walked[0]))
            if len(walked) == 1 and children is not None:
                rest = path.partition(".")[2]
                msg = (
                    f"{owner.__name__}.{walked[0]} holds a list of {children.__name__}, so "
                    f"{path!r} names no single value: match one of them with "
                    f"F({walked[0]!r}).any(F({rest!r}) == ...)"
                )
                raise InvalidSpecification(msg)
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


def unwrap_new_type(annotation: object) -> object:
    """The class a ``typing.NewType`` (``CustomerId = NewType("CustomerId", UUID)``) stands for."""
    while isinstance(annotation, typing.NewType):
        annotation = annotation.__supertype__
    return annotation


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
