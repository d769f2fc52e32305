"""Compiling specifications and orderings into SQLAlchemy expressions.

Every field path goes through the aggregate's mapping (an unknown one is an
:class:`~andamios.domain.InvalidSpecification` before any SQL runs) and every value becomes a bound
parameter typed by its column. The SQL keeps the semantics the in-memory adapter evaluates:
three-valued logic for NULL (``x IN (1, NULL)`` is unknown, never false, when ``x`` is not 1),
literal ``contains``/``startswith``/``endswith`` (``%`` and ``_`` escaped), ``ilike`` as a LIKE
pattern without an escape character, ``NULLS LAST``/``NULLS FIRST`` written out in ORDER BY, and
text ordered by code point, as Python orders ``str`` (:class:`~andamios.adapters.sql_spi.
CodePointText`: a database whose collation could say otherwise is told so).

``F("lines").any(spec)`` is ``EXISTS (SELECT 1 FROM <alias of the child table> WHERE <join to
the outer row> AND <spec over the alias>)``: the child table is aliased and everything else is
correlated to the enclosing query, so the subquery stays right when that query also joins (or
aliases) the same tables. The compiler reads paths through :class:`SpecColumns`, which
:class:`~andamios.adapters.sqlalchemy._mapping.AggregateMapping` implements; a read model
supplies its own.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import sqlalchemy as sa

from andamios.adapters.sql_spi import CodePointText, base_type
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

__all__ = ["Binder", "SpecColumns", "bound", "compile_order", "compile_spec"]

type _Column = sa.ColumnElement[Any]


class SpecColumns(Protocol):
    """Where the compiler finds what a spec's paths name (``AggregateMapping`` is one)."""

    def column(self, path: str) -> sa.ColumnElement[Any]:
        """The SQL expression of a (dotted) field path; InvalidSpecification if none."""
        ...

    def collection(self, path: str) -> tuple[SpecColumns, sa.ColumnElement[bool], sa.FromClause]:
        """The child entities ``path`` holds: the columns of one child, the condition joining
        it to the outer row, and the FROM it is selected from (the only FROM not correlated);
        InvalidSpecification if ``path`` holds none."""
        ...

    def present(self, path: str) -> sa.ColumnElement[bool] | None:
        """Whether the whole value at ``path`` is there, when no one column holds it (a
        one-to-one child, a value object in several columns); None when one column does."""
        ...


_OPERATORS: dict[Op, Callable[[Any, Any], sa.ColumnElement[bool]]] = {
    Op.EQ: operator.eq,
    Op.NE: operator.ne,
    Op.LT: operator.lt,
    Op.LE: operator.le,
    Op.GT: operator.gt,
    Op.GE: operator.ge,
}


_ORDERING = frozenset({Op.LT, Op.LE, Op.GT, Op.GE})


def _ordered(column: _Column) -> _Column:
    """``column`` as ordering and range comparisons see it: text by code point."""
    base = base_type(column.type)
    if isinstance(base, sa.String) and not getattr(base, "native_enum", False):
        return CodePointText(column)
    return column


type Binder = Callable[[_Column, object], sa.BindParameter[Any]]


def bound(column: _Column, value: object) -> sa.BindParameter[Any]:
    """``value`` as a parameter typed by ``column``: how a spec's values are bound by default."""
    # Explicit: SQLAlchemy would inline True/False as SQL keywords, and values are always bound.
    return sa.bindparam(None, value, type_=column.type)


def _match(column: _Column, kind: MatchKind, text: str) -> sa.ColumnElement[bool]:
    if kind is MatchKind.CONTAINS:
        return column.contains(text, autoescape=True)
    if kind is MatchKind.STARTSWITH:
        return column.startswith(text, autoescape=True)
    if kind is MatchKind.ENDSWITH:
        return column.endswith(text, autoescape=True)
    return column.ilike(text)


def compile_spec(  # noqa: PLR0911 - one return per node kind
    mapping: SpecColumns, spec: Spec, bind: Binder = bound
) -> sa.ColumnElement[bool]:
    """The WHERE clause of ``spec`` over the columns ``mapping`` resolves (its table's).

    ``bind`` makes the parameter of each compared value, in the order of the spec's nodes (a
    ``between``: low, then high): the direct read path binds numbered slots instead
    (:mod:`._direct`).
    """
    match spec:
        case Compare(field=path, op=op, value=value):
            column = mapping.column(path)
            compared = _ordered(column) if op in _ORDERING else column
            return _OPERATORS[op](compared, bind(column, value))
        case In(field=path, values=values, negated=negated):
            # One expanding bound parameter; a None inside binds NULL, so the database applies
            # SQL's three-valued IN / NOT IN exactly as the in-memory adapter evaluates it.
            column = mapping.column(path)
            # Typed by the column, not by the first value: ``F("ratio").in_([0, nan])`` binds
            # floats (asyncpg would take the ``0`` for an INTEGER and refuse ``nan``).
            name = getattr(column, "key", None)
            listed = sa.bindparam(
                name, list(values), type_=column.type, expanding=True, unique=True
            )
            return column.not_in(listed) if negated else column.in_(listed)
        case IsNone(field=path, negated=negated):
            present = mapping.present(path)
            if present is not None:  # a whole value no one column holds
                return present if negated else sa.not_(present)
            column = mapping.column(path)
            return column.is_not(None) if negated else column.is_(None)
        case Between(field=path, low=low, high=high):
            column = mapping.column(path)
            return _ordered(column).between(bind(column, low), bind(column, high))
        case Match(field=path, kind=kind, text=text):
            return _match(mapping.column(path), kind, text)
        case And(parts=parts):
            return sa.and_(*(compile_spec(mapping, part, bind) for part in parts))
        case Or(parts=parts):
            return sa.or_(*(compile_spec(mapping, part, bind) for part in parts))
        case Not(part=part):
            return sa.not_(compile_spec(mapping, part, bind))
        case AnyMatch(field=path, spec=inner):
            columns, joined, source = mapping.collection(path)
            matching = sa.select(sa.literal(1)).select_from(source).where(joined)
            if inner is not None:
                matching = matching.where(compile_spec(columns, inner, bind))
            return sa.exists(matching.correlate_except(source))
    msg = f"unsupported specification node {spec!r}"
    raise InvalidSpecification(msg)


def compile_order(mapping: SpecColumns, order: Sequence[Order]) -> list[sa.ColumnElement[Any]]:
    """ORDER BY terms with the NULL placement of every term written out."""
    terms: list[sa.ColumnElement[Any]] = []
    for term in order:
        column = _ordered(mapping.column(term.field))
        directed = column.desc() if term.descending else column.asc()
        terms.append(directed.nulls_first() if term.nulls_first else directed.nulls_last())
    return terms
