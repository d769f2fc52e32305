"""Domain events: equal by payload, metadata readable apart, and ``to_dict()`` in JSON types."""

from __future__ import annotations

import dataclasses
import doctest
import enum
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

import andamios.domain
from andamios.domain import AggregateRoot, DomainEvent, ValueObject, uuid7


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Size(enum.IntEnum):
    SMALL = 1
    LARGE = 2


@dataclass(frozen=True)
class Money(ValueObject):
    amount: Decimal
    currency: str = "EUR"


@dataclass(frozen=True)
class Parcel(ValueObject):
    price: Money
    colours: tuple[Colour, ...] = ()


@dataclass(frozen=True, kw_only=True)
class OutOfStock(DomainEvent):
    sku: str


@dataclass(frozen=True, kw_only=True)
class Restocked(DomainEvent):
    sku: str


@dataclass(frozen=True, kw_only=True)
class Everything(DomainEvent):
    order_id: UUID
    total: Decimal
    placed_at: datetime
    due: date
    at: time
    colour: Colour
    size: Size
    parcel: Parcel
    tags: frozenset[str]
    lines: list[Money]
    counts: dict[str, int]
    note: str | None = None
    rate: float = 0.5
    gift: bool = False
    quantity: int = 3


@dataclass(frozen=True, kw_only=True)
class Holds(DomainEvent):
    value: Any = None


@dataclass(eq=False, kw_only=True)
class Product(AggregateRoot[str]):
    stock: int = 0

    def sell(self) -> None:
        self.stock -= 1
        if self.stock == 0:
            self.record(OutOfStock(sku=self.id))


# -- equality ----------------------------------------------------------------------------------


def test_events_compare_by_payload_not_by_id_or_time() -> None:
    product = Product(id="TEA-01", stock=1)
    product.sell()
    assert product.pull_events() == [OutOfStock(sku="TEA-01")]
    assert OutOfStock(sku="a") != OutOfStock(sku="b")
    assert OutOfStock(sku="a") != Restocked(sku="a")  # type: ignore[comparison-overlap]


def test_metadata_stays_readable_and_tells_two_equal_events_apart() -> None:
    first = OutOfStock(sku="a")
    second = OutOfStock(sku="a", occurred_at=first.occurred_at + timedelta(days=1))
    assert first == second
    assert first.event_id != second.event_id  # "the very same event" is a matter of event_id
    assert isinstance(first.event_id, UUID)
    assert first.occurred_at.tzinfo is UTC
    assert [f.name for f in dataclasses.fields(first) if f.compare] == ["sku"]


def test_equal_events_hash_alike_so_sets_and_dicts_hold_them_by_payload() -> None:
    assert hash(OutOfStock(sku="a")) == hash(OutOfStock(sku="a"))
    assert len({OutOfStock(sku="a"), OutOfStock(sku="a"), OutOfStock(sku="b")}) == 2


@given(sku=st.text(), moment=st.datetimes(timezones=st.just(UTC)))
def test_equality_and_hash_ignore_any_metadata(sku: str, moment: datetime) -> None:
    event = OutOfStock(sku=sku, event_id=uuid7(), occurred_at=moment)
    twin = OutOfStock(sku=sku)
    assert event == twin
    assert hash(event) == hash(twin)


# -- to_dict -----------------------------------------------------------------------------------


def _everything() -> Everything:
    return Everything(
        event_id=UUID("01900000-0000-7000-8000-000000000001"),
        occurred_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
        order_id=UUID("01900000-0000-7000-8000-0000000000aa"),
        total=Decimal("41.00"),
        placed_at=datetime(2026, 3, 1, 10, 30, tzinfo=timezone(timedelta(hours=1))),
        due=date(2026, 3, 8),
        at=time(17, 45),
        colour=Colour.BLUE,
        size=Size.LARGE,
        parcel=Parcel(Money(Decimal("1.5")), (Colour.RED, Colour.BLUE)),
        tags=frozenset({"tea", "gift", "fragile"}),
        lines=[Money(Decimal("0.10"), "USD")],
        counts={"tea": 2},
    )


def test_to_dict_keeps_type_and_metadata_apart_from_plain_json_data() -> None:
    assert _everything().to_dict() == {
        "type": "Everything",
        "event_id": "01900000-0000-7000-8000-000000000001",
        "occurred_at": "2026-03-01T09:30:00+00:00",
        "data": {
            "order_id": "01900000-0000-7000-8000-0000000000aa",
            "total": "41.00",
            "placed_at": "2026-03-01T10:30:00+01:00",
            "due": "2026-03-08",
            "at": "17:45:00",
            "colour": "blue",
            "size": 2,
            "parcel": {"price": {"amount": "1.5", "currency": "EUR"}, "colours": ["red", "blue"]},
            "tags": ["fragile", "gift", "tea"],
            "lines": [{"amount": "0.10", "currency": "USD"}],
            "counts": {"tea": 2},
            "note": None,
            "rate": 0.5,
            "gift": False,
            "quantity": 3,
        },
    }


def test_to_dict_goes_through_json_unchanged() -> None:
    message = _everything().to_dict()
    assert json.loads(json.dumps(message, allow_nan=False)) == message


def test_the_type_is_the_event_name() -> None:
    assert OutOfStock(sku="a").to_dict()["type"] == OutOfStock.event_name == "OutOfStock"


def test_enum_keys_become_their_values() -> None:
    assert Holds(value={Colour.RED: 1}).to_dict()["data"] == {"value": {"red": 1}}


@pytest.mark.parametrize(
    ("value", "where", "kind"),
    [
        (b"raw", "Holds.value", "bytes"),
        (timedelta(1), "Holds.value", "timedelta"),
        ([1, {"a": object()}], "Holds.value[1]['a']", "object"),
        (Money(Decimal(1), currency=b"E"), "Holds.value.currency", "bytes"),  # type: ignore[arg-type]
        ({b"k"}, "Holds.value[*]", "bytes"),
        (Money, "Holds.value", "type"),  # a dataclass class is not a value
    ],
    ids=["bytes", "timedelta", "nested", "in-a-value-object", "in-a-set", "a-class"],
)
def test_a_value_it_cannot_convert_is_a_type_error_naming_the_field(
    value: object, where: str, kind: str
) -> None:
    expected = rf"^{re.escape(where)} is a {kind}, which to_dict\(\) cannot"
    with pytest.raises(TypeError, match=expected):
        Holds(value=value).to_dict()


def test_a_mapping_key_that_is_not_a_string_is_a_type_error_naming_the_field() -> None:
    with pytest.raises(TypeError, match=r"Holds\.value has a int key 1: .* str keys only"):
        Holds(value={1: "one"}).to_dict()


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_a_float_json_cannot_hold_is_a_value_error_naming_the_field(value: float) -> None:
    with pytest.raises(ValueError, match=r"^Holds\.value\[0\] is .*, which JSON cannot hold"):
        Holds(value=[value]).to_dict()


def test_an_event_can_override_to_dict_for_a_payload_of_its_own() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Waited(DomainEvent):
        delay: timedelta = field(default=timedelta(seconds=90))

        def to_dict(self) -> dict[str, Any]:
            return {
                "type": self.event_name,
                "event_id": str(self.event_id),
                "occurred_at": self.occurred_at.isoformat(),
                "data": {"delay_s": self.delay.total_seconds()},
            }

    assert Waited().to_dict()["data"] == {"delay_s": 90.0}
    with pytest.raises(TypeError, match=r"Waited\.delay is a timedelta"):
        DomainEvent.to_dict(Waited())


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.uuids()
    | st.decimals(allow_nan=False)
    | st.datetimes(timezones=st.none() | st.timezones())
    | st.dates()
    | st.times()
    | st.sampled_from(Colour)
    | st.builds(Money, st.decimals(allow_nan=False, allow_infinity=False), st.text()),
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=4).map(tuple)
        | st.frozensets(st.text() | st.integers(), max_size=4)
        | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=12,
)


@given(value=_json_values)
def test_any_supported_payload_survives_json(value: object) -> None:
    message = Holds(value=value).to_dict()
    assert json.loads(json.dumps(message, allow_nan=False)) == message


@given(items=st.frozensets(st.text() | st.integers() | st.uuids(), max_size=6))
def test_equal_events_with_sets_give_equal_dicts(items: frozenset[object]) -> None:
    first, second = Holds(value=items), Holds(value=frozenset(list(items)[::-1]))
    assert first == second
    assert first.to_dict()["data"] == second.to_dict()["data"]


def test_the_domain_docstring_examples_run() -> None:
    result = doctest.testmod(andamios.domain, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
