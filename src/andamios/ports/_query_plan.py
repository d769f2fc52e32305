"""Checking a read-model :class:`~andamios.domain.ReadQuery` once, for every adapter: its plan.

A plan is the query with every name resolved: each source's class, every path prefixed by its
source's name (``"order.total"``, also with one source), the soft-delete filters, the hidden
outputs that make the order total (the sources' ids, or the group keys) and the complete order.
Adapters compile or evaluate a plan and never check anything themselves, so a query one of them
refuses, every one refuses, with the same :class:`~andamios.domain.InvalidSpecification`,
before any database is asked.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from andamios.domain import (
    AggregateRoot,
    Aggregation,
    And,
    AnyMatch,
    Avg,
    Between,
    Compare,
    Count,
    F,
    In,
    InvalidSpecification,
    Match,
    Max,
    Min,
    Not,
    Or,
    Order,
    Output,
    ReadQuery,
    Spec,
    Sum,
)
from andamios.ports._audit import audit_fields
from andamios.ports._introspection import (
    child_entities_of,
    holds_child_list,
    leaf_type,
    unwrap_new_type,
    validate_path,
)
from andamios.ports._spec_values import validate_spec
from andamios.ports._storage import id_type_of, type_problem

__all__ = ["QueryPlan", "Source", "plan_query", "rename_fields", "row_factory"]

#: Field types Sum and Avg add up (bool is an int to Python, not a number to SQL).
_NUMBERS = (int, float, Decimal)
#: Field types Min and Max order alike in every adapter.
_ORDERED = (*_NUMBERS, str, date, datetime, time, timedelta, UUID)


@dataclass(frozen=True, slots=True)
class Source:
    """One source of a plan: the root aggregate, a joined aggregate, or joined child entities.

    ``parent`` and ``field`` say whose children a child source holds (``"order"``, ``"lines"``);
    ``on`` is the pair of prefixed paths a joined aggregate is equal on; ``deleted`` the field
    that must be ``None`` for an aggregate to be read (soft deletes), or ``None``.
    """

    name: str
    kind: type
    parent: str | None = None
    field: str | None = None
    on: tuple[str, str] | None = None
    outer: bool = False
    deleted: str | None = None

    @property
    def is_aggregate(self) -> bool:
        """Whether this source holds aggregates (not child entities)."""
        return self.field is None


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """A checked query: what an adapter computes, in the words it needs (see the module).

    ``outputs`` hold the visible outputs first, then the hidden ones (names starting with
    ``_``); ``condition`` filters source rows, ``having`` result rows (by output name);
    ``order`` is total unless the query was ``unordered()``.
    """

    query: ReadQuery[Any]
    sources: tuple[Source, ...]
    outputs: tuple[Output, ...]
    visible: int
    condition: Spec | None
    groups: tuple[str, ...]
    grouped: bool
    having: Spec | None
    order: tuple[Order, ...]
    limit: int | None
    offset: int
    never_null: frozenset[str] = frozenset()

    def source(self, name: str) -> Source:
        """The source called ``name``."""
        return next(source for source in self.sources if source.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        """The names of the visible outputs, in order."""
        return tuple(output.name for output in self.outputs[: self.visible])


def rename_fields(spec: Spec, rename: typing.Callable[[str], str]) -> Spec:
    """``spec`` with the field of every leaf renamed (an ``any()``'s inner spec is left as it is:
    its paths are the child's)."""
    match spec:
        case And(parts=parts):
            return And(tuple(rename_fields(part, rename) for part in parts))
        case Or(parts=parts):
            return Or(tuple(rename_fields(part, rename) for part in parts))
        case Not(part=part):
            return Not(rename_fields(part, rename))
    leaf: Any = spec  # every other node is a leaf dataclass with one ``field``
    return dataclasses.replace(leaf, field=rename(leaf.field))  # type: ignore[no-any-return]


def _leaves(spec: Spec) -> typing.Iterator[Spec]:
    match spec:
        case And(parts=parts) | Or(parts=parts):
            for part in parts:
                yield from _leaves(part)
        case Not(part=part):
            yield from _leaves(part)
        case _:
            yield spec


class _Planner:
    def __init__(self, query: ReadQuery[Any]) -> None:
        self.query = query
        self.sources: dict[str, Source] = {}
        root = query.source
        if not (isinstance(root, type) and issubclass(root, AggregateRoot)):
            msg = f"ReadQuery() starts from an aggregate class, not {root!r}"
            raise InvalidSpecification(msg)
        self._add(Source(query.name, root, deleted=self._deleted(root)))
        for join in query.joins:
            self._join(join.target, join.name, join.on, outer=join.outer)

    def _deleted(self, kind: type) -> str | None:
        if self.query.deleted_included:
            return None
        return audit_fields(kind).deleted

    def _add(self, source: Source) -> None:
        twice = next((each for each in self.sources.values() if each.kind is source.kind), None)
        if twice is not None:
            msg = (
                f"{source.kind.__name__} is already in the query as {twice.name!r}: each class "
                "is a source once (a query cannot join a class to itself)"
            )
            raise InvalidSpecification(msg)
        self.sources[source.name] = source

    def _join(
        self, target: type | str, name: str, on: tuple[str, str] | None, *, outer: bool
    ) -> None:
        if isinstance(target, str):
            parent, _, field = target.partition(".")
            owner = self.sources.get(parent)
            if owner is None or "." in field:
                msg = f"join({target!r}): {self._known()}; name child entities 'source.field'"
                raise InvalidSpecification(msg)
            validate_path(owner.kind, field)
            kind = child_entities_of(owner.kind, field)
            if kind is None:
                msg = f"join({target!r}): {owner.kind.__name__}.{field} holds no child entities"
                raise InvalidSpecification(msg)
            self._add(Source(name, kind, parent=parent, field=field, outer=outer))
            return
        if not (isinstance(target, type) and issubclass(target, AggregateRoot)):
            msg = f"join() takes an aggregate class or a path to child entities, not {target!r}"
            raise InvalidSpecification(msg)
        self._add(Source(name, target, outer=outer, deleted=self._deleted(target)))
        assert on is not None
        left, right = (self.path(each) for each in on)
        if (left.partition(".")[0], right.partition(".")[0]).count(name) != 1:
            msg = (
                f"join({target.__name__}, on={on!r}): one side must be a field of {name!r} "
                "and the other a field of a source before it"
            )
            raise InvalidSpecification(msg)
        for path in (left, right):
            self.leaf_kind(path)
        self.sources[name] = dataclasses.replace(self.sources[name], on=(left, right))

    def _known(self) -> str:
        return "the sources are " + ", ".join(repr(name) for name in self.sources)

    def path(self, path: str) -> str:
        """``path`` prefixed by its source's name, checked against that source's class."""
        if len(self.sources) == 1 and not self.query.joins:
            prefixed = f"{self.query.name}.{path}"
        else:
            head, _, rest = path.partition(".")
            if head not in self.sources or not rest:
                msg = f"{path!r}: with joins, paths start with a source's name; {self._known()}"
                raise InvalidSpecification(msg)
            prefixed = path
        source, rest = self.split(prefixed)
        head = rest.partition(".")[0]
        if "." in rest and holds_child_list(source.kind, head):
            msg = (
                f"{path!r} reaches into a list of child entities: filter with "
                f"F('{head}').any(...), or join them (join('{source.name}.{head}')) to read "
                "their fields"
            )
            raise InvalidSpecification(msg)
        validate_path(source.kind, rest)
        return prefixed

    def split(self, prefixed: str) -> tuple[Source, str]:
        """The source of a prefixed path and the path inside it."""
        head, _, rest = prefixed.partition(".")
        return self.sources[head], rest

    def leaf_kind(self, prefixed: str) -> object:
        """The type a prefixed path holds, refused unless one column holds it."""
        source, rest = self.split(prefixed)
        if rest == "id":
            kind = id_type_of(source.kind)
        else:
            kind = unwrap_new_type(leaf_type(source.kind, rest))
        if "." not in rest and child_entities_of(source.kind, rest) is not None:
            msg = f"{prefixed!r} holds child entities: read their fields"
            raise InvalidSpecification(msg)
        whole = typing.get_origin(kind) in (list, dict, tuple, set)
        if whole or (isinstance(kind, type) and dataclasses.is_dataclass(kind)):
            msg = f"{prefixed!r} is a whole value: read its fields, one column each"
            raise InvalidSpecification(msg)
        return kind

    def spec(self, spec: Spec) -> Spec:
        """``spec`` over source paths, prefixed and checked leaf by leaf."""
        prefixed = rename_fields(spec, self.path)
        for leaf in _leaves(prefixed):
            source, _ = self.split(next(iter(leaf.fields())))
            inner = rename_fields(leaf, lambda path: self.split(path)[1])
            validate_spec(source.kind, inner, id_type_of(source.kind))
        return prefixed


def _check_aggregation(planner: _Planner, aggregation: Aggregation) -> Aggregation:
    if type(aggregation) not in (Count, Sum, Avg, Min, Max):
        # An adapter computes the five it knows; another class would mean something to none.
        msg = f"{aggregation!r}: aggregations are Count, Sum, Avg, Min and Max"
        raise InvalidSpecification(msg)
    if aggregation.field is None:
        return aggregation
    path = planner.path(aggregation.field)
    kind = planner.leaf_kind(path)
    name = type(aggregation).__name__
    wanted = _NUMBERS if isinstance(aggregation, (Sum, Avg)) else _ORDERED
    if not isinstance(aggregation, Count) and not (
        isinstance(kind, type) and issubclass(kind, wanted) and kind is not bool
    ):
        shown = getattr(kind, "__name__", repr(kind))
        what = "numbers" if wanted is _NUMBERS else "numbers, text, dates, times and UUIDs"
        msg = f"{name}({aggregation.field!r}): {path} is {shown}; {name} takes {what}"
        raise InvalidSpecification(msg)
    if isinstance(aggregation, Count):
        return Count(path, distinct=aggregation.distinct)
    return type(aggregation)(path)  # type: ignore[call-arg]


def _check_outputs_spec(
    planner: _Planner, spec: Spec, outputs: dict[str, Output], what: str
) -> None:
    unknown = sorted(spec.fields() - outputs.keys())
    if unknown:
        listed = ", ".join(map(repr, unknown))
        msg = f"{what} names outputs; {listed} is not one of {sorted(outputs)}"
        raise InvalidSpecification(msg)
    for leaf in _leaves(spec):
        if isinstance(leaf, AnyMatch):
            msg = f"{what}: any() filters sources (in where()), not outputs"
            raise InvalidSpecification(msg)
        value = outputs[next(iter(leaf.fields()))].value
        if isinstance(value, (Count, Avg, Sum)):
            _check_number_leaf(leaf, what, _number_kind(planner, value))
            continue
        path = value if isinstance(value, str) else value.field
        assert path is not None  # only Count goes without a field
        source, rest = planner.split(path)
        inner = rename_fields(leaf, lambda _, rest=rest: rest)  # type: ignore[misc]
        validate_spec(source.kind, inner, id_type_of(source.kind))


def _number_kind(planner: _Planner, aggregation: Count | Avg | Sum) -> type:
    """What a count (``int``), a mean (``float``) or a sum (its field's number type) holds."""
    if isinstance(aggregation, Count):
        return int
    if isinstance(aggregation, Avg):
        return float
    kind = planner.leaf_kind(aggregation.field)
    return next(each for each in _NUMBERS if isinstance(kind, type) and issubclass(kind, each))


def _check_number_leaf(leaf: Spec, what: str, kind: type) -> None:
    """A count, sum or mean compares with numbers only, in every adapter, and with the numbers
    a field of its type takes in ``where()``: PostgreSQL binds a value as the type it is
    compared with, so ``count = 0.25`` would be ``count = 0`` there."""
    match leaf:
        case Compare(value=value):
            values: tuple[object, ...] = (value,)
        case In(values=values):
            pass
        case Between(low=low, high=high):
            values = (low, high)
        case Match():
            msg = f"{what}: {leaf!r} matches text, and a count, sum or mean is a number"
            raise InvalidSpecification(msg)
        case _:
            values = ()
    for each in values:
        finite = not isinstance(each, Decimal) or each.is_finite()
        number = isinstance(each, _NUMBERS) and not isinstance(each, bool) and finite
        if each is not None and not number:
            msg = f"{what}: {leaf!r} compares a count, sum or mean with {each!r}, not a number"
            raise InvalidSpecification(msg)
        problem = None if each is None else type_problem(kind, each)
        if problem is not None:
            msg = (
                f"{what}: {leaf!r} compares a {kind.__name__} (a count, sum or mean) with "
                f"{each!r}, which {problem}; a {kind.__name__} field takes the same values"
            )
            raise InvalidSpecification(msg)


def row_factory(row_type: type | None, names: tuple[str, ...]) -> typing.Callable[..., Any]:
    """What makes one result row from its outputs (as keywords); checked against ``names``."""
    if row_type is None or row_type is dict:
        return dict
    fields = _row_fields(row_type)
    if fields is None:
        msg = (
            f"into({row_type.__name__}): rows are a dataclass, a TypedDict or a pydantic model "
            "whose fields are the outputs"
        )
        raise InvalidSpecification(msg)
    required, known = fields
    missing = sorted(required - set(names))
    extra = sorted(set(names) - known)
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"{', '.join(missing)} not selected")
        if extra:
            parts.append(f"no field for {', '.join(extra)}")
        msg = f"into({row_type.__name__}): {'; '.join(parts)} (outputs: {', '.join(names)})"
        raise InvalidSpecification(msg)
    return row_type


def _row_fields(row_type: type) -> tuple[set[str], set[str]] | None:
    """The required and all field names of a row class, or None if it is no row class."""
    if dataclasses.is_dataclass(row_type):
        every = {f.name for f in dataclasses.fields(row_type) if f.init}
        required = {
            f.name
            for f in dataclasses.fields(row_type)
            if f.init
            and f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
        }
        return required, every
    if typing.is_typeddict(row_type):
        keys: set[str] = set(row_type.__required_keys__)  # type: ignore[attr-defined]
        return keys, keys | set(row_type.__optional_keys__)  # type: ignore[attr-defined]
    model_fields = getattr(row_type, "model_fields", None)
    if isinstance(model_fields, dict):
        every = set(model_fields)
        required = {name for name, info in model_fields.items() if info.is_required()}
        return required, every
    return None


def _checked_outputs(
    planner: _Planner, query: ReadQuery[Any]
) -> tuple[list[Output], tuple[str, ...]]:
    """The outputs with prefixed paths, and the prefixed group keys; every path checked."""
    if not query.outputs:
        msg = f"the query of {query.source.__name__} selects nothing: call select()"
        raise InvalidSpecification(msg)
    outputs: list[Output] = []
    for output in query.outputs:
        if isinstance(output.value, Aggregation):
            outputs.append(Output(output.name, _check_aggregation(planner, output.value)))
        else:
            path = planner.path(output.value)
            planner.leaf_kind(path)
            outputs.append(Output(output.name, path))
    groups = tuple(planner.path(path) for path in query.groups)
    for path in groups:
        planner.leaf_kind(path)
    if query.grouped:
        loose = [o.name for o in outputs if isinstance(o.value, str) and o.value not in groups]
        if loose:
            msg = (
                f"{', '.join(map(repr, loose))} is selected but not grouped: add it to "
                "group_by(), or select an aggregation of it"
            )
            raise InvalidSpecification(msg)
    return outputs, groups


def _total_order(
    planner: _Planner, query: ReadQuery[Any], outputs: list[Output], groups: tuple[str, ...]
) -> tuple[tuple[Order, ...], frozenset[str]]:
    """``order_by`` then the keys that make it total (appended to ``outputs`` where hidden),
    and the outputs that hold no NULL."""
    known = {output.name for output in outputs}
    for term in query.ordering:
        if term.field not in known:
            msg = (
                f"order_by() names outputs; {term.field!r} is not one of {sorted(known)} "
                "(select it to order by it)"
            )
            raise InvalidSpecification(msg)
    order = list(query.ordering)
    never_null: set[str] = set()
    grouped = query.grouped
    if not query.deterministic or (grouped and not groups):
        return tuple(order), frozenset()  # unordered, or one row
    visible = list(outputs)
    keys = groups if grouped else tuple(f"{name}.id" for name in planner.sources)
    for position, key in enumerate(keys):
        shown = next((o.name for o in visible if o.value == key), None)
        if shown is None:
            shown = f"_key{position}"
            outputs.append(Output(shown, key))
        if not grouped and not planner.sources[key.partition(".")[0]].outer:
            never_null.add(shown)
        if all(term.field != shown for term in order):
            order.append(Order(shown))
    return tuple(order), frozenset(never_null)


def plan_query(query: object) -> QueryPlan:
    """Check ``query`` against its classes and resolve it into the plan every adapter runs."""
    if not isinstance(query, ReadQuery):
        msg = f"expected a ReadQuery such as ReadQuery(Order).select('id'), got {query!r}"
        raise InvalidSpecification(msg)
    planner = _Planner(query)
    outputs, groups = _checked_outputs(planner, query)
    visible = len(outputs)
    condition = None if query.condition is None else planner.spec(query.condition)
    root = planner.sources[query.name]
    if root.deleted is not None:
        live = F(f"{root.name}.{root.deleted}").is_none()
        condition = live if condition is None else condition & live
    if query.group_condition is not None:
        by_name = {output.name: output for output in outputs}
        _check_outputs_spec(planner, query.group_condition, by_name, "having()")
    order, never_null = _total_order(planner, query, outputs, groups)
    return QueryPlan(
        query=query,
        sources=tuple(planner.sources.values()),
        outputs=tuple(outputs),
        visible=visible,
        condition=condition,
        groups=groups,
        grouped=query.grouped,
        having=query.group_condition,
        order=order,
        limit=query.row_limit,
        offset=query.row_offset,
        never_null=never_null,
    )
