"""Cheap predicates that accept the common values of a field without the full check.

:func:`~andamios.ports._storage.check_stored` runs for every aggregate a unit of work writes:
100,000 of them on a bulk insert. The full check walks the type and every constraint; these
predicates say "fits" for the plain cases in one expression (a ``str`` that is ASCII and short
enough, an ``int`` in range...), and anything they do not accept goes through the full check,
which alone decides and explains. A predicate may only say ``True`` for a value that fits.

Each :class:`Fast` also tests a whole column at once (:meth:`Fast.all`, the bulk path's): the
same answer as its per-value test on every value, computed by C loops (a set of the values'
types, one joined string, ``min``/``max``, ``map`` over a method) instead of a Python call per
value, which at 10,000 aggregates cost more than the INSERT.
"""

from __future__ import annotations

import decimal
import enum
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from itertools import repeat
from typing import Any
from uuid import UUID

from andamios.domain import Aware, Bits, Digits, MaxLength, Naive

__all__ = ["Fast", "fast_check", "never", "quantized"]

type _Rest = Callable[[Sequence[Any]], bool]

_NONE = type(None)


@dataclass(frozen=True, slots=True)
class Fast:
    """A field's cheap test: ``one`` for a value, :meth:`all` for a column of them.

    ``kind`` is the exact type every value must have (``None``: the full check must always see
    the field), ``rest`` what the values of that type must further satisfy, all at once (never
    called with none).
    """

    one: Callable[[object], bool]
    kind: type | None = None
    rest: _Rest | None = None

    def all(self, values: Sequence[object], *, nullable: bool, typed_only: bool = False) -> bool:
        """Whether ``one`` holds for every value (``None`` counts as fitting if ``nullable``);
        ``typed_only``: whether every value has the type, what ``rest`` tests left out."""
        if not values:
            return True
        types = set(map(type, values))
        if nullable and _NONE in types:
            types.discard(_NONE)
            if not types:
                return True
            values = [value for value in values if value is not None]
        if self.kind is None or types != {self.kind}:
            return False
        return typed_only or self.rest is None or self.rest(values)


def _never(value: object) -> bool:
    return False


#: The test of a field the full check must always see (containers, value objects).
never = Fast(_never)


def _exact(kind: type) -> Fast:
    return Fast(lambda v: type(v) is kind, kind)


def _text(length: int | None) -> Fast:
    def plain(values: Sequence[str]) -> bool:
        joined = "".join(values)
        return joined.isascii() and "\x00" not in joined

    if length is None:
        return Fast(lambda v: type(v) is str and v.isascii() and "\x00" not in v, str, plain)

    def short(values: Sequence[str]) -> bool:
        return max(map(len, values)) <= length and plain(values)

    return Fast(
        lambda v: type(v) is str and len(v) <= length and v.isascii() and "\x00" not in v,
        str,
        short,
    )


def _whole(bits: Bits) -> Fast:
    low, high = bits.low, bits.high

    def in_range(values: Sequence[int]) -> bool:
        return low <= min(values) and max(values) <= high

    return Fast(lambda v: type(v) is int and low <= v <= high, int, in_range)


# Wide enough for every NUMERIC the databases hold (38 digits) and then some: Python's default
# context (28 digits) would refuse to quantize a valid DECIMAL(38, 10) value.
_WIDE = decimal.Context(prec=80)


def quantized(value: Decimal, scale: int) -> Decimal | None:
    """``value`` at ``scale`` decimal places (rounded half-even), or None if it has no such form."""
    try:
        return value.quantize(Decimal(1).scaleb(-scale), context=_WIDE)
    except InvalidOperation:
        return None


def _finite(values: Sequence[Decimal]) -> bool:
    return all(map(Decimal.is_finite, values))


def _decimal(digits: Digits | None) -> Fast:
    if digits is None:
        return Fast(lambda v: type(v) is Decimal and v.is_finite(), Decimal, _finite)
    scale = digits.scale
    unit = Decimal(1).scaleb(-scale)
    limit = Decimal(10) ** (digits.precision - digits.scale)

    def fits(v: object) -> bool:
        if type(v) is not Decimal or not v.is_finite():
            return False
        # The full check's own test: exact at the scale, and in range.
        return quantized(v, scale) == v and -limit < v < limit

    def all_fit(values: Sequence[Decimal]) -> bool:
        if not _finite(values):
            return False
        exact = map(Decimal.quantize, values, repeat(unit), repeat(None), repeat(_WIDE))
        try:
            same = all(map(operator.eq, exact, values))
        except InvalidOperation:  # no form at that scale within 80 digits
            return False
        return same and -limit < min(values) and max(values) < limit

    return Fast(fits, Decimal, all_fit)


def _moment(kind: type, aware: bool | None) -> Fast:
    if aware is None:
        return _exact(kind)
    if aware:

        def all_aware(values: Sequence[Any]) -> bool:
            return None not in list(map(kind.utcoffset, values))  # type: ignore[attr-defined]

        return Fast(
            lambda v: type(v) is kind and v.utcoffset() is not None,  # type: ignore[attr-defined]
            kind,
            all_aware,
        )

    def all_naive(values: Sequence[Any]) -> bool:
        return set(map(operator.attrgetter("tzinfo"), values)) == {None}

    return Fast(lambda v: type(v) is kind and v.tzinfo is None, kind, all_naive)  # type: ignore[attr-defined]


_EXACT: dict[type, Fast] = {kind: _exact(kind) for kind in (bool, bytes, date, timedelta, UUID)}


#: The constraints each predicate tests; with any other, a field takes the full check only.
_MODELLED: dict[object, set[type]] = {
    str: {MaxLength},
    int: {Bits},
    Decimal: {Digits},
    datetime: {Aware, Naive},
    time: {Aware, Naive},
}


def fast_check(  # noqa: PLR0911 - one per kind of field
    kind: object, constraints: tuple[object, ...], *, json: bool
) -> Fast:
    """The cheap predicate for a field of ``kind`` (see the module's docstring)."""
    if json or not isinstance(kind, type):
        return never
    found = {type(c): c for c in constraints}
    if len(found) < len(constraints) or not found.keys() <= _MODELLED.get(kind, set()):
        return never  # a constraint this predicate does not test: the full check decides
    if issubclass(kind, enum.Enum):
        return _exact(kind)
    if kind is str:
        length = found.get(MaxLength)
        return _text(length.length if isinstance(length, MaxLength) else None)
    if kind is int:
        bits = found.get(Bits)
        return _whole(bits) if isinstance(bits, Bits) else never
    if kind is float:
        return _exact(float)
    if kind is Decimal:
        digits = found.get(Digits)
        return _decimal(digits if isinstance(digits, Digits) else None)
    if kind in (datetime, time):
        aware = True if Aware in found else False if Naive in found else None
        return _moment(kind, aware)
    return _EXACT.get(kind, never)
