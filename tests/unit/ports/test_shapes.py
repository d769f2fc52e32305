"""Declaring unit-of-work shapes and the checks every adapter gets from the ports."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

import pytest

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.domain import AggregateRoot, And, F, InvalidSpecification, Or, Order, ValueObject
from andamios.ports import Cursor, Repository, UnitOfWork, compose, keyset_after, repository_slots
from andamios.ports._introspection import leaf_type, resolve_path
from andamios.ports._spec_values import validate_spec
from andamios.ports.errors import MappingError
from andamios.testing.models import ContractUnitOfWork, Counter, Gadget


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass(frozen=True)
class Address(ValueObject):
    city: str
    since: date | None = None


@dataclass(eq=False, kw_only=True)
class Person(AggregateRoot[int]):
    name: str
    colour: Colour = Colour.RED
    home: Address | None = None
    seen: datetime | None = None
    tags: dict[str, str] | None = None
    code: int | str | None = None


class Directory(UnitOfWork):
    people: Repository[Person, int]
    note: str  # not a repository: ignored


def test_repository_slots_read_the_shape() -> None:
    slots = repository_slots(Directory)
    assert [(s.name, s.aggregate_type, s.id_type) for s in slots] == [("people", Person, int)]
    assert repository_slots(Directory) is slots  # cached


def test_a_shape_cannot_be_used_without_an_adapter() -> None:
    with pytest.raises(TypeError, match=r"InMemoryUnitOfWork\.factory\(Directory\)"):
        Directory()


def test_compose_builds_one_class_per_adapter_and_shape() -> None:
    combined = compose(InMemoryUnitOfWork, Directory)
    assert combined is compose(InMemoryUnitOfWork, Directory)
    assert issubclass(combined, Directory)
    assert issubclass(combined, InMemoryUnitOfWork)
    assert combined.__name__ == "InMemoryUnitOfWork[Directory]"
    assert compose(InMemoryUnitOfWork, combined) is combined
    assert compose(InMemoryUnitOfWork, InMemoryUnitOfWork) is InMemoryUnitOfWork


def test_compose_rejects_what_is_not_a_shape() -> None:
    with pytest.raises(MappingError, match="must subclass UnitOfWork"):
        compose(InMemoryUnitOfWork, Person)  # type: ignore[type-var]


def test_a_repository_without_types_is_a_mapping_error() -> None:
    class Untyped(UnitOfWork):
        people: Repository  # type: ignore[type-arg]

    with pytest.raises(MappingError, match=r"Repository\[Aggregate, IdType\]"):
        InMemoryUnitOfWork.factory(Untyped)


def test_a_repository_of_something_that_is_not_an_aggregate_is_a_mapping_error() -> None:
    class Wrong(UnitOfWork):
        addresses: Repository[Address, int]  # type: ignore[type-var]

    with pytest.raises(MappingError, match="not an AggregateRoot subclass"):
        InMemoryUnitOfWork.factory(Wrong)


def test_an_aggregate_that_is_not_a_dataclass_is_a_mapping_error() -> None:
    class Plain(AggregateRoot[int]):
        pass

    class Shape(UnitOfWork):
        plain: Repository[Plain, int]

    with pytest.raises(MappingError, match="must be a dataclass"):
        InMemoryUnitOfWork.factory(Shape)


def test_unresolvable_annotations_are_a_mapping_error() -> None:
    class Broken(UnitOfWork):
        people: Repository[Missing, int]  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(MappingError, match="cannot resolve the annotations of Broken"):
        InMemoryUnitOfWork.factory(Broken)


async def test_repositories_for_undeclared_aggregates_are_made_on_demand() -> None:
    new_uow = InMemoryUnitOfWork.factory(ContractUnitOfWork)
    async with new_uow() as uow:
        people = uow.repository(Person)
        assert uow.repository(Person) is people
        assert people.aggregate_type is Person
        assert repr(people) == "<InMemoryRepository of Person>"
        await people.add(Person(id=1, name="Ada"))
        await uow.commit()
    async with new_uow() as uow:
        person = await uow.repository(Person).get(1)
        assert person.name == "Ada"
        assert uow.repository(Gadget) is uow.gadgets
        assert uow.repository(Counter) is uow.counters
        with pytest.raises(MappingError):
            uow.repository(Address)  # type: ignore[type-var]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (F("home.city") == 3, "Person.home.city is str"),
        (F("home.since") == datetime(2020, 1, 1), "home.since is date"),
        (F("home.street") == "x", "no field 'home.street'"),
        (F("colour") == "red", "colour is Colour"),
        (F("seen") > date(2020, 1, 1), "seen is datetime"),
        (F("seen").between(datetime(2020, 1, 1), 5), "cannot compare it with int"),
        (F("name").in_(["a", None, 3]), "cannot compare it with int"),
        (~(F("name").contains("x") & (F("id") == "1")), "Person.id is int"),
        ((F("name") == "a") | (F("home.city.x") == 1), "not a dataclass value object"),
    ],
    ids=repr,
)
def test_values_are_checked_against_the_fields_they_meet(spec: object, message: str) -> None:
    with pytest.raises(InvalidSpecification, match=message):
        validate_spec(Person, spec, int)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "spec",
    [
        F("home.city") == "Lima",
        F("colour") == Colour.BLUE,
        F("home.since") < date(2020, 1, 1),
        F("tags") == {"a": "b"},  # no rule for dicts: the adapter decides
        F("name").in_(["a", None]),
        F("id") > 3,
    ],
    ids=repr,
)
def test_compatible_values_pass(spec: object) -> None:
    validate_spec(Person, spec, int)  # type: ignore[arg-type]


def test_leaf_types_unwrap_optionals_and_reach_into_value_objects() -> None:
    assert leaf_type(Person, "home.city") is str
    assert leaf_type(Person, "home.since") is date
    assert leaf_type(Person, "home") is Address
    assert leaf_type(Person, "seen") is datetime
    assert leaf_type(Person, "code") == int | str | None
    validate_spec(Person, F("code").in_([1, "a"]), int)  # any member of the union will do
    with pytest.raises(InvalidSpecification, match=r"Person.code is int \| str; cannot compare"):
        validate_spec(Person, F("code") == b"anything", int)


def test_resolve_path_gives_none_through_a_missing_value_object() -> None:
    person = Person(id=1, name="Ada", home=Address("Lima"))
    assert resolve_path(person, "home.city") == "Lima"
    assert resolve_path(Person(id=2, name="Bo"), "home.city") is None
    assert resolve_path(person, "id") == 1


def test_uuid_ids_are_checked_too() -> None:
    with pytest.raises(InvalidSpecification, match=r"Gadget\.id is UUID"):
        validate_spec(Gadget, F("id") == "abc", UUID)


def test_keyset_after_a_key_that_nothing_can_follow() -> None:
    assert keyset_after((Order("a"),), (None,)) is None
    assert keyset_after((Order("a", nulls_first=True),), (None,)) == F("a").is_not_none()
    assert keyset_after((Order("a", descending=True, nulls_first=True),), (3,)) == (F("a") < 3)


def test_keyset_after_leaves_out_is_null_where_no_null_can_be() -> None:
    order = (Order("a"), Order("id"))
    a_after = Or((F("a") > 1, F("a").is_none()))
    assert keyset_after(order, (1, 2)) == Or(
        (a_after, And((F("a") == 1, Or((F("id") > 2, F("id").is_none())))))
    )
    assert keyset_after(order, (1, 2), {"id"}) == Or((a_after, And((F("a") == 1, F("id") > 2))))


async def test_a_forged_cursor_past_the_end_gives_an_empty_page() -> None:
    new_uow = InMemoryUnitOfWork.factory(Directory)
    async with new_uow() as uow:
        await uow.people.add(Person(id=1, name="Ada", home=None))
        order = (Order("home.city"), Order("id"))
        page = await uow.people.page(order_by=list(order), after=Cursor(order, (None, None)))
        assert page.items == []
        assert page.next is None


async def test_seen_lists_every_aggregate_once_in_order() -> None:
    new_uow = InMemoryUnitOfWork.factory(Directory)
    async with new_uow() as uow:
        ada, bo = Person(id=1, name="Ada"), Person(id=2, name="Bo")
        await uow.people.add(ada)
        await uow.people.add(bo)
        await uow.people.add(ada)
        assert uow.seen() == [ada, bo]
