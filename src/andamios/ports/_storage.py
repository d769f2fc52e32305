"""What a stored value must be, field by field: one description that every adapter checks alike.

Two places may say what a field holds, and this module merges them into one :class:`StorageRules`
per class (aggregate, child entity or value object):

- the domain, with its annotations: the field's type (``str``, ``int | None``, ``set[Line]``),
  and the markers of :mod:`andamios.domain` (``MaxLength``, ``Digits``, ``Bits``, ``Aware``,
  ``Naive``, ``Unique``);
- a mapping onto storage, which registers what its columns add (:func:`register_storage`):
  ``VARCHAR(8)`` holds 8 characters, ``INTEGER`` 32 bits, a ``NOT NULL`` column no ``None``, a
  ``UNIQUE`` column one value per row. The SQL mapping does, when it maps a class, the way it
  registers blank-instance factories, so the in-memory adapter refuses what DuckDB refuses.

Every adapter runs :func:`check_stored` on each aggregate it is about to write (and
``ports._spec_values`` checks each value a specification compares), so a value is refused with the
same error, naming the aggregate, the id and the field, before anything is written or asked. See
``docs/adr/0010-fidelity.md``.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import operator
import sys
import types
import typing
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID

from andamios.domain import (
    Aware,
    Bits,
    CreatedAt,
    Digits,
    Entity,
    MaxLength,
    Naive,
    Unique,
    UpdatedAt,
)
from andamios.ports._fast_checks import Fast, fast_check, never, quantized
from andamios.ports._instances import new_blank
from andamios.ports._introspection import type_hints, unwrap_new_type
from andamios.ports.errors import DataError

__all__ = [
    "ColumnFacts",
    "Constraint",
    "FieldRule",
    "Link",
    "StorageRules",
    "check_all",
    "check_stored",
    "describe",
    "id_type_of",
    "json_problem",
    "register_storage",
    "short",
    "storage_rules",
    "stored_state",
    "text_problem",
    "type_problem",
    "unregister_storage",
    "version_written",
    "violation",
]

type Constraint = MaxLength | Digits | Bits | Aware | Naive

_VALUE_MARKERS = (MaxLength, Digits, Bits, Aware, Naive)
_FLOAT_MAX = int(sys.float_info.max)
_INT64 = Bits(64)


@dataclass(frozen=True, slots=True)
class ColumnFacts:
    """What a storage column says about the field it holds (registered by a mapping)."""

    nullable: bool = True
    constraints: tuple[Constraint, ...] = ()
    #: Stored as JSON text: floats inside must be finite (JSON has no NaN or infinity).
    json: bool = False


@dataclass(frozen=True, slots=True)
class Link:
    """A child entity's field that stores its root's key (the join column, loaded as a field).

    Every child in ``children`` must hold in ``child_field`` the value of the root's
    ``root_field``: the database writes the root's key there, so any other value would change.
    """

    children: str
    child_field: str
    root_field: str


@dataclass(frozen=True, slots=True)
class FieldRule:
    """What one field of a class may hold."""

    name: str
    #: The field's type with ``Annotated`` and ``X | None`` taken off (``None``: anything).
    kind: object
    nullable: bool
    constraints: tuple[Constraint, ...]
    json: bool = False
    #: Says "fits" at once for the plain values of the field; the rest go to :meth:`problem`.
    fast: Fast = field(default=never, compare=False, repr=False)

    def problem(self, value: object) -> str | None:
        """Why ``value`` cannot be stored in this field, or ``None`` if it can."""
        if value is None:
            return None if self.nullable else "is None, but the field is not optional"
        wrong = type_problem(self.kind, value)
        if wrong is not None:
            return wrong
        for constraint in self.constraints:
            found = violation(constraint, value)
            if found is not None:
                return found
        if self.json:
            return json_problem(value)
        return None


@dataclass(frozen=True, slots=True)
class StorageRules:
    """Every field rule of one class, its unique keys and its links to children."""

    owner: type
    fields: tuple[FieldRule, ...]
    unique: tuple[tuple[str, ...], ...] = ()
    links: tuple[Link, ...] = ()
    #: Fields unique among the aggregates that are not soft-deleted (``Unique(live_only=True)``).
    live_unique: tuple[str, ...] = ()
    by_name: Mapping[str, FieldRule] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class _Registered:
    columns: Mapping[str, ColumnFacts]
    unique: tuple[tuple[str, ...], ...]
    links: tuple[Link, ...]


_registered: dict[type, _Registered] = {}
_rules: dict[type, StorageRules] = {}


def register_storage(
    owner: type,
    columns: Mapping[str, ColumnFacts],
    *,
    unique: Iterable[Sequence[str]] = (),
    links: Iterable[Link] = (),
) -> None:
    """Tell every adapter what the storage of ``owner`` adds to its domain's declarations.

    ``columns`` maps a field (or ``value.field`` of a value object stored in columns) to its
    column's facts; ``unique`` lists the field groups a unique constraint covers.
    """
    _registered[owner] = _Registered(
        dict(columns), tuple(tuple(group) for group in unique), tuple(links)
    )
    _rules.clear()


def unregister_storage(owner: type) -> None:
    """Forget what a mapping registered for ``owner`` (when the mapping is cleared)."""
    _registered.pop(owner, None)
    _rules.clear()


def storage_rules(owner: type) -> StorageRules:
    """The merged rules of a dataclass (cached until a mapping registers or unregisters)."""
    found = _rules.get(owner)
    if found is None:
        found = _rules[owner] = _build(owner)
    return found


def _optional(hint: object) -> tuple[object, bool]:
    """``(X, True)`` for ``X | None``; the hint and False otherwise."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(members) < len(typing.get_args(hint)):
            if len(members) == 1:
                return members[0], True
            return typing.Union[tuple(members)], True  # noqa: UP007 - built from a list
    return hint, hint is typing.Any or hint is object


def _markers(hint: object) -> tuple[list[object], object]:
    """The ``Annotated`` markers of a hint (also inside ``X | None``) and the bare hint."""
    found: list[object] = []
    if typing.get_origin(hint) is typing.Annotated:
        found.extend(hint.__metadata__)  # type: ignore[attr-defined]
        hint = typing.get_args(hint)[0]
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        members = []
        for member in typing.get_args(hint):
            inner, bare = _markers(member)
            found.extend(inner)
            members.append(bare)
        hint = typing.Union[tuple(members)]  # noqa: UP007 - built from a list
    return found, hint


def _build(owner: type) -> StorageRules:
    registered = _registered.get(owner, _Registered({}, (), ()))
    hints = type_hints(owner)
    rules: list[FieldRule] = []
    unique: list[tuple[str, ...]] = list(registered.unique)
    live: list[str] = []
    is_entity = isinstance(owner, type) and issubclass(owner, Entity)
    for each in dataclasses.fields(owner):
        name = each.name
        if is_entity and name == "version":
            continue  # Andamios owns it
        markers, bare = _markers(hints.get(name, typing.Any))
        kind, optional = _optional(bare)
        if is_entity and name == "id":
            kind, optional = id_type_of(owner) or typing.Any, False
        kind = unwrap_new_type(kind)
        facts = registered.columns.get(name, ColumnFacts())
        stamped = any(isinstance(m, (CreatedAt, UpdatedAt)) for m in markers)
        constraints = [m for m in markers if isinstance(m, _VALUE_MARKERS)]
        constraints += [c for c in facts.constraints if c not in constraints]
        if kind is int and not any(isinstance(c, Bits) for c in constraints):
            constraints.append(_INT64)
        for marker in markers:
            if isinstance(marker, Unique) and marker.live_only:
                live.append(name)
            elif isinstance(marker, Unique) and (name,) not in unique:
                unique.append((name,))
        nullable = stamped or (optional and facts.nullable)
        strictest = _strictest(constraints)
        fast = fast_check(kind, strictest, json=facts.json)
        rules.append(FieldRule(name, kind, nullable, strictest, facts.json, fast))
    rules += _inner_rules(owner, registered.columns)
    return StorageRules(
        owner,
        tuple(rules),
        tuple(unique),
        registered.links,
        tuple(live),
        {r.name: r for r in rules},
    )


def _inner_rules(owner: type, columns: Mapping[str, ColumnFacts]) -> list[FieldRule]:
    """Rules for the fields of value objects stored in columns of their own (``cost.amount``)."""
    found: list[FieldRule] = []
    for path, facts in columns.items():
        head, _, name = path.partition(".")
        if not name:
            continue
        value_type = _optional(_markers(type_hints(owner).get(head, typing.Any))[1])[0]
        if not (isinstance(value_type, type) and dataclasses.is_dataclass(value_type)):
            continue
        inner = storage_rules(value_type).by_name[name]
        optional = inner.nullable or _optional(_markers(type_hints(owner)[head])[1])[1]
        constraints = [
            *inner.constraints,
            *(c for c in facts.constraints if c not in inner.constraints),
        ]
        found.append(
            FieldRule(path, inner.kind, optional and facts.nullable, _strictest(constraints))
        )
    return found


def _strictest(constraints: list[Constraint]) -> tuple[Constraint, ...]:
    """One constraint per kind where two say the same thing differently (the tighter wins)."""
    bits = [c for c in constraints if isinstance(c, Bits)]
    lengths = [c for c in constraints if isinstance(c, MaxLength)]
    digits = [c for c in constraints if isinstance(c, Digits)]
    merged = (Bits, MaxLength, Digits)
    kept: list[Constraint] = [c for c in constraints if not isinstance(c, merged)]
    if bits:
        kept.append(min(bits, key=lambda c: c.bits))
    if lengths:
        kept.append(min(lengths, key=lambda c: c.length))
    if digits:  # the fewest places after the point, and the fewest before it
        scale = min(c.scale for c in digits)
        kept.append(Digits(scale + min(c.precision - c.scale for c in digits), scale))
    return tuple(kept)


def id_type_of(owner: type) -> object:
    """The id class an aggregate or entity names in its base (``AggregateRoot[UUID]``), or None."""
    for klass in owner.__mro__:
        for base in klass.__dict__.get("__orig_bases__", ()):
            origin = typing.get_origin(base)
            if isinstance(origin, type) and issubclass(origin, Entity):
                args = typing.get_args(base)
                if args and not isinstance(args[0], typing.TypeVar):
                    return unwrap_new_type(args[0])
    return None


# -- values ------------------------------------------------------------------------------------


def text_problem(value: str) -> str | None:
    """Why a text cannot be stored (a NUL character or a lone surrogate), or None."""
    if "\x00" in value:
        # PostgreSQL's text cannot hold U+0000; refused on every adapter alike (ADR 0011).
        return "holds a NUL character (U+0000), which a text column cannot store on PostgreSQL"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode (it holds a lone surrogate, which no database stores)"
    return None


_SIMPLE: dict[type, Callable[[object], bool]] = {
    bool: lambda v: type(v) is bool,
    int: lambda v: isinstance(v, int) and not isinstance(v, bool),
    float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    Decimal: lambda v: isinstance(v, (Decimal, int)) and not isinstance(v, bool),
    bytes: lambda v: type(v) is bytes,
    datetime: lambda v: isinstance(v, datetime),
    date: lambda v: isinstance(v, date) and not isinstance(v, datetime),
    time: lambda v: isinstance(v, time),
    timedelta: lambda v: isinstance(v, timedelta),
    UUID: lambda v: isinstance(v, UUID),
}


def describe(kind: object) -> str:
    """A type's name for a message (``int | str`` for a union)."""
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        return " | ".join(describe(member) for member in typing.get_args(kind))
    return kind.__name__ if isinstance(kind, type) else repr(kind)


def type_problem(kind: object, value: object) -> str | None:  # noqa: PLR0911, PLR0912 - one case per kind of type
    """Why ``value`` is not a ``kind``, or None; containers and dataclasses are checked inside."""
    kind = unwrap_new_type(kind)
    if kind is typing.Any or kind is object or isinstance(kind, (typing.TypeVar, str)):
        return None
    origin = typing.get_origin(kind)
    if origin is typing.Annotated:
        return type_problem(typing.get_args(kind)[0], value)
    if isinstance(kind, types.UnionType) or origin is typing.Union:
        members = typing.get_args(kind)
        if value is None and type(None) in members:
            return None
        problems = [type_problem(member, value) for member in members]
        if None in problems:
            return None
        return f"is {type(value).__name__} {value!r}, not {describe(kind)}"
    if origin is typing.Literal:
        if value in typing.get_args(kind):
            return None
        return f"is {value!r}, not one of {typing.get_args(kind)!r}"
    if origin is not None:
        return _container_problem(kind, origin, value)
    if not isinstance(kind, type):
        return None  # a form this check does not read (a protocol, a callable, ...)
    if issubclass(kind, enum.Enum):
        ok = isinstance(value, kind)
    elif issubclass(kind, str):
        if not isinstance(value, str):
            return f"is {type(value).__name__} {value!r}, not str"
        return text_problem(value)
    else:
        simple = next((check for base, check in _SIMPLE.items() if issubclass(kind, base)), None)
        if simple is not None:
            ok = simple(value)
        else:
            try:
                ok = isinstance(value, kind)
            except TypeError:  # a generic protocol isinstance cannot check
                return None
    if not ok:
        return f"is {type(value).__name__} {value!r}, not {kind.__name__}"
    if kind is float and isinstance(value, int) and abs(value) > _FLOAT_MAX:
        return "is too large for a float (DOUBLE)"
    if dataclasses.is_dataclass(kind) and not isinstance(value, type):
        return _dataclass_problem(value)
    return None


def _container_problem(  # noqa: PLR0911, PLR0912 - one case per kind of container
    kind: object, origin: object, value: object
) -> str | None:
    if not isinstance(origin, type):
        return None
    try:
        ok = isinstance(value, origin)
    except TypeError:  # a generic protocol isinstance cannot check
        return None
    if not ok:
        return f"is {type(value).__name__}, not {describe(origin)}"
    args = typing.get_args(kind)
    if isinstance(value, Mapping):
        if len(args) == 2:
            for key, item in value.items():
                problem = type_problem(args[0], key) or type_problem(args[1], item)
                if problem is not None:
                    return f"holds an item that {problem}"
        return None
    if isinstance(value, tuple) and args and args[-1] is not Ellipsis:
        if len(args) != len(value):
            return f"has {len(value)} items, not {len(args)}"
        pairs: Iterable[tuple[object, object]] = zip(args, value, strict=True)
    elif args and isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        pairs = ((args[0], item) for item in value)
    else:
        return None
    for each_kind, item in pairs:
        problem = type_problem(each_kind, item)
        if problem is not None:
            return f"holds an item that {problem}"
    return None


def _dataclass_problem(value: object) -> str | None:
    """Check a value object's or child entity's own fields by its own rules."""
    rules = storage_rules(type(value))
    for rule in rules.fields:
        held = getattr(value, rule.name, None)
        problem = None if rule.fast.one(held) else rule.problem(held)
        if problem is not None:
            return f"holds {type(value).__name__}.{rule.name}, which {problem}"
    return _link_problem(rules, value)


def json_problem(value: object) -> str | None:
    """Why ``value`` cannot be written as JSON text unchanged (a NaN or infinity), or None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else f"holds {value}, which JSON cannot store"
    if isinstance(value, str):
        return None if "\x00" not in value else "holds a NUL character (U+0000) in a text"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        items: Iterable[object] = (getattr(value, f.name) for f in dataclasses.fields(value))
    elif isinstance(value, Mapping):
        items = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = value
    else:
        return None
    for item in items:
        problem = json_problem(item)
        if problem is not None:
            return problem
    return None


def _link_problem(rules: StorageRules, value: object) -> str | None:
    for link in rules.links:
        held = getattr(value, link.children, None)
        expected = getattr(value, link.root_field, None)
        for child in held if isinstance(held, list) else (held,):
            if child is None:
                continue
            found = getattr(child, link.child_field, None)
            if found != expected:
                return (
                    f"holds {type(child).__name__}.{link.child_field} = {found!r}, which must be "
                    f"its {type(value).__name__}'s {link.root_field} {expected!r} (the join column)"
                )
    return None


def violation(constraint: Constraint, value: object) -> str | None:  # noqa: PLR0911 - per kind
    """Why ``value`` breaks ``constraint``, or ``None`` if it fits (``None`` always fits)."""
    if value is None:
        return None
    match constraint:
        case MaxLength(length=length):
            if isinstance(value, (str, bytes)) and len(value) > length:
                return f"is {len(value)} long, more than MaxLength({length})"
        case Digits(precision=precision, scale=scale):
            if isinstance(value, (Decimal, int)) and not isinstance(value, bool):
                return _digits_violation(Decimal(value), precision, scale)
        case Bits():
            if isinstance(value, int) and not constraint.low <= value <= constraint.high:
                return f"is out of range for Bits({constraint.bits}), {_range(constraint)}"
        case Aware():
            if isinstance(value, (datetime, time)) and value.utcoffset() is None:
                kind = type(value).__name__
                return f"is a naive {kind} where a timezone-aware one is required"
        case _:  # Naive()
            if isinstance(value, (datetime, time)) and value.utcoffset() is not None:
                kind = type(value).__name__
                return (
                    f"is a timezone-aware {kind} where a naive one is required (a column "
                    "without a time zone would drop its zone: declare Aware() and map "
                    "timezone=True)"
                )
    return None


def _range(bits: Bits) -> str:
    return f"{bits.low}..{bits.high}"


def _digits_violation(value: Decimal, precision: int, scale: int) -> str | None:
    where = f"Digits({precision}, {scale})"
    if not value.is_finite():
        return f"is {value}, which no {where} can hold"
    exact = quantized(value, scale)
    if exact is not None and exact != value:
        return f"has more than {scale} decimal places for {where}"
    if exact is None or abs(exact) >= Decimal(10) ** (precision - scale):
        return f"is out of range for {where}"
    return None


def _data_error(aggregate: object, field: str, value: object, problem: str) -> DataError:
    kind = type(aggregate)
    id = getattr(aggregate, "id", None)
    msg = f"{kind.__name__} {id!r}: {field} = {short(value)} {problem}"
    return DataError(msg, aggregate_type=kind, aggregate_id=id, field=field)


def short(value: object) -> str:
    """A value's repr for a message, cut to 80 characters."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _read(owner: object, path: str) -> object:
    value: object = owner
    for part in path.split("."):
        if value is None:
            return None
        value = getattr(value, part, None)
    return value


def check_stored(aggregate: object, *, skip: Collection[str] = ()) -> None:
    """Raise :class:`DataError` unless every field of ``aggregate`` can be stored as it is
    (``skip``: those not to check, as :func:`check_all` says)."""
    if not dataclasses.is_dataclass(aggregate):
        return  # a class mapped straight in a SQLAlchemy registry: the database's rules apply
    rules = storage_rules(type(aggregate))
    for rule in rules.fields:
        if rule.name in skip:
            continue
        value = (
            _read(aggregate, rule.name) if "." in rule.name else getattr(aggregate, rule.name, None)
        )
        if rule.fast.one(value) or (value is None and rule.nullable):
            continue
        problem = rule.problem(value)
        if problem is not None:
            raise _data_error(aggregate, rule.name, value, problem)
    problem = _link_problem(rules, aggregate)
    if problem is not None:
        link = rules.links[0].children if len(rules.links) == 1 else "children"
        raise _data_error(aggregate, link, getattr(aggregate, link, None), problem)


def check_all(
    aggregates: Sequence[object],
    read: Mapping[str, list[typing.Any]] | None = None,
    *,
    typed_only: Collection[str] = (),
    skip: Collection[str] = (),
) -> None:
    """:func:`check_stored` for many aggregates of one type, column by column (the bulk path).

    The plain values of a column are accepted by one pass of the fields' cheap predicates; if
    any is not, every aggregate is checked in order, so the error is the one memory raises.
    ``read``: the values of some fields, read already (a field's name to its column).
    ``typed_only``: fields whose values only have their type tested here, because the caller's
    own conversion refuses what their other rules refuse; when it does refuse one, the caller
    runs :func:`check_stored` over the aggregates in order, for the error memory raises.
    ``skip``: fields not checked at all, because the caller knows they hold what storage gave
    (unchanged since read).
    """
    kind = type(aggregates[0])  # a bulk write's group: one mapped aggregate type, never empty
    rules = storage_rules(kind)
    read = read or {}
    states: list[dict[str, typing.Any]] = []
    plain = not rules.links and set(map(type, aggregates)) == {kind}
    for rule in rules.fields:
        if not plain:
            break
        if rule.name in skip:
            continue
        values = read.get(rule.name)
        if values is None:
            states = states or list(map(vars, aggregates))
            try:
                values = list(map(operator.itemgetter(rule.name), states))
            except KeyError:  # a dotted path, or a value read through instrumentation
                values = [_read(aggregate, rule.name) for aggregate in aggregates]
        plain = rule.fast.all(values, nullable=rule.nullable, typed_only=rule.name in typed_only)
    if not plain:
        for aggregate in aggregates:
            check_stored(aggregate, skip=skip)


def stored_state(owner: type, state: dict[str, object]) -> None:
    """Put each value of ``state`` (an aggregate's fields) in the form storage gives it back.

    ``1`` in a float field reads back ``1.0`` (also inside a value object stored as JSON), and a
    Decimal in a ``NUMERIC(p, s)`` column has its scale and no negative zero (``Decimal("-5")`` in
    ``Digits(12, 2)`` reads back ``Decimal("-5.00")``, ``Decimal("-0")`` reads back ``0.00``).
    """
    rules = storage_rules(owner)
    for name, value in state.items():
        rule = rules.by_name[name]
        state[name] = _stored(rule, value, rules, name, json=rule.json)


def _stored(  # noqa: PLR0911 - one case per kind of value
    rule: FieldRule, value: object, outer: StorageRules, path: str, *, json: bool
) -> object:
    kind = rule.kind
    if value is None or isinstance(value, bool):
        return value
    if kind is float and isinstance(value, int):
        return float(value)
    if kind is Decimal and isinstance(value, (int, Decimal)):
        number = Decimal(value)
        digits = next((c for c in rule.constraints if isinstance(c, Digits)), None)
        if json or digits is None:
            return number
        if number.is_zero():
            number = abs(number)  # a database keeps no negative zero
        exact = quantized(number, digits.scale)
        return number if exact is None else exact
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _stored_dataclass(value, outer, path, json=json)
    args = typing.get_args(kind)
    if isinstance(value, (list, tuple, set, frozenset)) and args:
        fixed = isinstance(value, tuple) and args[-1] is not Ellipsis and len(args) == len(value)
        kinds = args if fixed else (args[0],) * len(value)
        items = [
            _stored(_loose(each), item, outer, path, json=json)
            for each, item in zip(kinds, value, strict=True)
        ]
        same = all(a is b for a, b in zip(items, value, strict=True))
        return value if same else type(value)(items)
    if isinstance(value, dict) and len(args) == 2:
        inner = _loose(args[1])
        mapped = {key: _stored(inner, item, outer, path, json=json) for key, item in value.items()}
        return value if all(mapped[k] is v for k, v in value.items()) else mapped
    return value


def _loose(hint: object) -> FieldRule:
    """A rule for an item inside a container: its type only."""
    kind = unwrap_new_type(_optional(_markers(hint)[1])[0])
    return FieldRule("", kind, True, ())


def _stored_dataclass(value: object, outer: StorageRules, path: str, *, json: bool) -> object:
    own = storage_rules(type(value))
    changed: dict[str, object] = {}
    for rule in own.fields:
        inner = f"{path}.{rule.name}"
        current = getattr(value, rule.name, None)
        stored = _stored(outer.by_name.get(inner, rule), current, outer, inner, json=json)
        if stored is not current:
            changed[rule.name] = stored
    if not changed:
        return value
    twin = new_blank(type(value))
    for each in dataclasses.fields(value):  # type: ignore[arg-type]
        object.__setattr__(twin, each.name, changed.get(each.name, getattr(value, each.name)))
    return twin


def version_written(aggregate: object, loaded: int) -> DataError:
    """The error for an aggregate whose ``version`` the application assigned."""
    problem = (
        f"was assigned by the application (it was loaded as {loaded}); the version belongs to "
        "Andamios, which counts committed changes: do not assign it"
    )
    return _data_error(aggregate, "version", getattr(aggregate, "version", None), problem)
