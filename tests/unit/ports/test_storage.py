"""The port-level storage rules: what each kind of annotation lets a field hold."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any, Literal, Protocol
from uuid import UUID

import pytest

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.domain import AggregateRoot, Bits, Entity, InvalidSpecification, MaxLength, Unique
from andamios.ports import (
    ColumnFacts,
    Link,
    UnitOfWork,
    check_stored,
    check_value,
    declared_constraints,
    id_type_of,
    register_storage,
    storage_rules,
    stored_state,
    unregister_storage,
)
from andamios.ports._introspection import callers_namespace
from andamios.ports._spec_values import check_spec_value
from andamios.ports.errors import DataError

type Alias = int
type ListOf[X] = list[X]


class Plain(Protocol):
    def name(self) -> str: ...


class Shape[U](Protocol):
    def area(self, other: U) -> U: ...


@dataclass(frozen=True)
class Point:
    x: int
    y: int


@dataclass(eq=False, kw_only=True)
class Kid(Entity[int]):
    owner: str = "root"


@dataclass(eq=False, kw_only=True)
class Holder(AggregateRoot[str]):
    tagged: list[Annotated[str, MaxLength(2)]] = field(default_factory=list)
    either: int | str | None = None
    mode: Literal["a", "b"] = "a"
    call: Callable[[], int] | None = None
    shape: Shape[int] | None = None
    counts: dict[str, int] = field(default_factory=dict)
    pair: tuple[int, str] = (0, "")
    many: tuple[int, ...] = ()
    points: list[Point] = field(default_factory=list)
    blob: Any = None
    plain: int | str = 0
    maybe: list[int | None] = field(default_factory=list)
    alias: Alias = 0
    protocol: Plain | None = None
    tally: Counter[str] = field(default_factory=Counter)
    kind: type[int] = int
    aliased: ListOf[int] = field(default_factory=list)
    code: Annotated[str, Unique()] = ""
    nick: Annotated[str | None, Unique(live_only=True)] = None
    kids: list[Kid] | None = field(default_factory=list)


class Generic1[V]:
    pass


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"tagged": [1]}, "holds an item that is int 1, not str"),
        ({"either": b"x"}, "is bytes b'x', not int | str"),
        ({"mode": "c"}, "not one of ('a', 'b')"),
        ({"counts": {"a": "1"}}, "holds an item that is str '1', not int"),
        ({"counts": []}, "is list, not dict"),
        ({"pair": (1,)}, "has 1 items, not 2"),
        ({"pair": (1, 2)}, "holds an item that is int 2, not str"),
        ({"many": (1, "x")}, "holds an item that is str 'x', not int"),
        ({"points": [Point(1, "y")]}, "holds an item that holds Point.y, which is str"),  # type: ignore[arg-type]
    ],
)
def test_values_of_the_wrong_shape_are_refused(values: dict[str, Any], problem: str) -> None:
    with pytest.raises(DataError) as caught:
        check_stored(Holder(id="h", **values))
    assert problem in str(caught.value)


def test_forms_the_check_cannot_read_are_accepted() -> None:
    check_stored(
        Holder(
            id="h",
            call=lambda: 1,
            shape=object(),  # type: ignore[arg-type]
            blob=object(),
            plain="x",
            maybe=[None, 1],
            alias="not checked",  # type: ignore[arg-type]
            protocol=object(),  # type: ignore[arg-type]
            tally=Counter("ab"),
            aliased=["not checked"],  # type: ignore[list-item]
        )
    )
    check_stored(object())  # not a dataclass: a class mapped straight in a registry
    assert storage_rules(Holder).unique == (("code",),)
    assert storage_rules(Holder).live_unique == ("nick",)


def test_json_columns_refuse_what_json_cannot_hold() -> None:
    register_storage(Holder, {"blob": ColumnFacts(json=True)})
    try:
        for bad in (math.nan, {"a": [math.inf]}, Point(1, 2), [{"x": -math.inf}]):
            check_stored(Holder(id="h", blob={"a": 1.5}))
            if isinstance(bad, Point):
                check_stored(Holder(id="h", blob=bad))
                continue
            with pytest.raises(DataError, match="which JSON cannot store"):
                check_stored(Holder(id="h", blob=bad))
    finally:
        unregister_storage(Holder)


def test_links_skip_missing_children_and_unique_keys_skip_nulls() -> None:
    register_storage(Holder, {}, links=[Link("kids", "owner", "id")])
    try:
        holder = Holder(id="root", kids=[Kid(id=1)])
        check_stored(holder)
        object.__setattr__(holder, "kids", None)
        check_stored(holder)
    finally:
        unregister_storage(Holder)


def test_id_types_come_from_the_generic_base() -> None:
    assert id_type_of(Holder) is str
    assert id_type_of(Generic1) is None

    @dataclass(eq=False, kw_only=True)
    class Loose(AggregateRoot):  # type: ignore[type-arg]
        pass

    assert id_type_of(Loose) is None


def test_spec_values_reach_only_into_value_objects() -> None:
    check_spec_value(Holder, "either.nothing", 1)  # not a value object: nothing to check
    check_spec_value(Holder, "points.x", "anything")  # a list: the adapters decide
    with pytest.raises(InvalidSpecification, match="int \\| str"):
        check_spec_value(Holder, "either", 1.5)


def test_a_uuid_field_is_checked_too() -> None:
    @dataclass(eq=False, kw_only=True)
    class Tagged(AggregateRoot[UUID]):
        ref: UUID | None = None

    with pytest.raises(DataError, match="is str 'x', not UUID"):
        check_stored(Tagged(ref="x"))  # type: ignore[arg-type]


def test_dotted_facts_on_a_field_that_is_no_value_object_are_left_out() -> None:
    register_storage(Holder, {"either.inner": ColumnFacts(nullable=False)})
    try:
        assert "either.inner" not in storage_rules(Holder).by_name
    finally:
        unregister_storage(Holder)


def test_the_constraint_helpers_of_the_ports_still_work() -> None:
    assert "code" not in declared_constraints(Holder)  # Unique() is no value constraint
    check_value(Holder(id="h"), "code", (MaxLength(3),), "abc")
    with pytest.raises(DataError, match="Holder 'h': code = 'abcd' is 4 long"):
        check_value(Holder(id="h"), "code", (MaxLength(3),), "abcd")


@dataclass(eq=False, kw_only=True)
class Marked(AggregateRoot[int]):
    code: Annotated[str, MaxLength(3), Unique()] = ""
    rank: Annotated[int, Bits(16)] = 0


def test_declared_constraints_are_the_value_markers() -> None:
    assert declared_constraints(Marked) == {"code": (MaxLength(3),), "rank": (Bits(16),)}
    assert declared_constraints(Marked) is declared_constraints(Marked)  # cached
    with pytest.raises(ValueError, match="Bits needs 8, 16, 32 or 64"):
        Bits(12)
    assert (Bits(8).low, Bits(8).high) == (-128, 127)


async def test_a_repository_without_an_id_type_refuses_unhashable_ids() -> None:
    @dataclass(eq=False, kw_only=True)
    class Untyped(AggregateRoot):  # type: ignore[type-arg]
        pass

    class Shelf(UnitOfWork):
        pass

    async with InMemoryUnitOfWork.factory(Shelf)() as uow:
        with pytest.raises(TypeError, match="Untyped ids are an id, got list"):
            await uow.repository(Untyped).get_or_none(["x"])
        assert await uow.repository(Untyped).get_or_none("x") is None


@dataclass(frozen=True)
class Reading:
    value: float
    weight: Decimal = Decimal(0)


@dataclass(eq=False, kw_only=True)
class Sensor(AggregateRoot[int]):
    level: float = 0.0
    readings: list[Reading] = field(default_factory=list)
    pair: tuple[float, int] = (0.0, 0)
    by_name: dict[str, float] = field(default_factory=dict)
    same: dict[str, float] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()


def test_stored_state_gives_values_the_form_storage_gives_back() -> None:
    state: dict[str, object] = {
        "id": 1,
        "level": 2,
        "readings": [Reading(1, 3)],  # type: ignore[arg-type]
        "pair": (1, 2),
        "by_name": {"a": 1},
        "same": {"a": 1.5},
        "tags": frozenset({"x"}),
    }
    same, tags = state["same"], state["tags"]
    stored_state(Sensor, state)
    assert state["level"] == 2.0
    assert type(state["level"]) is float
    readings = state["readings"]
    assert isinstance(readings, list)
    reading = readings[0]
    assert (type(reading.value), type(reading.weight)) == (float, Decimal)
    assert state["pair"] == (1.0, 2)
    pair = state["pair"]
    assert isinstance(pair, tuple)
    assert type(pair[0]) is float
    assert type(state["by_name"]["a"]) is float  # type: ignore[index]
    assert state["same"] is same
    assert state["tags"] is tags


def test_the_callers_namespace_stops_at_the_outermost_frame() -> None:
    marker = object()
    namespace = callers_namespace(depth=100_000)  # more than the stack has
    assert namespace["marker"] is marker
