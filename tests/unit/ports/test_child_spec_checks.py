"""Specs over child entities are checked by the ports, alike for every adapter, before a query."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

import pytest

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.domain import AggregateRoot, Entity, F, InvalidSpecification, Spec, ValueObject
from andamios.ports import Repository, UnitOfWork
from andamios.ports._introspection import child_entity_type
from andamios.ports._spec_values import validate_spec


@dataclass(frozen=True)
class Size(ValueObject):
    width: int


@dataclass(eq=False, kw_only=True)
class Part(Entity[UUID]):
    code: str
    count: int = 1


@dataclass(eq=False, kw_only=True)
class Kit(AggregateRoot[UUID]):
    name: str
    size: Size | None = None
    tags: list[str] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    main: Part | None = None


class Workshop(UnitOfWork):
    kits: Repository[Kit, UUID]


def test_the_child_class_of_a_list_and_of_a_one_to_one_field() -> None:
    assert child_entity_type(Kit, "parts") is Part
    assert child_entity_type(Kit, "main") is Part


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (F("name").any(F("code") == "x"), r"F\('name'\)\.any\(\) matches child entities, but "),
        (F("name").any(F("code") == "x"), r"Kit\.name is str"),
        (F("size").any(F("width") == 1), r"Kit\.size is Size"),
        (F("tags").any(F("code") == "x"), r"Kit\.tags is list\[str\]"),
        (F("size.width").any(F("code") == "x"), "a field of the aggregate itself"),
        (F("nope").any(F("code") == "x"), "Kit has no field 'nope'"),
        (F("parts").any(F("nope") == 1), "Part has no field 'nope'"),
        (F("parts").any(F("count") == "x"), r"Part\.count is int"),
        (F("parts").any(F("id") == "x"), r"Part\.id is UUID"),
        (F("main").any(~(F("code").in_(["a", 3]))), "cannot compare it with int"),
        ((F("name") == "a") & F("parts").any(F("count").startswith("1")), r"Part\.count is int"),
        (F("main.code") == 3, r"Kit\.main\.code is str"),
        (F("parts.code") == "x", r"Kit\.parts holds a list of Part"),
        (F("parts.code") == "x", r"F\('parts'\)\.any\(F\('code'\) == \.\.\.\)"),
    ],
    ids=repr,
)
def test_wrong_child_specs_are_refused(spec: object, message: str) -> None:
    with pytest.raises(InvalidSpecification, match=message):
        validate_spec(Kit, spec, UUID)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "spec",
    [
        F("parts").any(F("code") == "x"),
        ~F("parts").any((F("code").in_(["a", "b"])) | (F("count") > 2)),
        F("main").any(F("code").contains("x")),
        F("main.code") == "x",
        F("main.count").between(1, 3) & F("parts").any(F("count") != 1),
    ],
    ids=repr,
)
def test_child_specs_over_known_fields_pass(spec: Spec) -> None:
    validate_spec(Kit, spec, UUID)


async def test_every_reading_method_refuses_before_it_reads() -> None:
    new_uow = InMemoryUnitOfWork.factory(Workshop)
    wrong = F("name").any(F("code") == "x")
    async with new_uow() as uow:
        for call in (
            uow.kits.find(wrong),
            uow.kits.first(wrong),
            uow.kits.count(wrong),
            uow.kits.exists(wrong),
            uow.kits.page(wrong),
        ):
            with pytest.raises(InvalidSpecification, match="matches child entities"):
                await call
        with pytest.raises(InvalidSpecification, match="matches child entities"):
            await anext(uow.kits.stream(wrong))
        with pytest.raises(InvalidSpecification, match=r"F\('parts'\)\.any"):
            await uow.kits.find(order_by="parts.code")
