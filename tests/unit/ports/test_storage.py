"""The port-level storage rules: what each kind of annotation lets a field hold."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol
from uuid import UUID

import pytest

from andamios.domain import AggregateRoot, Entity, InvalidSpecification, MaxLength, Unique
from andamios.ports import (
    ColumnFacts,
    Link,
    check_stored,
    check_unique,
    id_type_of,
    register_storage,
    storage_rules,
    unregister_storage,
)
from andamios.ports._storage import check_spec_value
from andamios.ports.errors import DataError, DuplicateError


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
    check_stored(Holder(id="h", either=None, call=lambda: 1, shape=object(), blob=object()))  # type: ignore[arg-type]
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
    first: dict[str, object] = {"code": None, "nick": None, "deleted_at": None}
    second: dict[str, object] = {"code": None, "nick": None}
    rows = [("a", first.get), ("b", second.get)]
    check_unique(Holder, rows)
    with pytest.raises(DuplicateError, match="Holder with code 'x' already exists"):
        check_unique(Holder, [("a", {"code": "x"}.get), ("b", {"code": "x"}.get)])


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
