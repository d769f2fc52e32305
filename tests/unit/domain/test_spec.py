from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from andamios.domain import (
    And,
    Between,
    Compare,
    F,
    Field,
    In,
    InvalidSpecification,
    IsNone,
    Match,
    MatchKind,
    Not,
    Op,
    Or,
    Order,
    normalize_order,
)
from andamios.ports.errors import PersistenceError


def test_comparisons_build_compare_nodes() -> None:
    assert (F("price") < 10) == Compare("price", Op.LT, 10)
    assert (F("price") <= 10) == Compare("price", Op.LE, 10)
    assert (F("price") > 10) == Compare("price", Op.GT, 10)
    assert (F("price") >= 10) == Compare("price", Op.GE, 10)
    assert (F("sku") == "A") == Compare("sku", Op.EQ, "A")
    assert (F("sku") != "A") == Compare("sku", Op.NE, "A")
    assert (F("price") < 10) == Compare("price", Op.LT, 10)  # reflected, as SQLAlchemy does


def test_equality_with_none_means_is_none() -> None:
    assert (F("note") == None) == IsNone("note")  # noqa: E711
    assert (F("note") != None) == IsNone("note", negated=True)  # noqa: E711
    assert F("note").is_none() == IsNone("note")
    assert F("note").is_not_none() == IsNone("note", negated=True)


def test_other_operators() -> None:
    assert F("n").in_([1, 2]) == In("n", (1, 2))
    assert F("n").in_(x for x in (3,)) == In("n", (3,))
    assert F("n").not_in({5}) == In("n", (5,), negated=True)
    assert F("d").between(date(2024, 1, 1), date(2024, 2, 1)) == Between(
        "d", date(2024, 1, 1), date(2024, 2, 1)
    )
    assert F("s").contains("x") == Match("s", MatchKind.CONTAINS, "x")
    assert F("s").startswith("x") == Match("s", MatchKind.STARTSWITH, "x")
    assert F("s").endswith("x") == Match("s", MatchKind.ENDSWITH, "x")
    assert F("s").ilike("x%") == Match("s", MatchKind.ILIKE, "x%")


def test_combinators_flatten_and_double_negation_cancels() -> None:
    a, b, c = F("a") == 1, F("b") == 2, F("c") == 3
    assert (a & b & c) == And((a, b, c))
    assert (a | b | c) == Or((a, b, c))
    assert ((a & b) & (b & c)) == And((a, b, b, c))
    assert ((a | b) | (b | c)) == Or((a, b, b, c))
    assert (a & (b | c)) == And((a, Or((b, c))))
    assert ~a == Not(a)
    assert ~~a == a


def test_a_spec_knows_the_fields_it_reads() -> None:
    spec = ((F("a") == 1) | F("b").is_none()) & ~F("c.d").in_([1]) & F("e").between(1, 2)
    spec = spec & F("f").contains("x")
    assert spec.fields() == frozenset({"a", "b", "c.d", "e", "f"})


def test_repr_reads_like_the_code_that_built_it() -> None:
    spec = ((F("price") < 10) & F("name").startswith("A")) | ~F("x").in_([1, 2])
    assert repr(spec) == (
        "((F('price') < 10) & (F('name').startswith('A'))) | (~(F('x').in_([1, 2])))"
    )
    assert repr(F("a").not_in([1])) == "F('a').not_in([1])"
    assert repr(F("a").is_none()) == "F('a').is_none()"
    assert repr(F("a").is_not_none()) == "F('a').is_not_none()"
    assert repr(F("a").between(1, 2)) == "F('a').between(1, 2)"
    assert repr(F("a")) == "F('a')"
    assert repr(F("a").asc()) == "F('a').asc()"
    assert repr(F("a").desc(nulls_first=True)) == "F('a').desc(nulls_first=True)"


@pytest.mark.parametrize(
    "misuse",
    [
        lambda: (F("a") == 1) and (F("b") == 2),
        lambda: (F("a") == 1) or (F("b") == 2),
        lambda: not (F("a") == 1),  # noqa: SIM201 - the misuse under test
        lambda: bool(F("a") > 1),
        lambda: 1 < F("a") < 5,
        lambda: bool(F("a")),
        lambda: bool(F("a").asc()),
    ],
)
def test_using_a_spec_as_a_truth_value_is_refused(misuse: Any) -> None:
    with pytest.raises(InvalidSpecification, match="truth value"):
        misuse()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: F(3), "must be a string"),  # type: ignore[arg-type]
        (lambda: F(""), "not a Python identifier"),
        (lambda: F("a..b"), "not a Python identifier"),
        (lambda: F("price-1"), "not a Python identifier"),
        (lambda: F("class"), "not a Python identifier"),
        (lambda: F("a").in_([]), "at least one value"),
        (lambda: F("a").not_in(()), "at least one value"),
        (lambda: F("a").in_("abc"), "collection of values"),
        (lambda: F("a").in_(5), "collection of values"),  # type: ignore[arg-type]
        (lambda: F("a") < None, "use .is_none"),
        (lambda: F("a") == F("b"), "comparing two fields"),
        (lambda: F("a") > (F("b") == 1), "comparing two fields"),
        (lambda: F("a").between(None, 3), "not None"),
        (lambda: F("a").contains(3), "takes a string"),  # type: ignore[arg-type]
        (lambda: (F("a") == 1) & True, "both must be specs"),
        (lambda: (F("a") == 1) | "b", "both must be specs"),
    ],
)
def test_misuse_is_caught_while_building(build: Any, message: str) -> None:
    with pytest.raises(InvalidSpecification, match=message):
        build()


def test_invalid_specification_is_a_value_error_and_a_persistence_error() -> None:
    with pytest.raises(ValueError, match="at least one"):
        F("a").in_([])
    assert issubclass(InvalidSpecification, PersistenceError)


def test_fields_are_immutable_and_unhashable() -> None:
    field = F("a")
    with pytest.raises(AttributeError, match="immutable"):
        field.path = "b"
    with pytest.raises(TypeError):
        hash(field)
    assert F is Field


def test_order_terms() -> None:
    assert F("a").asc() == Order("a")
    assert F("a").desc() == Order("a", descending=True)
    assert F("a").asc(nulls_first=True) == Order("a", nulls_first=True)


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (None, ()),
        ("a", (Order("a"),)),
        (F("a"), (Order("a"),)),
        (F("a").desc(), (Order("a", descending=True),)),
        (["a", F("b"), F("c").desc()], (Order("a"), Order("b"), Order("c", descending=True))),
        ((F("a"),), (Order("a"),)),
    ],
)
def test_normalize_order(order_by: Any, expected: tuple[Order, ...]) -> None:
    assert normalize_order(order_by) == expected


@pytest.mark.parametrize("order_by", [3, {"a"}, [F("a"), 3], ["a b"]])
def test_normalize_order_rejects_other_things(order_by: Any) -> None:
    with pytest.raises(InvalidSpecification):
        normalize_order(order_by)
