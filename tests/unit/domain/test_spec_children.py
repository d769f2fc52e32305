"""``F("lines").any(spec)``: the spec node matching child entities, as a pure data tree."""

from __future__ import annotations

import pytest

from andamios.domain import AnyMatch, F, InvalidSpecification, Not, Or


def test_any_builds_an_any_match_node_reading_only_its_field() -> None:
    spec = F("lines").any((F("sku") == "x") & (F("quantity") > 2))
    assert isinstance(spec, AnyMatch)
    assert spec.field == "lines"
    assert spec == AnyMatch("lines", (F("sku") == "x") & (F("quantity") > 2))
    assert spec.fields() == frozenset({"lines"})  # the inner fields are the child's


def test_any_match_reads_as_it_is_written() -> None:
    assert repr(F("lines").any(F("sku") == "x")) == "F('lines').any(F('sku') == 'x')"
    assert repr(F("note").any(F("text").startswith("a") & (F("id") != 1))) == (
        "F('note').any((F('text').startswith('a')) & (F('id') != 1))"
    )
    assert repr(~F("lines").any(F("sku") == "x")) == "~(F('lines').any(F('sku') == 'x'))"


def test_any_combines_with_the_other_nodes() -> None:
    inner = F("sku") == "x"
    negated = ~F("lines").any(inner)
    assert negated == Not(AnyMatch("lines", inner))
    assert ~negated == AnyMatch("lines", inner)
    either = F("lines").any(inner) | (F("owner") == "ana")
    assert isinstance(either, Or)
    assert either.fields() == frozenset({"lines", "owner"})


@pytest.mark.parametrize("inner", ["sku", F("sku"), 3], ids=repr)
def test_any_takes_a_specification(inner: object) -> None:
    with pytest.raises(InvalidSpecification, match=r"F\('lines'\)\.any\(\) takes a spec"):
        F("lines").any(inner)  # type: ignore[arg-type]


def test_any_without_a_specification_asks_for_one_child() -> None:
    assert F("lines").any() == AnyMatch("lines", None)
    assert repr(~F("lines").any()) == "~(F('lines').any())"


def test_an_any_match_has_no_truth_value() -> None:
    with pytest.raises(InvalidSpecification, match="no truth value"):
        bool(F("lines").any(F("sku") == "x"))
