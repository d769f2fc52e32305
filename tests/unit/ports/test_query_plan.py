"""Read-model queries: the builder's and the planner's checks, and the in-memory evaluation.

Every check here runs before any adapter is asked, so it is the same on every adapter (the
contract suite, ``andamios.testing.ReadModelContract``, runs the shared behaviour on each).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from andamios.adapters.memory import InMemoryUnitOfWork
from andamios.domain import (
    AggregateRoot,
    Avg,
    Count,
    F,
    InvalidSpecification,
    Max,
    Min,
    ReadQuery,
    Sum,
    ValueObject,
)
from andamios.domain._query import default_source_name
from andamios.ports import Cursor, Repository, UnitOfWork
from andamios.testing.models import Basket, Gadget, make_gadgets


@dataclass(frozen=True)
class Money(ValueObject):
    amount: Decimal
    currency: str


@dataclass(eq=False, kw_only=True)
class Reading(AggregateRoot[UUID]):
    sensor: str
    value: float | None = None
    count: int = 0
    price: Money | None = None
    tags: list[str] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class OrderLine(AggregateRoot[UUID]):
    sku: str
    flag: bool = False


class Shop(UnitOfWork):
    readings: Repository[Reading, UUID]
    gadgets: Repository[Gadget, UUID]


async def _run(query: Any, rows: list[Any] | None = None) -> list[Any]:
    new_uow = InMemoryUnitOfWork.factory(Shop)
    async with new_uow() as uow:
        for row in rows or ():
            await uow.repository(type(row)).add(row)
        await uow.commit()
        return await uow.query(query)


# -- the builder ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ReadQuery("Gadget"), "starts from an aggregate class"),  # type: ignore[arg-type]
        (lambda: ReadQuery(Gadget, name="1x"), "identifier"),
        (lambda: ReadQuery(Gadget, name="_x"), "starts with '_'"),
        (lambda: ReadQuery(Gadget).select("sku", sku=F("name")), "twice"),
        (lambda: ReadQuery(Gadget).select(3), "field path"),  # type: ignore[arg-type]
        (lambda: ReadQuery(Gadget).select("a..b"), "field path"),
        (lambda: ReadQuery(Gadget).select(_x="sku"), "starts with '_'"),
        (lambda: ReadQuery(Gadget).join("lines"), "name child entities by their source"),
        (lambda: ReadQuery(Basket).join("basket.lines", on=("a", "b")), "takes no on="),
        (lambda: ReadQuery(Gadget).join(Basket), "needs on="),
        (lambda: ReadQuery(Gadget).join(Basket, on=("a",)), "needs on="),  # type: ignore[arg-type]
        (lambda: ReadQuery(Gadget).join(3), "aggregate class or a path"),  # type: ignore[arg-type]
        (lambda: ReadQuery(Gadget).join(Gadget, on=("gadget.sku", "gadget.sku")), "already in"),
        (lambda: ReadQuery(Gadget).where("sku = 1"), r"where\(\) takes"),  # type: ignore[arg-type]
        (lambda: ReadQuery(Gadget).having(True), r"having\(\) takes"),  # type: ignore[arg-type]
        (lambda: ReadQuery(Gadget).group_by(), "at least one"),
        (lambda: ReadQuery(Gadget).order_by(3), "order_by"),  # type: ignore[arg-type]
        (lambda: ReadQuery(Gadget).into("row"), r"into\(\) takes a class"),  # type: ignore[arg-type]
        (lambda: ReadQuery(Gadget).into(dict[str, int]), r"into\(\) takes a class"),
        (lambda: Count(distinct=True), "needs a field"),
        (lambda: Sum(3), r"Sum\(\)"),  # type: ignore[arg-type]
    ],
)
def test_the_builder_refuses_what_no_adapter_could_run(build: Any, message: str) -> None:
    with pytest.raises(InvalidSpecification, match=message):
        build()


def test_queries_and_aggregations_are_values_without_a_truth_value() -> None:
    query = ReadQuery(Gadget).select("sku").where(F("price") > 1).where(F("quantity") < 3)
    assert query == ReadQuery(Gadget).select("sku").where((F("price") > 1) & (F("quantity") < 3))
    assert query.having(F("sku") == "a").having(F("sku") != "b").group_condition == (
        (F("sku") == "a") & (F("sku") != "b")
    )
    assert [repr(a) for a in (Count(), Count("sku", distinct=True), Sum(F("price")), Max("x"))] == [
        "Count()",
        "Count('sku', distinct=True)",
        "Sum('price')",
        "Max('x')",
    ]
    assert Count("x") == Count("x") != Count("x", distinct=True)
    assert {Min("x"), Min("x")} == {Min("x")}
    with pytest.raises(InvalidSpecification, match="truth value"):
        bool(query)
    with pytest.raises(InvalidSpecification, match="truth value"):
        bool(Count())
    assert [default_source_name(kind) for kind in (OrderLine, Gadget)] == ["order_line", "gadget"]


# -- the planner ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (ReadQuery(Reading).select("price"), "whole value"),
        (ReadQuery(Reading).select("tags"), "whole value"),
        (ReadQuery(Basket).select("note"), "holds child entities"),
        (ReadQuery(Reading).select(total=Sum("sensor")), r"Sum\('sensor'\): reading.sensor is str"),
        (ReadQuery(Reading).select(mean=Avg("price.currency")), "Avg takes numbers"),
        (ReadQuery(Gadget).select(low=Min("active")), "Min takes numbers, text"),
        (ReadQuery(Gadget).select("x.sku"), "no field"),
        (ReadQuery(Basket).join("basket.lines", name="line").select("nobody.sku"), "source's name"),
        (ReadQuery(Basket).join("basket.lines", name="line").select("line"), "source's name"),
        (ReadQuery(Basket).join("nobody.lines").select("basket.owner"), "the sources are 'basket'"),
        (ReadQuery(Basket).join("basket.lines.sku").select("basket.owner"), "'source.field'"),
        (
            ReadQuery(Basket)
            .join(Gadget, on=("basket.owner", "basket.owner"))
            .select("basket.owner"),
            "one side must be a field of 'gadget'",
        ),
        (
            ReadQuery(Basket).join(Gadget, on=("gadget.sku", "gadget.name")).select("gadget.sku"),
            "the other a field of a source before it",
        ),
        (
            ReadQuery(Basket).join(Gadget, on=("basket.note", "gadget.sku")).select("basket.owner"),
            "holds child entities",
        ),
        (
            ReadQuery(Basket).join(Basket, on=("b.id", "basket.id"), name="b"),
            "already in the query",
        ),
        (ReadQuery(Gadget).select(n=Count()).having(F("n").contains("1")), "matches text"),
        (ReadQuery(Gadget).select(n=Count()).having(F("n").in_(["1"])), "not a number"),
        (ReadQuery(Gadget).select(n=Count()).having(F("n").between(0, True)), "not a number"),
        (ReadQuery(Gadget).select(n=Count()).having(F("n") == Decimal("NaN")), "not a number"),
        (
            ReadQuery(Basket).select(n=Count()).having(F("n").any(F("sku") == "x")),
            "any\\(\\) filters sources",
        ),
        (ReadQuery(Gadget).select(low=Min("price")).having(F("low") > "x"), "cannot compare"),
        (ReadQuery(Gadget).select("sku").into(int), "rows are a dataclass"),
        (ReadQuery(Money).select("amount"), "starts from an aggregate class"),
        (
            ReadQuery(Gadget).join(Money, on=("gadget.sku", "money.currency")),
            "aggregate class or a",
        ),
        (ReadQuery(Basket).where(F("lines.sku") == "x").select("owner"), r"F\('lines'\)\.any"),
        (ReadQuery(Gadget).select("sku").offset(True), "offset"),
    ],
)
async def test_the_planner_refuses_what_the_classes_cannot_answer(query: Any, message: str) -> None:
    with pytest.raises(InvalidSpecification, match=message):
        await _run(query)


@dataclass(frozen=True, slots=True, repr=False, init=False)
class Median(Sum):
    """Not one of the five: no adapter knows what it means."""


async def test_only_the_five_aggregations_are_computed() -> None:
    with pytest.raises(InvalidSpecification, match="aggregations are Count, Sum, Avg, Min and Max"):
        await _run(ReadQuery(Gadget).select(m=Median("price")))


async def test_a_query_must_be_a_query() -> None:
    new_uow = InMemoryUnitOfWork.factory(Shop)
    async with new_uow() as uow:
        with pytest.raises(InvalidSpecification, match="expected a ReadQuery"):
            await uow.query("SELECT 1")  # type: ignore[arg-type]


async def test_a_having_without_a_value_is_no_number_to_check() -> None:
    # IS NULL compares with no value: nothing for the number rules to refuse.
    rows = [Gadget(sku="A", name="a", price=Decimal(1))]
    query = ReadQuery(Gadget).select(n=Count()).having(F("n").is_none())
    assert await _run(query, rows) == []


@dataclass
class _WithDefault:
    sku: str
    extra: int = 0


@dataclass
class _WithoutInit:
    sku: str
    hidden: int = field(default=0, init=False)


async def test_into_accepts_rows_whose_other_fields_have_defaults() -> None:
    rows = [Gadget(sku="A", name="a", price=Decimal(1))]
    assert await _run(ReadQuery(Gadget).select("sku").into(_WithDefault), rows) == [
        _WithDefault("A")
    ]
    assert await _run(ReadQuery(Gadget).select("sku").into(_WithoutInit), rows) == [
        _WithoutInit("A")
    ]
    with pytest.raises(InvalidSpecification, match="no field for name"):
        await _run(ReadQuery(Gadget).select("sku", "name").into(_WithDefault), rows)


# -- in-memory evaluation with SQL's rules ---------------------------------------------------------


async def test_where_combines_specs_over_every_source() -> None:
    rows = make_gadgets()
    query = (
        ReadQuery(Gadget)
        .where(((F("price") > 1) & ~(F("quantity") == 3)) | F("sku").in_(["B-2"]))
        .select("sku")
        .order_by("sku")
    )
    having = (
        ReadQuery(Gadget)
        .group_by("quantity")
        .select("quantity", top=Max("weight"), n=Count())
        .having(F("top").is_none() | (F("n") > 1))
        .order_by("quantity")
    )
    assert await _run(query, rows) == [{"sku": "B-2"}, {"sku": "C-3"}, {"sku": "F-6"}]
    assert await _run(having, rows) == [
        {"quantity": 0, "top": 7.0, "n": 2},
        {"quantity": 3, "top": 2.5, "n": 2},
        {"quantity": 7, "top": None, "n": 1},
        {"quantity": 100, "top": None, "n": 1},
    ]


async def test_a_page_after_the_last_row_is_empty() -> None:
    rows = make_gadgets()
    query = ReadQuery(Gadget).group_by("active").select("active", n=Count()).order_by("active")
    new_uow = InMemoryUnitOfWork.factory(Shop)
    async with new_uow() as uow:
        await uow.gadgets.add_many(rows)
        page = await uow.query_page(query, size=1)
        assert page.items == [{"active": False, "n": 2}]
        assert page.next is not None
        assert page.has_next
        after_all = Cursor(page.next.order, (True,))
        assert (await uow.query_page(query, size=1, after=after_all)).items == []
        nulls = ReadQuery(Gadget).select("weight").order_by(F("weight").asc())
        last = Cursor((F("weight").asc(), F("_key0").asc()), (None, None))
        assert (await uow.query_page(nulls, size=2, after=last)).items == []


@pytest.mark.parametrize(
    ("query", "size", "message"),
    [
        (ReadQuery(Gadget).select("sku").limit(3), 2, "drop limit"),
        (ReadQuery(Gadget).select("sku").offset(3), 2, "drop limit"),
        (ReadQuery(Gadget).select("sku").unordered(), 2, "drop unordered"),
        (ReadQuery(Gadget).select("sku"), 0, "at least 1"),
        (ReadQuery(Gadget).select("sku"), -1, "size must be"),
    ],
)
async def test_pages_need_a_whole_ordered_query(query: Any, size: int, message: str) -> None:
    new_uow = InMemoryUnitOfWork.factory(Shop)
    async with new_uow() as uow:
        with pytest.raises(InvalidSpecification, match=message):
            await uow.query_page(query, size=size)
        with pytest.raises(InvalidSpecification, match="another query"):
            await uow.query_page(ReadQuery(Gadget).select("sku"), after="x")  # type: ignore[arg-type]


async def test_a_missing_optional_library_names_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "polars", None)
    new_uow = InMemoryUnitOfWork.factory(Shop)
    async with new_uow() as uow:
        with pytest.raises(ModuleNotFoundError, match=r"andamios\[polars\]"):
            await uow.query_polars(ReadQuery(Gadget).select("sku"))
