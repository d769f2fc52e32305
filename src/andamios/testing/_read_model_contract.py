"""The read-model contract: queries with joins, groups and aggregations, alike on every adapter."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, TypedDict

import pydantic
import pytest

from andamios.domain import (
    Avg,
    Count,
    F,
    InvalidSpecification,
    Max,
    Min,
    ReadQuery,
    Sum,
)
from andamios.testing._support import Factory, seed
from andamios.testing.models import Basket, BasketNote, Carrier, Gadget, Shipment, Ticket

__all__ = ["ReadModelContract"]


@dataclass(frozen=True)
class _ByActive:
    active: bool
    gadgets: int
    total: Decimal | None
    mean_quantity: float | None


class _Priced(TypedDict):
    sku: str
    price: Decimal


class _Named(pydantic.BaseModel):
    name: str
    quantity: int


async def _baskets(new_uow: Factory) -> list[Basket]:
    ana = Basket(owner="ana", note=BasketNote(text="gift"))
    ana.add_item("A-1", 2)
    ana.add_item("B-2", 5)
    ana.add_item("Z-9", 1)  # no such gadget
    bo = Basket(owner="bo")
    bo.add_item("A-1", 1)
    cy = Basket(owner="cy")  # no lines
    baskets = [ana, bo, cy]
    async with new_uow() as uow:
        await uow.repository(Basket).add_many(baskets)
        await uow.commit()
    return baskets


class ReadModelContract:
    """Read-model queries (``uow.query``): the same rows, in the same order, on every adapter.

    The six gadgets of :func:`~andamios.testing.models.make_gadgets` and three baskets (lines
    joined to gadgets by sku, one line without a gadget, one basket without lines) are the data.
    """

    pytestmark = pytest.mark.asyncio

    @pytest.fixture
    def new_uow(self) -> Factory:
        """Override: a factory of fresh units of work over one shared, empty store."""
        raise NotImplementedError

    async def test_rows_are_selected_filtered_ordered_and_sliced(self, new_uow: Factory) -> None:
        await seed(new_uow)
        query = (
            ReadQuery(Gadget)
            .where(F("price") > Decimal("1"))
            .select("sku", "price")
            .order_by(F("price").desc())
        )
        async with new_uow() as uow:
            assert await uow.query(query) == [
                {"sku": "D-4", "price": Decimal("99.99")},
                {"sku": "F-6", "price": Decimal("49.00")},
                {"sku": "C-3", "price": Decimal("25.00")},
                {"sku": "A-1", "price": Decimal("10.00")},
            ]
            assert await uow.query(query.limit(2).offset(1)) == [
                {"sku": "F-6", "price": Decimal("49.00")},
                {"sku": "C-3", "price": Decimal("25.00")},
            ]
            assert await uow.query(query.limit(0)) == []

    async def test_rows_are_dataclasses_typed_dicts_or_pydantic_models(
        self, new_uow: Factory
    ) -> None:
        await seed(new_uow)
        cheapest = ReadQuery(Gadget).select("sku", "price").order_by(["price", "sku"]).limit(1)
        named = ReadQuery(Gadget).select("name", "quantity").where(F("sku") == "A-1")
        async with new_uow() as uow:
            typed: list[_Priced] = await uow.query(cheapest.into(_Priced))
            models = await uow.query(named.into(_Named))
        assert typed == [{"sku": "B-2", "price": Decimal("0.50")}]
        assert models == [_Named(name="Anvil", quantity=3)]

    async def test_groups_aggregate_with_sqls_null_rules(self, new_uow: Factory) -> None:
        await seed(new_uow)
        query = (
            ReadQuery(Gadget)
            .group_by("active")
            .select(
                "active",
                gadgets=Count(),
                total=Sum("price"),
                mean_quantity=Avg("quantity"),
            )
            .order_by("active")
            .into(_ByActive)
        )
        weights = (
            ReadQuery(Gadget)
            .group_by("active")
            .select(
                "active",
                weighed=Count("weight"),
                weight=Sum("weight"),
                lightest=Min("weight"),
                heaviest=Max("weight"),
                prices=Count("price", distinct=True),
                first=Min("name"),
                last=Max("released"),
            )
        )
        async with new_uow() as uow:
            groups = await uow.query(query)
            rows = await uow.query(weights.order_by(F("active").desc()))
        assert groups == [
            _ByActive(active=False, gadgets=2, total=Decimal("74.00"), mean_quantity=0.0),
            _ByActive(active=True, gadgets=4, total=Decimal("110.99"), mean_quantity=28.25),
        ]
        assert [type(group.mean_quantity) for group in groups] == [float, float]
        assert rows == [
            {
                "active": True,
                "weighed": 2,
                "weight": 3.75,
                "lightest": 1.25,
                "heaviest": 2.5,
                "prices": 3,
                "first": "Anvil",
                "last": date(2024, 3, 1),
            },
            {
                "active": False,
                "weighed": 2,
                "weight": 10.0,
                "lightest": 3.0,
                "heaviest": 7.0,
                "prices": 2,
                "first": "Crate 50%",
                "last": date(2024, 1, 5),
            },
        ]

    async def test_aggregations_without_groups_make_one_row_even_over_no_rows(
        self, new_uow: Factory
    ) -> None:
        await seed(new_uow)
        totals = ReadQuery(Gadget).select(
            n=Count(), weighed=Count("weight"), total=Sum("quantity"), mean=Avg("price")
        )
        async with new_uow() as uow:
            everything = await uow.query(totals)
            nothing = await uow.query(totals.where(F("sku") == "none"))
            no_groups = await uow.query(
                totals.where(F("sku") == "none").group_by("active").select("active")
            )
        assert everything == [{"n": 6, "weighed": 4, "total": 113, "mean": 30.831666666666667}]
        assert type(everything[0]["total"]) is int
        assert nothing == [{"n": 0, "weighed": 0, "total": None, "mean": None}]
        assert no_groups == []

    async def test_having_filters_groups_by_their_outputs(self, new_uow: Factory) -> None:
        await seed(new_uow)
        query = ReadQuery(Gadget).group_by("price").select("price", n=Count()).having(F("n") > 1)
        async with new_uow() as uow:
            assert await uow.query(query) == [{"price": Decimal("0.50"), "n": 2}]

    async def test_ties_come_back_in_one_order_on_every_adapter(self, new_uow: Factory) -> None:
        gadgets = await seed(new_uow)
        by_id = sorted(gadgets, key=lambda gadget: gadget.id)
        async with new_uow() as uow:
            actives = await uow.query(ReadQuery(Gadget).select("sku", "active").order_by("active"))
            weights = await uow.query(
                ReadQuery(Gadget)
                .select("sku", "weight")
                .order_by(F("weight").asc(nulls_first=True))
            )
        expected = [g.sku for g in by_id if not g.active] + [g.sku for g in by_id if g.active]
        assert [row["sku"] for row in actives] == expected
        assert [row["sku"] for row in weights] == ["B-2", "E-5", "D-4", "A-1", "F-6", "C-3"]

    async def test_child_entities_join_as_rows(self, new_uow: Factory) -> None:
        await _baskets(new_uow)
        lines = (
            ReadQuery(Basket)
            .join("basket.lines", name="line")
            .select("basket.owner", "line.sku", "line.quantity")
            .order_by(["owner", "sku"])
        )
        outer = (
            ReadQuery(Basket)
            .join("basket.lines", name="line", outer=True)
            .group_by("basket.owner")
            .select("basket.owner", lines=Count("line.id"), items=Sum("line.quantity"))
            .order_by("owner")
        )
        async with new_uow() as uow:
            assert await uow.query(lines) == [
                {"owner": "ana", "sku": "A-1", "quantity": 2},
                {"owner": "ana", "sku": "B-2", "quantity": 5},
                {"owner": "ana", "sku": "Z-9", "quantity": 1},
                {"owner": "bo", "sku": "A-1", "quantity": 1},
            ]
            assert await uow.query(outer) == [
                {"owner": "ana", "lines": 3, "items": 8},
                {"owner": "bo", "lines": 1, "items": 1},
                {"owner": "cy", "lines": 0, "items": None},
            ]

    async def test_aggregates_join_on_equal_fields(self, new_uow: Factory) -> None:
        await seed(new_uow)
        await _baskets(new_uow)
        priced = (
            ReadQuery(Basket)
            .join("basket.lines", name="line")
            .join(Gadget, on=("line.sku", "gadget.sku"), outer=True)
            .select("basket.owner", "line.sku", "gadget.price")
            .order_by(["owner", "sku"])
        )
        value = (
            ReadQuery(Basket)
            .join("basket.lines", name="line")
            .join(Gadget, on=("line.sku", "gadget.sku"))
            .group_by("basket.owner")
            .select("basket.owner", value=Sum("gadget.price"), cheapest=Min("gadget.price"))
            .order_by(F("value").desc())
        )
        async with new_uow() as uow:
            assert await uow.query(priced) == [
                {"owner": "ana", "sku": "A-1", "price": Decimal("10.00")},
                {"owner": "ana", "sku": "B-2", "price": Decimal("0.50")},
                {"owner": "ana", "sku": "Z-9", "price": None},
                {"owner": "bo", "sku": "A-1", "price": Decimal("10.00")},
            ]
            assert await uow.query(value) == [
                {"owner": "ana", "value": Decimal("10.50"), "cheapest": Decimal("0.50")},
                {"owner": "bo", "value": Decimal("10.00"), "cheapest": Decimal("10.00")},
            ]

    async def test_specs_over_children_and_one_to_one_fields(self, new_uow: Factory) -> None:
        await _baskets(new_uow)
        async with new_uow() as uow:
            with_b2 = await uow.query(
                ReadQuery(Basket).where(F("lines").any(F("sku") == "B-2")).select("owner")
            )
            without = await uow.query(
                ReadQuery(Basket).where(~F("lines").any(F("sku") == "A-1")).select("owner")
            )
            notes = await uow.query(
                ReadQuery(Basket).select("owner", "note.text").order_by("owner")
            )
        assert with_b2 == [{"owner": "ana"}]
        assert without == [{"owner": "cy"}]
        assert notes == [
            {"owner": "ana", "text": "gift"},
            {"owner": "bo", "text": None},
            {"owner": "cy", "text": None},
        ]

    async def test_a_query_sees_its_unit_of_works_own_writes(self, new_uow: Factory) -> None:
        gadgets = await seed(new_uow)
        count = ReadQuery(Gadget).select(n=Count(), total=Sum("quantity"))
        async with new_uow() as uow:
            await uow.gadgets.add(Gadget(sku="G-7", name="gear", price=Decimal("1.00"), quantity=5))
            anvil = await uow.gadgets.get(gadgets[0].id)
            anvil.quantity = 10
            await uow.gadgets.remove(await uow.gadgets.get(gadgets[1].id))
            assert await uow.query(count) == [{"n": 6, "total": 25}]
            await uow.rollback()
            assert await uow.query(count) == [{"n": 6, "total": 113}]

    async def test_a_query_reads_the_transactions_snapshot(self, new_uow: Factory) -> None:
        await seed(new_uow)
        count = ReadQuery(Gadget).select(n=Count())
        async with new_uow() as reader:
            assert await reader.query(count) == [{"n": 6}]
            async with new_uow() as writer:
                await writer.gadgets.add(Gadget(sku="G-7", name="gear", price=Decimal("1.00")))
                await writer.commit()
            assert await reader.query(count) == [{"n": 6}]
            await reader.rollback()
            assert await reader.query(count) == [{"n": 7}]

    async def test_soft_deleted_aggregates_are_left_out_unless_asked_for(
        self, new_uow: Factory
    ) -> None:
        kept, gone = Ticket(title="kept"), Ticket(title="gone")
        async with new_uow() as uow:
            await uow.repository(Ticket).add_many([kept, gone])
            await uow.commit()
        async with new_uow() as uow:
            await uow.repository(Ticket).remove(await uow.repository(Ticket).get(gone.id))
            await uow.commit()
            titles = ReadQuery(Ticket).select("title").order_by("title")
            assert await uow.query(titles) == [{"title": "kept"}]
            assert await uow.query(titles.including_deleted()) == [
                {"title": "gone"},
                {"title": "kept"},
            ]

    async def test_soft_deleted_aggregates_are_left_out_of_joins(self, new_uow: Factory) -> None:
        await _baskets(new_uow)
        ana, bo = Ticket(title="ana"), Ticket(title="bo")
        async with new_uow() as uow:
            await uow.repository(Ticket).add_many([ana, bo])
            await uow.commit()
            await uow.repository(Ticket).remove(bo)
            await uow.commit()
            joined = (
                ReadQuery(Basket)
                .join(Ticket, on=("basket.owner", "ticket.title"), outer=True)
                .select("basket.owner", ticket=F("ticket.id"))
                .order_by("owner")
            )
            assert await uow.query(joined) == [
                {"owner": "ana", "ticket": ana.id},
                {"owner": "bo", "ticket": None},
                {"owner": "cy", "ticket": None},
            ]
            assert [row["ticket"] for row in await uow.query(joined.including_deleted())] == [
                ana.id,
                bo.id,
                None,
            ]

    async def test_keyset_pages_walk_every_row_once(self, new_uow: Factory) -> None:
        await seed(new_uow)
        await _baskets(new_uow)
        rows = ReadQuery(Gadget).select("active", "price").order_by(F("price").desc())
        groups = ReadQuery(Gadget).group_by("price").select("price", n=Count()).order_by("n")
        lines = (
            ReadQuery(Basket).join("basket.lines", name="line", outer=True).select("basket.owner")
        )
        async with new_uow() as uow:
            for query in (rows, groups, lines):
                walked: list[Any] = []
                page = await uow.query_page(query, size=2)
                walked += page.items
                while page.next is not None:
                    page = await uow.query_page(query, size=2, after=page.next)
                    walked += page.items
                assert walked == await uow.query(query)
            first = await uow.query_page(rows, size=2)
            with pytest.raises(InvalidSpecification, match="another query"):
                await uow.query_page(groups, size=2, after=first.next)

    async def test_unordered_queries_give_the_same_rows(self, new_uow: Factory) -> None:
        await seed(new_uow)
        query = ReadQuery(Gadget).select("sku", "quantity")
        async with new_uow() as uow:
            ordered = await uow.query(query)
            loose = await uow.query(query.unordered())
        assert sorted(loose, key=lambda row: row["sku"]) == sorted(
            ordered, key=lambda row: row["sku"]
        )
        assert len(loose) == 6

    @pytest.mark.skipif(
        importlib.util.find_spec("pyarrow") is None, reason="pyarrow (andamios[bulk]) is missing"
    )
    async def test_arrow_tables_hold_the_same_rows(self, new_uow: Factory) -> None:
        await seed(new_uow)
        query = ReadQuery(Gadget).select("sku", "quantity", "price", "weight").order_by("sku")
        async with new_uow() as uow:
            table = await uow.query_arrow(query)
            rows = await uow.query(query)
        assert table.column_names == ["sku", "quantity", "price", "weight"]
        assert table.to_pylist() == rows
        async with new_uow() as uow:
            empty = await uow.query_arrow(query.where(F("sku") == "none"))
        assert (empty.num_rows, empty.column_names) == (0, ["sku", "quantity", "price", "weight"])
        shipment = Shipment(code="S-1", amount=Decimal("5.00"), carrier=Carrier.COURIER)
        async with new_uow() as uow:
            await uow.repository(Shipment).add(shipment)
            await uow.commit()
            carriers = ReadQuery(Shipment).select("id", "carrier")
            assert await uow.query(carriers) == [{"id": shipment.id, "carrier": Carrier.COURIER}]
            # Arrow holds what the database stores: the id as text, the enum by name.
            assert (await uow.query_arrow(carriers)).to_pylist() == [
                {"id": str(shipment.id), "carrier": "COURIER"}
            ]

    @pytest.mark.skipif(
        importlib.util.find_spec("polars") is None, reason="polars (andamios[polars]) is missing"
    )
    async def test_polars_frames_hold_the_same_rows(self, new_uow: Factory) -> None:
        await seed(new_uow)
        query = ReadQuery(Gadget).where(F("quantity") > 0).select("sku").order_by("sku")
        async with new_uow() as uow:
            frame = await uow.query_polars(query)
        assert frame["sku"].to_list() == ["A-1", "B-2", "D-4", "E-5"]

    async def test_bad_queries_are_refused_before_any_database_is_asked(
        self, new_uow: Factory
    ) -> None:
        bad = [
            (ReadQuery(Gadget), "selects nothing"),
            (ReadQuery(Gadget).select("colour"), "no field"),
            (ReadQuery(Gadget).group_by("active").select("sku"), "not grouped"),
            (ReadQuery(Gadget).select("sku").order_by("price"), "order_by"),
            (ReadQuery(Gadget).select("sku").having(F("n") > 1), "having"),
            (ReadQuery(Gadget).select(n=Count()).having(F("n") > "x"), "not a number"),
            (ReadQuery(Gadget).select(s=Sum("name")), "Sum"),
            (ReadQuery(Gadget).select("sku").where(F("price") == "cheap"), "cannot compare"),
            (ReadQuery(Basket).select("lines.sku"), "join"),
            (ReadQuery(Basket).join("basket.owner").select("owner"), "no child entities"),
            (ReadQuery(Basket).join("basket.lines").select("owner"), "source's name"),
            (ReadQuery(Gadget).select("sku").limit(-1), "limit"),
            (ReadQuery(Gadget).select("sku").into(_Priced), "price not selected"),
        ]
        async with new_uow() as uow:
            for query, message in bad:
                with pytest.raises(InvalidSpecification, match=message):
                    await uow.query(query)
            # Refused before anything ran: the unit of work is still good.
            assert await uow.query(ReadQuery(Gadget).select(n=Count())) == [{"n": 0}]
