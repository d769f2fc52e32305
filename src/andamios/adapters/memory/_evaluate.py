"""Evaluating and ordering specs in Python with SQL semantics.

Three-valued logic: a comparison involving ``None`` is *unknown* (``None`` here), ``NOT unknown``
stays unknown, ``AND``/``OR`` follow SQL's truth tables, and only rows that are *true* match.
``None`` sorts last in both directions unless an ordering term asks for ``nulls_first``, exactly as
the SQL adapter writes ``NULLS LAST``/``NULLS FIRST``.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Sequence
from typing import Any

from andamios.domain import (
    And,
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

__all__ = ["Getter", "evaluate", "like_regex", "sort_rows"]

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


def _evaluate(spec: Spec, get: Getter) -> bool | None:  # noqa: PLR0911 - one return per node kind
    match spec:
        case Compare(field=field, op=op, value=expected):
            value = get(field)
            return None if value is None else bool(_OPERATORS[op](value, expected))
        case In(field=field, values=values, negated=negated):
            value = get(field)
            if value is None:
                return None
            if any(candidate == value for candidate in values if candidate is not None):
                return not negated
            return None if None in values else negated
        case IsNone(field=field, negated=negated):
            return (get(field) is None) != negated
        case Between(field=field, low=low, high=high):
            value = get(field)
            return None if value is None else bool(low <= value <= high)  # type: ignore[operator]
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
    msg = f"unsupported specification node {spec!r}"  # pragma: no cover - the node set is closed
    raise InvalidSpecification(msg)  # pragma: no cover


def evaluate(spec: Spec, get: Getter) -> bool | None:
    """True, False or None (unknown) for one row; values of another type are a clear error."""
    try:
        return _evaluate(spec, get)
    except TypeError as error:
        msg = f"{spec!r} compares values of incompatible types: {error}"
        raise InvalidSpecification(msg) from error


def _key[R](get: Callable[[R, str], object], field: str, row: R) -> object:
    return get(row, field)


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
