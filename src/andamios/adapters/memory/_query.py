"""Read-model queries evaluated in Python, with the semantics the SQL adapter compiles to.

A row is one value per source (an aggregate, a child entity, or ``None`` where an outer join
found nothing). Joins match equal values as SQL does (``None`` matches nothing; ``1``, ``1.0``
and ``Decimal(1)`` are equal; NaN equals NaN, as DuckDB's DOUBLE); groups gather equal keys the
same way (``None`` with ``None``). Aggregations skip ``None``: ``Sum``/``Min``/``Max``/``Avg`` of
no values are ``None``, ``Count`` is 0; ``Avg`` is a float (the sum as a float, divided by the
count as a float), a ``Sum`` of decimals is exact. Ordering, ``having`` and ``where`` reuse the
spec evaluator (three-valued logic, NULLs last, DOUBLE order for floats).
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from andamios.adapters.memory._evaluate import evaluate, sort_key, sort_rows
from andamios.domain import Aggregation, Avg, Count, Min, Output, Sum
from andamios.ports.spi import QueryPlan, Source

__all__ = ["run_query"]

type Row = dict[str, object]
type Read = Callable[[object, str], object]
"""Reads a path (inside a source) from one source value: a committed row or an object."""

_NAN = object()
#: Decimal sums keep every digit (DuckDB's DECIMAL(38, s) result, and then some).
_EXACT = decimal.Context(prec=100)


def _key(value: object) -> object:
    """What equal values share as a join or group key (NaN is one key, as in DuckDB)."""
    if isinstance(value, float) and math.isnan(value):
        return _NAN
    return value


class _Rows:
    """The source rows of one plan, and how to read a prefixed path from one of them."""

    def __init__(self, plan: QueryPlan, candidates: Callable[[type], list[Any]], read: Read):
        self._plan = plan
        self._candidates = candidates
        self._read = read

    def get(self, row: Row, path: str) -> object:
        head, _, rest = path.partition(".")
        value = row[head]
        if value is None:
            return None
        return self._read(value, rest)

    def _aggregates(self, source: Source) -> list[Any]:
        found = self._candidates(source.kind)
        if source.deleted is None:
            return found
        return [each for each in found if self._read(each, source.deleted) is None]

    def build(self) -> list[Row]:
        root, *joined = self._plan.sources
        rows: list[Row] = [{root.name: each} for each in self._aggregates(root)]
        for source in joined:
            if source.is_aggregate:
                rows = self._join_aggregates(rows, source)
            else:
                rows = self._join_children(rows, source)
        return rows

    def _join_children(self, rows: list[Row], source: Source) -> list[Row]:
        joined: list[Row] = []
        for row in rows:
            held = self.get(row, f"{source.parent}.{source.field}")
            children = held if isinstance(held, list) else [] if held is None else [held]
            joined.extend({**row, source.name: child} for child in children)
            if not children and source.outer:
                joined.append({**row, source.name: None})
        return joined

    def _join_aggregates(self, rows: list[Row], source: Source) -> list[Row]:
        assert source.on is not None  # an aggregate join is always made with on=
        left, right = source.on
        mine, theirs = (left, right) if left.startswith(f"{source.name}.") else (right, left)
        index: dict[object, list[Any]] = {}
        for candidate in self._aggregates(source):
            value = self.get({source.name: candidate}, mine)
            if value is not None:
                index.setdefault(_key(value), []).append(candidate)
        joined: list[Row] = []
        for row in rows:
            value = self.get(row, theirs)
            matches = () if value is None else index.get(_key(value), ())
            joined.extend({**row, source.name: match} for match in matches)
            if not matches and source.outer:
                joined.append({**row, source.name: None})
        return joined


def _sum(values: list[Any]) -> object:
    if any(isinstance(value, Decimal) for value in values):
        total = Decimal(0)
        for value in values:
            total = _EXACT.add(total, value)
        return total
    return sum(values)


def _avg(values: list[Any]) -> float:
    # The sum (exact for integers and decimals) made a float, then divided as a float: what SQL
    # computes as CAST(SUM(x) AS DOUBLE) / COUNT(x). The databases' own AVG do not agree on it
    # (PostgreSQL divides numerics to 16-20 digits before rounding to a float).
    return float(_sum(values)) / len(values)  # type: ignore[arg-type]


def _aggregate(  # noqa: PLR0911 - one return per aggregation
    aggregation: Aggregation, rows: list[Row], get: Callable[[Row, str], object]
) -> object:
    if aggregation.field is None:
        return len(rows)
    values = [value for row in rows if (value := get(row, aggregation.field)) is not None]
    match aggregation:
        case Count(distinct=True):
            return len({_key(value) for value in values})
        case Count():
            return len(values)
    if not values:
        return None
    match aggregation:
        case Sum():
            return _sum(values)
        case Avg():
            return _avg(values)
        case Min():
            return min(values, key=sort_key)  # type: ignore[arg-type]
    # Max: the planner lets no aggregation through but the five.
    return max(values, key=sort_key)  # type: ignore[arg-type]


def _output(output: Output, rows: list[Row], get: Callable[[Row, str], object]) -> object:
    if isinstance(output.value, Aggregation):
        return _aggregate(output.value, rows, get)
    return get(rows[0], output.value) if rows else None


def _groups(
    plan: QueryPlan, rows: list[Row], get: Callable[[Row, str], object]
) -> Iterable[list[Row]]:
    if not plan.groups:
        return [rows]  # aggregations without group_by: one row, also over no rows
    groups: dict[tuple[object, ...], list[Row]] = {}
    for row in rows:
        key = tuple(_key(get(row, path)) for path in plan.groups)
        groups.setdefault(key, []).append(row)
    return groups.values()


def run_query(
    plan: QueryPlan, candidates: Callable[[type], list[Any]], read: Read
) -> list[tuple[object, ...]]:
    """The result rows of ``plan`` over the aggregates ``candidates`` gives for each class.

    ``read(value, path)`` reads a path inside one source value (a committed row or an object).
    """
    source_rows = _Rows(plan, candidates, read)
    get = source_rows.get
    rows = source_rows.build()
    condition = plan.condition
    if condition is not None:
        rows = [row for row in rows if evaluate(condition, lambda p, r=row: get(r, p)) is True]  # type: ignore[misc]
    outputs = plan.outputs
    if plan.grouped:
        results = [
            tuple(_output(output, group, get) for output in outputs)
            for group in _groups(plan, rows, get)
        ]
    else:
        results = [tuple(_output(output, [row], get) for output in outputs) for row in rows]
    position = {output.name: index for index, output in enumerate(outputs)}
    having = plan.having
    if having is not None:
        results = [
            result
            for result in results
            if evaluate(having, lambda name, r=result: r[position[name]]) is True  # type: ignore[misc]
        ]
    sort_rows(results, plan.order, lambda result, name: result[position[name]])
    end = None if plan.limit is None else plan.offset + plan.limit
    return results[plan.offset : end]
