"""The specification language: query criteria as a pure data tree.

``F("price") < 10`` builds a :class:`Compare` node; ``&``, ``|`` and ``~`` combine nodes into
:class:`And`, :class:`Or` and :class:`Not`. ``F("lines").any(F("sku") == "x")`` builds an
:class:`AnyMatch`: at least one child entity of the field makes the inner spec true. Adapters
turn the tree into SQL (always with bound parameters) or evaluate it in Python with SQL's
three-valued logic. ``F("x").asc()`` and ``.desc()`` build :class:`Order` terms.

**NULL rule** (both adapters): a comparison with ``None`` is unknown and never matches;
``F(x) == None`` means :meth:`Field.is_none`. In ordering, ``None`` sorts **last** in both
directions unless ``nulls_first=True`` is given (DuckDB's own default, written out explicitly in
SQL so a server setting cannot change it).
"""

from __future__ import annotations

import enum
import keyword
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NoReturn

from andamios.domain._errors import InvalidSpecification

__all__ = [
    "And",
    "AnyMatch",
    "Between",
    "Compare",
    "F",
    "Field",
    "In",
    "IsNone",
    "Match",
    "MatchKind",
    "Not",
    "Op",
    "Or",
    "Order",
    "OrderBy",
    "Spec",
    "normalize_order",
]


class Op(enum.StrEnum):
    """A comparison operator."""

    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="


class MatchKind(enum.StrEnum):
    """A string-matching operator."""

    CONTAINS = "contains"
    STARTSWITH = "startswith"
    ENDSWITH = "endswith"
    ILIKE = "ilike"


def _validate_path(path: object) -> str:
    if not isinstance(path, str):
        msg = f"a field path must be a string such as 'price' or 'price.amount', got {path!r}"
        raise InvalidSpecification(msg)
    parts = path.split(".")
    for part in parts:
        if not part.isidentifier() or keyword.iskeyword(part):
            msg = f"invalid field path {path!r}: {part!r} is not a Python identifier"
            raise InvalidSpecification(msg)
    return path


class Spec:
    """Base of every specification node: combine with ``&``, ``|`` and ``~``.

    Python's ``and``, ``or``, ``not`` and ``if spec:`` cannot be overloaded; they would silently
    drop half of a condition, so a spec refuses to be used as a truth value.
    """

    __slots__ = ()

    def __and__(self, other: object) -> And:
        right = _require_spec(other, "&")
        left_parts = self.parts if isinstance(self, And) else (self,)
        right_parts = right.parts if isinstance(right, And) else (right,)
        return And((*left_parts, *right_parts))

    def __or__(self, other: object) -> Or:
        right = _require_spec(other, "|")
        left_parts = self.parts if isinstance(self, Or) else (self,)
        right_parts = right.parts if isinstance(right, Or) else (right,)
        return Or((*left_parts, *right_parts))

    def __invert__(self) -> Spec:
        if isinstance(self, Not):
            return self.part
        return Not(self)

    def __bool__(self) -> NoReturn:
        msg = (
            "a specification has no truth value: combine specs with &, | and ~ "
            "(not 'and', 'or', 'not'), and parenthesise comparisons: (F('a') > 1) & (F('b') < 2)"
        )
        raise InvalidSpecification(msg)

    def fields(self) -> frozenset[str]:
        """Every field path this spec reads."""
        raise NotImplementedError


def _require_spec(other: object, operator: str) -> Spec:
    if not isinstance(other, Spec):
        msg = f"cannot combine a specification with {other!r} using {operator}; both must be specs"
        raise InvalidSpecification(msg)
    return other


@dataclass(frozen=True, slots=True)
class Compare(Spec):
    """``field <op> value``: unknown (never matches) when the field is ``None``."""

    field: str
    op: Op
    value: object

    def fields(self) -> frozenset[str]:
        """The one field compared."""
        return frozenset((self.field,))

    def __repr__(self) -> str:
        return f"F({self.field!r}) {self.op.value} {self.value!r}"


@dataclass(frozen=True, slots=True)
class In(Spec):
    """``field IN (values)`` or, negated, ``field NOT IN (values)``."""

    field: str
    values: tuple[object, ...]
    negated: bool = False

    def fields(self) -> frozenset[str]:
        """The one field tested."""
        return frozenset((self.field,))

    def __repr__(self) -> str:
        name = "not_in" if self.negated else "in_"
        return f"F({self.field!r}).{name}({list(self.values)!r})"


@dataclass(frozen=True, slots=True)
class IsNone(Spec):
    """``field IS NULL`` or, negated, ``field IS NOT NULL``."""

    field: str
    negated: bool = False

    def fields(self) -> frozenset[str]:
        """The one field tested."""
        return frozenset((self.field,))

    def __repr__(self) -> str:
        name = "is_not_none" if self.negated else "is_none"
        return f"F({self.field!r}).{name}()"


@dataclass(frozen=True, slots=True)
class Between(Spec):
    """``low <= field <= high`` (both ends included, as SQL's BETWEEN)."""

    field: str
    low: object
    high: object

    def fields(self) -> frozenset[str]:
        """The one field tested."""
        return frozenset((self.field,))

    def __repr__(self) -> str:
        return f"F({self.field!r}).between({self.low!r}, {self.high!r})"


@dataclass(frozen=True, slots=True)
class Match(Spec):
    """A string match. ``contains``/``startswith``/``endswith`` are case-sensitive and take the
    text literally (``%`` and ``_`` are not wildcards); ``ilike`` takes a SQL LIKE pattern
    (``%`` any run, ``_`` one character) and ignores case."""

    field: str
    kind: MatchKind
    text: str

    def fields(self) -> frozenset[str]:
        """The one field matched."""
        return frozenset((self.field,))

    def __repr__(self) -> str:
        return f"F({self.field!r}).{self.kind.value}({self.text!r})"


@dataclass(frozen=True, slots=True)
class And(Spec):
    """Every part holds (SQL AND)."""

    parts: tuple[Spec, ...]

    def fields(self) -> frozenset[str]:
        """The fields of every part."""
        return frozenset().union(*(part.fields() for part in self.parts))

    def __repr__(self) -> str:
        return " & ".join(f"({part!r})" for part in self.parts)


@dataclass(frozen=True, slots=True)
class Or(Spec):
    """At least one part holds (SQL OR)."""

    parts: tuple[Spec, ...]

    def fields(self) -> frozenset[str]:
        """The fields of every part."""
        return frozenset().union(*(part.fields() for part in self.parts))

    def __repr__(self) -> str:
        return " | ".join(f"({part!r})" for part in self.parts)


@dataclass(frozen=True, slots=True)
class Not(Spec):
    """The part does not hold (SQL NOT: unknown stays unknown)."""

    part: Spec

    def fields(self) -> frozenset[str]:
        """The fields of the negated part."""
        return self.part.fields()

    def __repr__(self) -> str:
        return f"~({self.part!r})"


@dataclass(frozen=True, slots=True)
class AnyMatch(Spec):
    """At least one child entity held by ``field`` makes ``spec`` true (SQL ``EXISTS``); with
    ``spec`` None, there is at least one child.

    ``field`` holds a list of child entities or one optional child; ``spec`` reads the child's
    own fields. Never unknown: true or false, as ``EXISTS`` is, so ``~F("lines").any(...)`` holds
    for an aggregate with no children at all.
    """

    field: str
    spec: Spec | None = None

    def fields(self) -> frozenset[str]:
        """The field holding the children (the inner spec reads the child's fields)."""
        return frozenset((self.field,))

    def __repr__(self) -> str:
        inner = "" if self.spec is None else repr(self.spec)
        return f"F({self.field!r}).any({inner})"


@dataclass(frozen=True, slots=True)
class Order:
    """One ordering term: a field, its direction and where ``None`` goes."""

    field: str
    descending: bool = False
    nulls_first: bool = False

    def __bool__(self) -> NoReturn:
        msg = "an ordering term has no truth value"
        raise InvalidSpecification(msg)

    def __repr__(self) -> str:
        direction = "desc" if self.descending else "asc"
        nulls = "nulls_first=True" if self.nulls_first else ""
        return f"F({self.field!r}).{direction}({nulls})"


class Field:
    """A reference to a field of an aggregate, or, dotted, of a value object inside it.

    >>> (F("price") < 10) & F("name").startswith("A")
    (F('price') < 10) & (F('name').startswith('A'))
    """

    __slots__ = ("path",)

    path: str

    def __init__(self, path: str) -> None:
        object.__setattr__(self, "path", _validate_path(path))

    def __setattr__(self, name: str, value: object) -> NoReturn:
        msg = "a Field is immutable"
        raise AttributeError(msg)

    def __repr__(self) -> str:
        return f"F({self.path!r})"

    __hash__ = None  # type: ignore[assignment]  # == builds a spec, so a Field is unhashable

    def __bool__(self) -> NoReturn:
        msg = f"{self!r} has no truth value; compare it, e.g. F({self.path!r}) == value"
        raise InvalidSpecification(msg)

    def _compare(self, op: Op, value: object) -> Compare:
        if isinstance(value, (Spec, Field, Order)):
            msg = f"{self!r} {op.value} {value!r}: comparing two fields is not supported"
            raise InvalidSpecification(msg)
        if value is None:
            msg = f"{self!r} {op.value} None is never true in SQL; use .is_none()/.is_not_none()"
            raise InvalidSpecification(msg)
        return Compare(self.path, op, value)

    def __eq__(self, value: object) -> Spec:  # type: ignore[override]
        if value is None:
            return IsNone(self.path)
        return self._compare(Op.EQ, value)

    def __ne__(self, value: object) -> Spec:  # type: ignore[override]
        if value is None:
            return IsNone(self.path, negated=True)
        return self._compare(Op.NE, value)

    def __lt__(self, value: object) -> Compare:
        return self._compare(Op.LT, value)

    def __le__(self, value: object) -> Compare:
        return self._compare(Op.LE, value)

    def __gt__(self, value: object) -> Compare:
        return self._compare(Op.GT, value)

    def __ge__(self, value: object) -> Compare:
        return self._compare(Op.GE, value)

    def in_(self, values: Iterable[object]) -> In:
        """The field equals one of ``values`` (which must not be empty)."""
        return In(self.path, self._values(values, "in_"))

    def not_in(self, values: Iterable[object]) -> In:
        """The field equals none of ``values`` (which must not be empty)."""
        return In(self.path, self._values(values, "not_in"), negated=True)

    def _values(self, values: Iterable[object], name: str) -> tuple[object, ...]:
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            msg = f"{self!r}.{name}() takes a collection of values, got {values!r}"
            raise InvalidSpecification(msg)
        collected = tuple(values)
        if not collected:
            msg = f"{self!r}.{name}() needs at least one value; an empty list matches nothing"
            raise InvalidSpecification(msg)
        return collected

    def is_none(self) -> IsNone:
        """The field is ``None`` (SQL ``IS NULL``)."""
        return IsNone(self.path)

    def is_not_none(self) -> IsNone:
        """The field is not ``None`` (SQL ``IS NOT NULL``)."""
        return IsNone(self.path, negated=True)

    def between(self, low: object, high: object) -> Between:
        """``low <= field <= high``, both ends included."""
        if low is None or high is None:
            msg = f"{self!r}.between() needs two bounds that are not None"
            raise InvalidSpecification(msg)
        return Between(self.path, low, high)

    def _match(self, kind: MatchKind, text: object) -> Match:
        if not isinstance(text, str):
            msg = f"{self!r}.{kind.value}() takes a string, got {text!r}"
            raise InvalidSpecification(msg)
        return Match(self.path, kind, text)

    def contains(self, text: str) -> Match:
        """The field contains ``text`` (case-sensitive, literal)."""
        return self._match(MatchKind.CONTAINS, text)

    def startswith(self, text: str) -> Match:
        """The field starts with ``text`` (case-sensitive, literal)."""
        return self._match(MatchKind.STARTSWITH, text)

    def endswith(self, text: str) -> Match:
        """The field ends with ``text`` (case-sensitive, literal)."""
        return self._match(MatchKind.ENDSWITH, text)

    def ilike(self, pattern: str) -> Match:
        """The field matches the SQL LIKE ``pattern`` ignoring case (``%`` and ``_`` wildcards)."""
        return self._match(MatchKind.ILIKE, pattern)

    def any(self, spec: Spec | None = None) -> AnyMatch:
        """At least one child entity of this field makes ``spec`` true (without one: there is
        at least one child).

        ``F("lines").any((F("sku") == "TEA-01") & (F("quantity") > 2))``: a line matching both;
        ``F("note").any(F("text") == "gift")`` for a one-to-one child (``Note | None``);
        ``~F("lines").any()``: no lines at all.
        """
        candidate: object = spec  # the annotation is a promise a caller may not keep
        if candidate is not None and not isinstance(candidate, Spec):
            msg = (
                f"{self!r}.any() takes a specification over the child's fields, such as "
                f"{self!r}.any(F('sku') == 'x'), got {spec!r}"
            )
            raise InvalidSpecification(msg)
        return AnyMatch(self.path, candidate)

    def asc(self, *, nulls_first: bool = False) -> Order:
        """Order by this field, smallest first; ``None`` last unless ``nulls_first``."""
        return Order(self.path, descending=False, nulls_first=nulls_first)

    def desc(self, *, nulls_first: bool = False) -> Order:
        """Order by this field, largest first; ``None`` last unless ``nulls_first``."""
        return Order(self.path, descending=True, nulls_first=nulls_first)


F = Field
"""``F("field")`` starts a specification or an ordering term."""

type OrderBy = Field | Order | str | Sequence[Field | Order | str] | None
"""What ``order_by=`` accepts: a field, an ordering term, a field name, or a sequence of them."""


def normalize_order(order_by: OrderBy) -> tuple[Order, ...]:
    """Turn any accepted ``order_by`` into a tuple of :class:`Order` terms."""
    if order_by is None:
        return ()
    items: object = [order_by] if isinstance(order_by, (Field, Order, str)) else order_by
    if not isinstance(items, Sequence):
        msg = f"order_by takes F('x'), F('x').desc(), a field name or a list of them, not {items!r}"
        raise InvalidSpecification(msg)
    terms: list[Order] = []
    for item in items:
        if isinstance(item, Order):
            terms.append(item)
        elif isinstance(item, Field):
            terms.append(item.asc())
        elif isinstance(item, str):
            terms.append(Field(item).asc())
        else:
            msg = f"order_by takes F('x'), F('x').desc() or a field name, not {item!r}"
            raise InvalidSpecification(msg)
    return tuple(terms)
