"""Cheap predicates that accept the common values of a field without the full check.

:func:`~andamios.ports._storage.check_stored` runs for every aggregate a unit of work writes:
100,000 of them on a bulk insert. The full check walks the type and every constraint; these
predicates say "fits" for the plain cases in one expression (a ``str`` that is ASCII and short
enough, an ``int`` in range...), and anything they do not accept goes through the full check,
which alone decides and explains. A predicate may only say ``True`` for a value that fits.
"""

from __future__ import annotations

import decimal
import enum
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from uuid import UUID

from andamios.domain import Aware, Bits, Digits, MaxLength, Naive

__all__ = ["Fast", "fast_check", "never", "quantized"]

type Fast = Callable[[object], bool]


def never(value: object) -> bool:
    """The predicate of a field the full check must always see (containers, value objects)."""
    return False


_EXACT: dict[type, Fast] = {
    bool: lambda v: type(v) is bool,
    bytes: lambda v: type(v) is bytes,
    date: lambda v: type(v) is date,
    timedelta: lambda v: type(v) is timedelta,
    UUID: lambda v: type(v) is UUID,
}


def _text(length: int | None) -> Fast:
    if length is None:
        return lambda v: type(v) is str and v.isascii() and "\x00" not in v
    return lambda v: type(v) is str and len(v) <= length and v.isascii() and "\x00" not in v


def _whole(bits: Bits) -> Fast:
    low, high = bits.low, bits.high
    return lambda v: type(v) is int and low <= v <= high


# Wide enough for every NUMERIC the databases hold (38 digits) and then some: Python's default
# context (28 digits) would refuse to quantize a valid DECIMAL(38, 10) value.
_WIDE = decimal.Context(prec=80)


def quantized(value: Decimal, scale: int) -> Decimal | None:
    """``value`` at ``scale`` decimal places (rounded half-even), or None if it has no such form."""
    try:
        return value.quantize(Decimal(1).scaleb(-scale), context=_WIDE)
    except InvalidOperation:
        return None


def _decimal(digits: Digits | None) -> Fast:
    if digits is None:
        return lambda v: type(v) is Decimal and v.is_finite()
    scale = digits.scale
    limit = Decimal(10) ** (digits.precision - digits.scale)

    def fits(v: object) -> bool:
        if type(v) is not Decimal or not v.is_finite():
            return False
        # The full check's own test: exact at the scale, and in range.
        return quantized(v, scale) == v and -limit < v < limit

    return fits


def _moment(kind: type, aware: bool | None) -> Fast:
    if aware is None:
        return lambda v: type(v) is kind
    if aware:
        return lambda v: type(v) is kind and v.utcoffset() is not None  # type: ignore[attr-defined]
    return lambda v: type(v) is kind and v.tzinfo is None  # type: ignore[attr-defined]


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
        return lambda v: type(v) is kind
    if kind is str:
        length = found.get(MaxLength)
        return _text(length.length if isinstance(length, MaxLength) else None)
    if kind is int:
        bits = found.get(Bits)
        return _whole(bits) if isinstance(bits, Bits) else never
    if kind is float:
        return lambda v: type(v) is float
    if kind is Decimal:
        digits = found.get(Digits)
        return _decimal(digits if isinstance(digits, Digits) else None)
    if kind in (datetime, time):
        aware = True if Aware in found else False if Naive in found else None
        return _moment(kind, aware)
    return _EXACT.get(kind, never)
