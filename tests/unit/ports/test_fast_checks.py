"""The cheap field tests: a column's test answers as its per-value test does on every value,
and a value either test accepts passes the full check."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andamios.domain import Aware, Bits, Digits, MaxLength, Naive
from andamios.ports._fast_checks import Fast, fast_check, never
from andamios.ports._storage import FieldRule


class Colour(enum.Enum):
    RED = "red"


#: Each field: its kind, its constraints, and values of every sort it may meet.
FIELDS: dict[str, tuple[type, tuple[object, ...], st.SearchStrategy[Any]]] = {
    "text": (str, (), st.text(max_size=6)),
    "short text": (str, (MaxLength(3),), st.text(max_size=5)),
    "small int": (
        int,
        (Bits(16),),
        st.one_of(st.integers(-40000, 40000), st.booleans()),
    ),
    "decimal": (
        Decimal,
        (),
        st.decimals(allow_nan=True, allow_infinity=True, places=None),
    ),
    "money": (
        Decimal,
        (Digits(6, 2),),
        st.one_of(
            st.decimals(min_value=-20000, max_value=20000, places=3),
            st.decimals(allow_nan=True, allow_infinity=True),
            st.sampled_from([Decimal("-0"), Decimal("9999.99"), Decimal("1E+100")]),
        ),
    ),
    "float": (float, (), st.floats()),
    "uuid": (UUID, (), st.uuids()),
    "date": (date, (), st.dates()),
    "span": (timedelta, (), st.timedeltas()),
    "enum": (Colour, (), st.sampled_from(Colour)),
    "moment": (datetime, (), st.datetimes()),
    "aware moment": (
        datetime,
        (Aware(),),
        st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))])),
    ),
    "naive moment": (datetime, (Naive(),), st.datetimes()),
    "aware time": (time, (Aware(),), st.times(timezones=st.sampled_from([UTC]))),
    "naive time": (time, (Naive(),), st.times()),
}

#: What any field may be handed beside its own values: another type, a subclass, a None.
STRAYS = st.sampled_from(
    [None, "x", "\x00", "é", 1, True, 1.5, Decimal(1), b"b", datetime(2026, 1, 1, tzinfo=UTC)]
)


@pytest.mark.parametrize("name", list(FIELDS))
@settings(max_examples=150, deadline=None)
@given(data=st.data(), nullable=st.booleans())
def test_a_column_fits_exactly_when_each_of_its_values_does(
    name: str, data: st.DataObject, nullable: bool
) -> None:
    kind, constraints, values = FIELDS[name]
    fast = fast_check(kind, constraints, json=False)
    column = data.draw(st.lists(st.one_of(values, values, STRAYS), max_size=8))

    each = all((value is None and nullable) or fast.one(value) for value in column)

    assert fast.all(column, nullable=nullable) is each
    full = FieldRule(name, kind, nullable, constraints)  # type: ignore[arg-type]
    for value in column:
        if fast.one(value):
            assert full.problem(value) is None, value


def test_a_field_the_full_check_must_see_fits_only_when_absent() -> None:
    assert fast_check(list, (), json=False) is never
    assert fast_check(str, (), json=True) is never
    assert never.all([], nullable=False)
    assert never.all([None, None], nullable=True)
    assert not never.all([None], nullable=False)
    assert not never.all(["x"], nullable=True)


def test_a_column_of_one_type_is_tested_without_a_call_per_value() -> None:
    calls: list[object] = []

    def one(value: object) -> bool:
        calls.append(value)
        return True

    fast = Fast(one, str)

    assert fast.all(["a", "b", None], nullable=True)
    assert not fast.all(["a", 1], nullable=False)
    assert calls == []
