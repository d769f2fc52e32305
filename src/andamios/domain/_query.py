"""Read-model queries: what a read side asks for, as a pure data tree.

``ReadQuery(Order)`` starts a query over every ``Order``; each builder method returns a new query::

    ReadQuery(Order).where(F("status") == "open").group_by("customer").select(
        "customer", orders=Count(), total=Sum("total")
    ).having(F("total") > 100).order_by(F("total").desc()).into(CustomerTotal)

Adapters compile the tree to one SQL statement (always with bound parameters) or evaluate it in
Python with the same semantics; nothing here knows a database. The rules every adapter keeps:

- **Names.** A query ranges over its sources: the aggregate it starts from and what it joins.
  With one source, paths name its fields (``"total"``, ``"price.amount"``, ``"note.text"``).
  With joins, every path starts with a source's name (``"order.total"``, ``"line.sku"``); a
  source is named by ``name=``, by default its class name in snake case (``OrderLine`` →
  ``order_line``).
- **Outputs.** :meth:`ReadQuery.select` names the columns of each result row: a path (named by its
  last part unless given a name) or an aggregation (:class:`Count`, :class:`Sum`, :class:`Avg`,
  :class:`Min`, :class:`Max`). :meth:`ReadQuery.having` and :meth:`ReadQuery.order_by` name outputs.
- **Groups.** With :meth:`ReadQuery.group_by` or any aggregation, each result row is a group; every
  path selected must be grouped. Without ``group_by``, aggregations make exactly one row, also
  over no rows at all (``Count()`` is then 0, the others ``None``), as in SQL.
- **NULL.** Aggregations skip ``None``; ``Sum``, ``Avg``, ``Min`` and ``Max`` of no values are
  ``None``; ``Count(field)`` counts values that are not ``None``, ``Count()`` rows. ``Avg`` is a
  ``float``; ``Sum`` of integers an ``int``, of decimals a ``Decimal``.
- **Order.** Results are ordered by ``order_by`` and then, so that every adapter returns the
  same rows in the same order, by the ids of the sources (rows) or by the group keys (groups).
  :meth:`ReadQuery.unordered` gives that up for speed: rows then come in whatever order the adapter
  produces them.
- **Soft deletes.** Aggregates soft-deleted (``DeletedAt``) are left out unless
  :meth:`ReadQuery.including_deleted`, as repositories leave them out.
"""

from __future__ import annotations

import dataclasses
import keyword
import re
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from andamios.domain._errors import InvalidSpecification
from andamios.domain._spec import Field, Order, OrderBy, Spec, normalize_order

__all__ = [
    "Aggregation",
    "Avg",
    "Count",
    "Join",
    "Max",
    "Min",
    "Output",
    "ReadQuery",
    "Sum",
    "default_source_name",
]


def _path(value: object, what: str) -> str:
    path = value.path if isinstance(value, Field) else value
    if not isinstance(path, str) or not all(
        part.isidentifier() and not keyword.iskeyword(part) for part in path.split(".")
    ):
        msg = f"{what} takes a field path such as 'total' or F('price.amount'), not {value!r}"
        raise InvalidSpecification(msg)
    return path


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.isidentifier() or keyword.iskeyword(value):
        msg = f"{what} must be a Python identifier, not {value!r}"
        raise InvalidSpecification(msg)
    if value.startswith("_"):
        msg = f"{what} {value!r} starts with '_', which Andamios keeps for its own columns"
        raise InvalidSpecification(msg)
    return value


class Aggregation:
    """An aggregate function over the rows of a group; see :class:`Count` and the others."""

    __slots__ = ()

    #: The SQL function's name.
    function: ClassVar[str]

    field: str | None

    def __bool__(self) -> bool:
        msg = f"{self!r} has no truth value"
        raise InvalidSpecification(msg)

    def __repr__(self) -> str:
        inside = "" if self.field is None else repr(self.field)
        return f"{type(self).__name__}({inside})"


@dataclass(frozen=True, slots=True, repr=False, init=False)
class Count(Aggregation):
    """``Count()`` counts rows; ``Count("field")`` values that are not ``None``;
    ``Count("field", distinct=True)`` distinct ones."""

    function: ClassVar[str] = "count"
    field: str | None
    distinct: bool

    def __init__(self, field: str | Field | None = None, *, distinct: bool = False) -> None:
        path = None if field is None else _path(field, "Count()")
        if distinct and path is None:
            msg = "Count(distinct=True) needs a field: Count('sku', distinct=True)"
            raise InvalidSpecification(msg)
        object.__setattr__(self, "field", path)
        object.__setattr__(self, "distinct", bool(distinct))

    def __repr__(self) -> str:
        if self.distinct:
            return f"Count({self.field!r}, distinct=True)"
        return Aggregation.__repr__(self)


@dataclass(frozen=True, slots=True, repr=False, init=False)
class _OneField(Aggregation):
    field: str

    def __init__(self, field: str | Field) -> None:
        object.__setattr__(self, "field", _path(field, f"{type(self).__name__}()"))


@dataclass(frozen=True, slots=True, repr=False, init=False)
class Sum(_OneField):
    """The sum of a number field's values (``None`` when there are none)."""

    function: ClassVar[str] = "sum"


@dataclass(frozen=True, slots=True, repr=False, init=False)
class Avg(_OneField):
    """The mean of a number field's values, as a ``float`` (``None`` when there are none)."""

    function: ClassVar[str] = "avg"


@dataclass(frozen=True, slots=True, repr=False, init=False)
class Min(_OneField):
    """The smallest value of a field (``None`` when there is none)."""

    function: ClassVar[str] = "min"


@dataclass(frozen=True, slots=True, repr=False, init=False)
class Max(_OneField):
    """The largest value of a field (``None`` when there is none)."""

    function: ClassVar[str] = "max"


@dataclass(frozen=True, slots=True)
class Output:
    """One column of the result rows: its name and the path or aggregation it holds."""

    name: str
    value: str | Aggregation


@dataclass(frozen=True, slots=True)
class Join:
    """A source joined to a query.

    ``target`` is an aggregate class joined ``on`` equal fields (``("order.sku",
    "product.sku")``), or a path to child entities of a source (``"order.lines"``): one row per
    child. ``outer`` keeps the rows that nothing joins (a LEFT JOIN: the joined source's fields
    are then ``None``).
    """

    target: type | str
    name: str
    on: tuple[str, str] | None
    outer: bool


def default_source_name(kind: type) -> str:
    """The name a source gets unless given one: its class name in snake case."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", kind.__name__).lower()


@dataclass(frozen=True, slots=True)
class ReadQuery[R = dict[str, Any]]:
    """A read-model query over aggregates; run it with ``uow.query(...)`` (see the module)."""

    source: type
    name: str = ""
    joins: tuple[Join, ...] = ()
    outputs: tuple[Output, ...] = ()
    condition: Spec | None = None
    groups: tuple[str, ...] = ()
    group_condition: Spec | None = None
    ordering: tuple[Order, ...] = ()
    row_limit: int | None = None
    row_offset: int = 0
    row_type: type[R] | None = None
    deleted_included: bool = False
    deterministic: bool = True

    def __post_init__(self) -> None:
        source: object = self.source
        if not isinstance(source, type):
            msg = f"ReadQuery() starts from an aggregate class, not {self.source!r}"
            raise InvalidSpecification(msg)
        if not self.name:
            object.__setattr__(self, "name", default_source_name(self.source))
        _name(self.name, "a source's name")

    def __bool__(self) -> bool:
        msg = "a query has no truth value: run it with await uow.query(...)"
        raise InvalidSpecification(msg)

    @property
    def grouped(self) -> bool:
        """Whether each result row is a group (``group_by`` or an aggregation)."""
        return bool(self.groups) or any(
            isinstance(output.value, Aggregation) for output in self.outputs
        )

    def select(self, *paths: str | Field, **named: str | Field | Aggregation) -> Self:
        """Name the columns of the result rows: paths, and ``name=path_or_aggregation``."""
        outputs = list(self.outputs)
        for each in paths:
            path = _path(each, "select()")
            outputs.append(Output(_name(path.rpartition(".")[2], "an output's name"), path))
        for name, value in named.items():
            held = value if isinstance(value, Aggregation) else _path(value, "select()")
            outputs.append(Output(_name(name, "an output's name"), held))
        seen: set[str] = set()
        for output in outputs:
            if output.name in seen:
                msg = f"select() names {output.name!r} twice; give one of them another name"
                raise InvalidSpecification(msg)
            seen.add(output.name)
        return dataclasses.replace(self, outputs=tuple(outputs))

    def join(
        self,
        target: type | str,
        *,
        on: tuple[str | Field, str | Field] | None = None,
        name: str | None = None,
        outer: bool = False,
    ) -> Self:
        """Join another aggregate ``on`` two equal fields, or a source's child entities (a path).

        ``outer=True`` keeps the rows nothing joins, with the joined fields ``None``.
        """
        given: object = target
        if isinstance(given, str):
            path = _path(given, "join()")
            if "." not in path:
                msg = (
                    f"join({target!r}): name child entities by their source, e.g. "
                    f"join('{self.name}.{target}')"
                )
                raise InvalidSpecification(msg)
            if on is not None:
                msg = f"join({target!r}) joins child entities to their root; it takes no on="
                raise InvalidSpecification(msg)
            joined = Join(
                path, _name(name or path.rpartition(".")[2], "a source's name"), None, outer
            )
        elif isinstance(given, type):
            if on is None or not isinstance(on, tuple) or len(on) != 2:
                msg = (
                    f"join({given.__name__}) needs on=(left field, right field), e.g. "
                    f"on=('{self.name}.sku', '{default_source_name(given)}.sku')"
                )
                raise InvalidSpecification(msg)
            pair = (_path(on[0], "join(on=)"), _path(on[1], "join(on=)"))
            source_name = _name(name or default_source_name(given), "a source's name")
            joined = Join(given, source_name, pair, outer)
        else:
            msg = f"join() takes an aggregate class or a path to child entities, not {target!r}"
            raise InvalidSpecification(msg)
        taken = {self.name, *(each.name for each in self.joins)}
        if joined.name in taken:
            msg = f"a source named {joined.name!r} is already in the query; pass name="
            raise InvalidSpecification(msg)
        return dataclasses.replace(self, joins=(*self.joins, joined))

    def where(self, spec: Spec) -> Self:
        """Keep the rows ``spec`` holds for (combined with ``&`` with an earlier ``where``)."""
        given: object = spec
        if not isinstance(given, Spec):
            msg = f"where() takes a specification such as F('status') == 'open', not {spec!r}"
            raise InvalidSpecification(msg)
        combined = spec if self.condition is None else self.condition & spec
        return dataclasses.replace(self, condition=combined)

    def group_by(self, *paths: str | Field) -> Self:
        """Make each result row a group of the rows with equal values of ``paths``."""
        if not paths:
            msg = "group_by() needs at least one field"
            raise InvalidSpecification(msg)
        groups = (*self.groups, *(_path(path, "group_by()") for path in paths))
        return dataclasses.replace(self, groups=groups)

    def having(self, spec: Spec) -> Self:
        """Keep the result rows ``spec`` holds for; its fields name outputs."""
        given: object = spec
        if not isinstance(given, Spec):
            msg = (
                f"having() takes a specification over outputs, such as F('total') > 0, not {spec!r}"
            )
            raise InvalidSpecification(msg)
        current = self.group_condition
        return dataclasses.replace(
            self, group_condition=spec if current is None else current & spec
        )

    def order_by(self, order_by: OrderBy) -> Self:
        """Order the result rows by outputs (``F("total").desc()``, ``"customer"``, a list)."""
        return dataclasses.replace(self, ordering=normalize_order(order_by))

    def limit(self, count: int | None) -> Self:
        """Return at most ``count`` rows (``None``: all)."""
        return dataclasses.replace(self, row_limit=count)

    def offset(self, count: int) -> Self:
        """Skip the first ``count`` rows."""
        return dataclasses.replace(self, row_offset=count)

    def into[T](self, row_type: type[T]) -> ReadQuery[T]:
        """Return rows as ``row_type``: a dataclass, a ``TypedDict`` or a pydantic model whose
        fields are the outputs (default: ``dict``)."""
        given: object = row_type
        if not isinstance(given, type):
            msg = (
                f"into() takes a class (a dataclass, TypedDict or pydantic model), not {row_type!r}"
            )
            raise InvalidSpecification(msg)
        return typing.cast("ReadQuery[T]", dataclasses.replace(self, row_type=given))

    def including_deleted(self) -> Self:
        """Also read soft-deleted aggregates."""
        return dataclasses.replace(self, deleted_included=True)

    def unordered(self) -> Self:
        """Give up the deterministic order beyond ``order_by`` (faster over many rows)."""
        return dataclasses.replace(self, deterministic=False)
