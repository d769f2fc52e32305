"""Evaluating and ordering specs in Python with SQL semantics.

Three-valued logic: a comparison involving ``None`` is *unknown* (``None`` here), ``NOT unknown``
stays unknown, ``AND``/``OR`` follow SQL's truth tables, and only rows that are *true* match.
``F("lines").any(spec)`` is true when one child entity makes ``spec`` true and false otherwise
(never unknown), as SQL's ``EXISTS``.
``None`` sorts last in both directions unless an ordering term asks for ``nulls_first``, exactly as
the SQL adapter writes ``NULLS LAST``/``NULLS FIRST``.

Floating point numbers compare and sort as DuckDB's ``DOUBLE`` does, not as Python's ``float``:
NaN equals NaN and is greater than every other number (``+inf`` included), ``-0.0`` equals
``0.0``, and a float compared with another number compares with it converted to a float (DuckDB
casts the other side to ``DOUBLE``). A ``Decimal`` NaN, which no adapter stores, is ordered like
a float NaN rather than raising ``decimal.InvalidOperation``.
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from andamios.domain import (
    And,
    AnyMatch,
    Between,
    Compare,
    In,
    InvalidSpecification,
    IsNone,
    Match,
    MatchKind,
    Not,
    Op,
    Or,
    Order,
    Spec,
)
from andamios.ports.spi import resolve_path

__all__ = ["Getter", "evaluate", "like_regex", "sort_key", "sort_rows"]

type Getter = Callable[[str], object]
"""Reads a (dotted) field path from one candidate row."""

_OPERATORS: dict[Op, Callable[[Any, Any], object]] = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}


_NAN = (1, 0.0)
"""The key of every NaN: above the key ``(0, x)`` of every other number, equal to itself."""


def _is_nan(value: object) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, Decimal) and value.is_nan()


def _floating(value: object) -> bool:
    """Whether comparing with ``value`` follows DOUBLE semantics (a float, or any NaN)."""
    return isinstance(value, float) or _is_nan(value)


def _double(value: object) -> object:
    """The key DuckDB compares a DOUBLE by: NaN above all, any other number as a float."""
    if _is_nan(value):
        return _NAN
    # Anything else compares as it is (a type error for an ordering, never equal).
    return (0, float(value)) if isinstance(value, (int, float, Decimal)) else value


def _compare(op: Op, value: object, expected: object) -> bool:
    if _floating(value) or _floating(expected):
        value, expected = _double(value), _double(expected)
    return bool(_OPERATORS[op](value, expected))


def _between(value: object, low: object, high: object) -> bool:
    return _compare(Op.GE, value, low) and _compare(Op.LE, value, high)


def sort_key(value: object) -> object:
    """Numbers in DOUBLE order (NaN last, exact otherwise), other values as they are."""
    if _is_nan(value):
        return _NAN
    if isinstance(value, (int, float, Decimal)):
        return (0, value)
    return value


@functools.lru_cache(maxsize=512)
def like_regex(pattern: str) -> re.Pattern[str]:
    """Compile a SQL LIKE pattern (``%``, ``_``; no escape character) to a regex ignoring case."""
    parts = [".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern]
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


def _match(kind: MatchKind, value: str, text: str) -> bool:
    if kind is MatchKind.CONTAINS:
        return text in value
    if kind is MatchKind.STARTSWITH:
        return value.startswith(text)
    if kind is MatchKind.ENDSWITH:
        return value.endswith(text)
    return like_regex(text).fullmatch(value) is not None


def _combine_and(results: Sequence[bool | None]) -> bool | None:
    if False in results:
        return False
    return None if None in results else True


def _combine_or(results: Sequence[bool | None]) -> bool | None:
    if True in results:
        return True
    return None if None in results else False


def _evaluate(spec: Spec, get: Getter) -> bool | None:  # noqa: PLR0911, PLR0912 - one per node kind
    match spec:
        case Compare(field=field, op=op, value=expected):
            value = get(field)
            return None if value is None else _compare(op, value, expected)
        case In(field=field, values=values, negated=negated):
            value = get(field)
            if value is None:
                return None
            if any(_compare(Op.EQ, value, each) for each in values if each is not None):
                return not negated
            return None if None in values else negated
        case IsNone(field=field, negated=negated):
            return (get(field) is None) != negated
        case Between(field=field, low=low, high=high):
            value = get(field)
            return None if value is None else _between(value, low, high)
        case Match(field=field, kind=kind, text=text):
            value = get(field)
            if value is None:
                return None
            if not isinstance(value, str):
                msg = f"F({field!r}).{kind.value}() needs a text field, got {type(value).__name__}"
                raise InvalidSpecification(msg)
            return _match(kind, value, text)
        case And(parts=parts):
            return _combine_and([_evaluate(part, get) for part in parts])
        case Or(parts=parts):
            return _combine_or([_evaluate(part, get) for part in parts])
        case Not(part=part):
            result = _evaluate(part, get)
            return None if result is None else not result
        case AnyMatch(field=field, spec=inner):
            return _any_child(get(field), inner)
    msg = f"unsupported specification node {spec!r}"  # pragma: no cover - the node set is closed
    raise InvalidSpecification(msg)  # pragma: no cover


def _any_child(held: object, spec: Spec | None) -> bool:
    """Whether one of the children ``held`` (a list, one child or None) makes ``spec`` true
    (with no spec: whether there is one)."""
    children = held if isinstance(held, list) else [] if held is None else [held]
    if spec is None:
        return bool(children)
    return any(
        _evaluate(spec, functools.partial(resolve_path, child)) is True for child in children
    )


def evaluate(spec: Spec, get: Getter) -> bool | None:
    """True, False or None (unknown) for one row; values of another type are a clear error."""
    try:
        return _evaluate(spec, get)
    except (TypeError, OverflowError) as error:
        msg = f"{spec!r} compares values of incompatible types: {error}"
        raise InvalidSpecification(msg) from error


def _key[R](get: Callable[[R, str], object], field: str, row: R) -> object:
    return sort_key(get(row, field))


def sort_rows[R](rows: list[R], order: Sequence[Order], get: Callable[[R, str], object]) -> None:
    """Sort ``rows`` in place by ``order`` (stable, SQL NULL placement)."""
    try:
        for term in reversed(order):
            present = [row for row in rows if get(row, term.field) is not None]
            missing = [row for row in rows if get(row, term.field) is None]
            key: Callable[[R], Any] = functools.partial(_key, get, term.field)
            present.sort(key=key, reverse=term.descending)
            rows[:] = missing + present if term.nulls_first else present + missing
    except TypeError as error:
        msg = f"cannot order by {list(order)!r}: {error}"
        raise InvalidSpecification(msg) from error
