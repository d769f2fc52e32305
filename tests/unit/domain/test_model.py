from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from datetime import UTC
from decimal import Decimal
from uuid import UUID

import pytest

from andamios.domain import AggregateRoot, DomainEvent, Entity, ValueObject


@dataclass(frozen=True)
class Money(ValueObject):
    amount: Decimal
    currency: str = "EUR"


@dataclass(frozen=True, kw_only=True)
class Renamed(DomainEvent):
    name: str


@dataclass(eq=False, kw_only=True)
class Line(Entity[int]):
    sku: str


@dataclass(eq=False, kw_only=True)
class Basket(AggregateRoot[UUID]):
    owner: str
    lines: list[Line] = field(default_factory=list)

    def rename(self, owner: str) -> None:
        self.owner = owner
        self.record(Renamed(name=owner))


def test_entities_are_equal_by_type_and_id_only() -> None:
    assert Line(id=1, sku="a") == Line(id=1, sku="b")
    assert Line(id=1, sku="a") != Line(id=2, sku="a")
    assert hash(Line(id=1, sku="a")) == hash(Line(id=1, sku="z"))
    assert len({Line(id=1, sku="a"), Line(id=1, sku="b"), Line(id=2, sku="a")}) == 2
    assert Line(id=1, sku="a") != 1
    assert Line(id=1, sku="a").__eq__("x") is NotImplemented


def test_entities_of_different_types_with_the_same_id_differ() -> None:
    @dataclass(eq=False, kw_only=True)
    class Other(Entity[int]):
        sku: str

    assert Line(id=1, sku="a") != Other(id=1, sku="a")


def test_aggregates_get_a_uuid7_id_and_version_zero() -> None:
    basket = Basket(owner="ada")
    assert isinstance(basket.id, UUID)
    assert basket.id.version == 7
    assert basket.version == 0
    assert Basket(owner="ada").id != basket.id


def test_recorded_events_are_pending_until_pulled() -> None:
    basket = Basket(owner="ada")
    basket.rename("grace")
    basket.rename("hopper")
    assert [e.name for e in basket.pending_events] == ["grace", "hopper"]  # type: ignore[attr-defined]
    pulled = basket.pull_events()
    assert [e.name for e in pulled] == ["grace", "hopper"]  # type: ignore[attr-defined]
    assert basket.pending_events == ()
    assert basket.pull_events() == []


def test_pending_events_are_never_compared_printed_or_a_field() -> None:
    basket = Basket(owner="ada")
    basket.rename("grace")
    names = [f.name for f in dataclasses.fields(basket)]
    assert names == ["id", "version", "owner", "lines"]
    assert "Renamed" not in repr(basket)
    assert "events" not in dataclasses.asdict(basket)
    twin = copy.copy(basket)
    twin.pull_events()
    assert basket == twin


def test_recording_something_that_is_not_an_event_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="takes a DomainEvent, got str"):
        Basket(owner="ada").record("renamed")  # type: ignore[arg-type]


def test_an_aggregate_built_without_init_still_records_events() -> None:
    loaded = Basket.__new__(Basket)  # how adapters build aggregates they load
    loaded.record(Renamed(name="x"))
    assert len(loaded.pending_events) == 1


def test_value_objects_are_immutable_and_equal_by_value() -> None:
    price = Money(Decimal("1.50"))
    assert price == Money(Decimal("1.50"), "EUR")
    assert price != Money(Decimal("1.50"), "USD")
    with pytest.raises(dataclasses.FrozenInstanceError):
        price.amount = Decimal(2)  # type: ignore[misc]


def test_events_have_their_own_id_a_utc_timestamp_and_a_name() -> None:
    first, second = Renamed(name="a"), Renamed(name="a")
    assert first.event_id != second.event_id
    assert first.occurred_at.tzinfo is UTC
    assert first.occurred_at <= second.occurred_at
    assert Renamed.event_name == "Renamed"
    assert DomainEvent.event_name == "DomainEvent"
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.name = "b"  # type: ignore[misc]
