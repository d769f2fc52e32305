"""Contract test suites for the repository and unit-of-work ports.

Every adapter proves itself by subclassing these classes in a few lines and providing one
fixture, ``new_uow``: a callable returning a fresh :class:`ContractUnitOfWork` over an empty store
that every call shares::

    class TestMyAdapterRepository(RepositoryContract):
        @pytest.fixture
        def new_uow(self) -> UnitOfWorkFactory[ContractUnitOfWork]:
            return MyUnitOfWork.factory(ContractUnitOfWork, ...)

The in-memory adapter and the DuckDB adapter run the same suites unchanged.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from andamios.domain import F, InvalidSpecification, OrderBy, uuid7
from andamios.ports import Cursor, UnitOfWorkFactory, UnitOfWorkState
from andamios.ports.errors import (
    ConcurrencyError,
    DataError,
    DuplicateError,
    NotFound,
    UnitOfWorkError,
)
from andamios.testing._clock import FakeClock
from andamios.testing._model import (
    Basket,
    BasketLine,
    BasketNote,
    Carrier,
    ContractUnitOfWork,
    Counter,
    Dimensions,
    Gadget,
    GadgetRenamed,
    ItemAdded,
    Shipment,
    Ticket,
)

__all__ = [
    "AuditContract",
    "BulkContract",
    "ChildrenContract",
    "RepositoryContract",
    "UnitOfWorkContract",
    "make_gadgets",
]

type Factory = UnitOfWorkFactory[ContractUnitOfWork]


def make_gadgets() -> list[Gadget]:
    """Six gadgets covering NULLs, ties, case and LIKE metacharacters."""
    return [
        Gadget(sku="A-1", name="Anvil", price=Decimal("10.00"), quantity=3, weight=2.5,
               note="heavy", released=date(2024, 1, 5)),
        Gadget(sku="B-2", name="bolt", price=Decimal("0.50"), quantity=100, weight=None,
               note=None, released=date(2024, 3, 1)),
        Gadget(sku="C-3", name="Crate 50%", price=Decimal("25.00"), quantity=0, weight=7.0,
               note="50% off", active=False, released=None),
        Gadget(sku="D-4", name="drill", price=Decimal("99.99"), quantity=3, weight=1.25,
               note="a_b", released=date(2023, 12, 24)),
        Gadget(sku="E-5", name="Eraser", price=Decimal("0.50"), quantity=7, weight=None,
               note="AxB", released=None),
        Gadget(sku="F-6", name="fan", price=Decimal("49.00"), quantity=None or 0, weight=3.0,
               note=None, active=False, released=date(2024, 1, 5)),
    ]  # fmt: skip


async def _seed(new_uow: Factory) -> list[Gadget]:
    gadgets = make_gadgets()
    async with new_uow() as uow:
        await uow.gadgets.add_many(gadgets)
        await uow.commit()
    return gadgets


class RepositoryContract:
    """What every repository must do, whatever stores it."""

    pytestmark = pytest.mark.asyncio

    @pytest.fixture
    def new_uow(self) -> Factory:
        """Override: a factory of fresh units of work over one empty store."""
        raise NotImplementedError

    async def _skus(self, new_uow: Factory, spec: Any = None, **kwargs: Any) -> list[str]:
        async with new_uow() as uow:
            return [g.sku for g in await uow.gadgets.find(spec, **kwargs)]

    # -- add / get ------------------------------------------------------------------------------

    async def test_added_aggregate_is_stored_on_commit_with_version_one(
        self, new_uow: Factory
    ) -> None:
        gadget = Gadget(sku="X-1", name="Xylophone", price=Decimal("12.34"), weight=0.5,
                        released=date(2020, 2, 29))  # fmt: skip
        assert gadget.version == 0
        async with new_uow() as uow:
            await uow.gadgets.add(gadget)
            await uow.commit()
        assert gadget.version == 1
        async with new_uow() as uow:
            loaded = await uow.gadgets.get(gadget.id)
        assert loaded is not gadget
        assert (loaded.id, loaded.sku, loaded.name, loaded.price) == (
            gadget.id, "X-1", "Xylophone", Decimal("12.34"),
        )  # fmt: skip
        assert (loaded.weight, loaded.note, loaded.active, loaded.released, loaded.version) == (
            0.5, None, True, date(2020, 2, 29), 1,
        )  # fmt: skip
        assert loaded.pending_events == ()

    async def test_get_of_a_missing_id_raises_not_found_naming_it(self, new_uow: Factory) -> None:
        missing = uuid7()
        async with new_uow() as uow:
            with pytest.raises(NotFound) as caught:
                await uow.gadgets.get(missing)
            assert await uow.gadgets.get_or_none(missing) is None
            assert caught.value.id == missing
            assert str(missing) in str(caught.value)
            assert "Gadget" in str(caught.value)
            await uow.commit()  # a miss is not a failure

    async def test_string_ids_work(self, new_uow: Factory) -> None:
        async with new_uow() as uow:
            await uow.counters.add(Counter(id="hits", value=2))
            await uow.commit()
        async with new_uow() as uow:
            counter = await uow.counters.get("hits")
            assert counter.value == 2
            assert await uow.counters.get_or_none("misses") is None

    async def test_wrong_types_are_rejected_before_anything_happens(self, new_uow: Factory) -> None:
        async with new_uow() as uow:
            with pytest.raises(TypeError, match="Gadget instances"):
                await uow.gadgets.add(Counter(id="c"))  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="ids are UUID"):
                await uow.gadgets.get("not-a-uuid")  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="iterable"):
                await uow.gadgets.add_many(Gadget(sku="s", name="n", price=Decimal(1)))  # type: ignore[arg-type]
            await uow.gadgets.add(Gadget(sku="OK", name="fine", price=Decimal(1)))
            await uow.commit()
        async with new_uow() as uow:
            assert await uow.gadgets.count() == 1

    async def test_identity_map_returns_the_same_object_for_the_same_id(
        self, new_uow: Factory
    ) -> None:
        gadgets = await _seed(new_uow)
        async with new_uow() as uow:
            first = await uow.gadgets.get(gadgets[0].id)
            again = await uow.gadgets.get(gadgets[0].id)
            found = await uow.gadgets.first(F("sku") == "A-1")
            listed = await uow.gadgets.find()
            assert first is again is found
            assert any(item is first for item in listed)

    async def test_reads_see_this_unit_of_works_own_changes(self, new_uow: Factory) -> None:
        gadgets = await _seed(new_uow)
        async with new_uow() as uow:
            new = Gadget(sku="Z-9", name="zip", price=Decimal("1.00"))
            await uow.gadgets.add(new)
            bolt = await uow.gadgets.get(gadgets[1].id)
            bolt.price = Decimal("500.00")
            assert await uow.gadgets.get(new.id) is new
            assert [g.sku for g in await uow.gadgets.find(F("price") > 90)] == ["B-2", "D-4"]
            assert await uow.gadgets.count() == 7
            assert await uow.gadgets.exists(F("sku") == "Z-9")

    async def test_nothing_is_visible_to_others_before_commit(self, new_uow: Factory) -> None:
        async with new_uow() as writer:
            await writer.gadgets.add(Gadget(sku="P-1", name="pending", price=Decimal(1)))
            async with new_uow() as reader:
                assert await reader.gadgets.count() == 0
                assert not await reader.gadgets.exists()
            await writer.commit()
        async with new_uow() as reader:
            assert await reader.gadgets.count() == 1

    async def test_add_many_stores_every_aggregate(self, new_uow: Factory) -> None:
        gadgets = await _seed(new_uow)
        assert all(g.version == 1 for g in gadgets)
        assert await self._skus(new_uow, order_by="sku") == [g.sku for g in gadgets]
        async with new_uow() as uow:
            await uow.gadgets.add_many([])
            await uow.commit()

    async def test_add_many_rejects_an_id_twice_before_adding_anything(
        self, new_uow: Factory
    ) -> None:
        twin = Gadget(sku="T-1", name="twin", price=Decimal(1))
        other = Gadget(id=twin.id, sku="T-2", name="twin", price=Decimal(2))
        async with new_uow() as uow:
            with pytest.raises(DuplicateError, match="appears twice"):
                await uow.gadgets.add_many([twin, other])
            assert await uow.gadgets.count() == 0
            await uow.commit()

    async def test_adding_a_stored_id_raises_duplicate_error_and_saves_nothing(
        self, new_uow: Factory
    ) -> None:
        gadgets = await _seed(new_uow)
        clash = Gadget(id=gadgets[0].id, sku="NEW", name="clash", price=Decimal(1))
        with pytest.raises(DuplicateError):  # noqa: PT012 - raised by add() or by commit()
            async with new_uow() as uow:
                await uow.gadgets.add(Gadget(sku="G-7", name="innocent", price=Decimal(1)))
                await uow.gadgets.add(clash)
                await uow.commit()
        async with new_uow() as uow:
            assert await uow.gadgets.count() == 6
            assert (await uow.gadgets.get(gadgets[0].id)).sku == "A-1"

    async def test_adding_the_same_object_twice_is_harmless(self, new_uow: Factory) -> None:
        gadget = Gadget(sku="S-1", name="same", price=Decimal(1))
        async with new_uow() as uow:
            await uow.gadgets.add(gadget)
            await uow.gadgets.add(gadget)
            await uow.commit()
        async with new_uow() as uow:
            assert await uow.gadgets.count() == 1

    async def test_adding_another_object_with_an_id_in_the_identity_map_is_a_duplicate(
        self, new_uow: Factory
    ) -> None:
        gadgets = await _seed(new_uow)
        async with new_uow() as uow:
            await uow.gadgets.get(gadgets[0].id)
            with pytest.raises(DuplicateError):
                await uow.gadgets.add(
                    Gadget(id=gadgets[0].id, sku="A-1", name="copy", price=Decimal(1))
                )

    # -- remove ---------------------------------------------------------------------------------

    async def test_removed_aggregate_is_gone_after_commit(self, new_uow: Factory) -> None:
        gadgets = await _seed(new_uow)
        async with new_uow() as uow:
            anvil = await uow.gadgets.get(gadgets[0].id)
            await uow.gadgets.remove(anvil)
            assert await uow.gadgets.get_or_none(anvil.id) is None
            assert await uow.gadgets.count() == 5
            await uow.commit()
        async with new_uow() as uow:
            assert await uow.gadgets.get_or_none(gadgets[0].id) is None
            assert await uow.gadgets.count() == 5

    async def test_removing_an_added_aggregate_cancels_the_add(self, new_uow: Factory) -> None:
        gadget = Gadget(sku="R-1", name="regret", price=Decimal(1))
        async with new_uow() as uow:
            await uow.gadgets.add(gadget)
            await uow.gadgets.remove(gadget)
            await uow.commit()
        async with new_uow() as uow:
            assert await uow.gadgets.count() == 0

    async def test_removing_an_aggregate_this_unit_of_work_did_not_load_is_refused(
        self, new_uow: Factory
    ) -> None:
        gadgets = await _seed(new_uow)
        async with new_uow() as uow:
            with pytest.raises(UnitOfWorkError, match="get\\(\\) it first"):
                await uow.gadgets.remove(gadgets[0])
            await uow.commit()
        async with new_uow() as uow:
            assert await uow.gadgets.count() == 6

    # -- find, specifications and ordering ------------------------------------------------------

    async def test_find_without_arguments_returns_everything_ordered_by_id(
        self, new_uow: Factory
    ) -> None:
        gadgets = await _seed(new_uow)
        async with new_uow() as uow:
            found = await uow.gadgets.find()
        assert [g.id for g in found] == sorted(g.id for g in gadgets)

    @pytest.mark.parametrize(
        ("spec", "expected"),
        [
            (F("price") < 10, ["B-2", "E-5"]),
            (F("price") <= Decimal("10.00"), ["A-1", "B-2", "E-5"]),
            (F("price") > 49, ["D-4"]),
            (F("price") >= 49, ["D-4", "F-6"]),
            (F("quantity") == 3, ["A-1", "D-4"]),
            (F("quantity") != 3, ["B-2", "C-3", "E-5", "F-6"]),
            (F("name") == "bolt", ["B-2"]),
            (F("active") == False, ["C-3", "F-6"]),  # noqa: E712 - builds a spec
            (F("released") == date(2024, 1, 5), ["A-1", "F-6"]),
            (F("released") > date(2024, 1, 5), ["B-2"]),
            (F("price").between(1, 49), ["A-1", "C-3", "F-6"]),
            (F("quantity").in_([0, 7]), ["C-3", "E-5", "F-6"]),
            (F("quantity").not_in([0, 7]), ["A-1", "B-2", "D-4"]),
            (F("name").contains("r"), ["C-3", "D-4", "E-5"]),
            (F("name").startswith("b"), ["B-2"]),
            (F("name").endswith("l"), ["A-1", "D-4"]),
            (F("name").contains("50%"), ["C-3"]),
            (F("note").contains("a_b"), ["D-4"]),
            (F("note").ilike("A_B"), ["D-4", "E-5"]),
            (F("note").ilike("%OFF"), ["C-3"]),
            (F("name").ilike("a%"), ["A-1"]),
            ((F("price") < 10) & (F("quantity") > 10), ["B-2"]),
            ((F("price") > 90) | (F("name") == "fan"), ["D-4", "F-6"]),
            (~(F("active") == True), ["C-3", "F-6"]),  # noqa: E712 - builds a spec
        ],
        ids=repr,
    )
    async def test_find_filters_like_sql(
        self, new_uow: Factory, spec: Any, expected: list[str]
    ) -> None:
        await _seed(new_uow)
        assert await self._skus(new_uow, spec, order_by="sku") == expected

    @pytest.mark.parametrize(
        ("spec", "expected"),
        [
            (F("note") == None, ["B-2", "F-6"]),  # noqa: E711 - builds a spec
            (F("note") != None, ["A-1", "C-3", "D-4", "E-5"]),  # noqa: E711 - builds a spec
            (F("weight").is_none(), ["B-2", "E-5"]),
            (F("weight").is_not_none(), ["A-1", "C-3", "D-4", "F-6"]),
            (F("note") != "heavy", ["C-3", "D-4", "E-5"]),
            (~(F("note") == "heavy"), ["C-3", "D-4", "E-5"]),
            (~(F("weight") > 2), ["D-4"]),
            (F("weight").in_([2.5, None]), ["A-1"]),
            (F("weight").not_in([2.5, None]), []),
            (~F("weight").in_([2.5, None]), []),
            ((F("weight") > 2) | F("weight").is_none(), ["A-1", "B-2", "C-3", "E-5", "F-6"]),
            (~((F("weight") > 2) & (F("note") == "x")), ["A-1", "C-3", "D-4", "E-5"]),
            (F("released").between(date(2024, 1, 1), date(2024, 12, 31)), ["A-1", "B-2", "F-6"]),
        ],
        ids=repr,
    )
    async def test_none_follows_three_valued_logic(
        self, new_uow: Factory, spec: Any, expected: list[str]
    ) -> None:
        await _seed(new_uow)
        assert await self._skus(new_uow, spec, order_by="sku") == expected

    @pytest.mark.parametrize(
        ("order_by", "expected"),
        [
            ("sku", ["A-1", "B-2", "C-3", "D-4", "E-5", "F-6"]),
            (F("sku").desc(), ["F-6", "E-5", "D-4", "C-3", "B-2", "A-1"]),
            ([F("price"), F("sku").desc()], ["E-5", "B-2", "A-1", "C-3", "F-6", "D-4"]),
            ([F("quantity").desc(), "sku"], ["B-2", "E-5", "A-1", "D-4", "C-3", "F-6"]),
            ([F("weight"), "sku"], ["D-4", "A-1", "F-6", "C-3", "B-2", "E-5"]),
            ([F("weight").desc(), "sku"], ["C-3", "F-6", "A-1", "D-4", "B-2", "E-5"]),
            (
                [F("weight").asc(nulls_first=True), "sku"],
                ["B-2", "E-5", "D-4", "A-1", "F-6", "C-3"],
            ),
            ([F("note").desc(nulls_first=True), "sku"], ["B-2", "F-6", "A-1", "D-4", "E-5", "C-3"]),
            ([F("released"), F("name")], ["D-4", "A-1", "F-6", "B-2", "C-3", "E-5"]),
        ],
        ids=repr,
    )
    async def test_order_by_puts_none_last_unless_asked(
        self, new_uow: Factory, order_by: Any, expected: list[str]
    ) -> None:
        await _seed(new_uow)
        assert await self._skus(new_uow, order_by=order_by) == expected

    async def test_limit_offset_first_count_exists(self, new_uow: Factory) -> None:
        await _seed(new_uow)
        assert await self._skus(new_uow, order_by="sku", limit=2) == ["A-1", "B-2"]
        assert await self._skus(new_uow, order_by="sku", limit=2, offset=3) == ["D-4", "E-5"]
        assert await self._skus(new_uow, order_by="sku", offset=5) == ["F-6"]
        assert await self._skus(new_uow, order_by="sku", limit=0) == []
        assert await self._skus(new_uow, order_by="sku", offset=10) == []
        async with new_uow() as uow:
            first = await uow.gadgets.first(F("price") > 20, order_by=F("price").desc())
            assert first is not None
            assert first.sku == "D-4"
            assert await uow.gadgets.first(F("price") > 1000) is None
            assert await uow.gadgets.count() == 6
            assert await uow.gadgets.count(F("active") == True) == 4  # noqa: E712
            assert await uow.gadgets.exists(F("name").ilike("%RAT%"))
            assert not await uow.gadgets.exists(F("price") > 1000)

    async def test_empty_store_queries(self, new_uow: Factory) -> None:
        async with new_uow() as uow:
            assert await uow.gadgets.find(F("price") > 1) == []
            assert await uow.gadgets.count() == 0
            assert not await uow.gadgets.exists()
            assert await uow.gadgets.first() is None
            assert [g async for g in uow.gadgets.stream()] == []

    @pytest.mark.parametrize(
        ("build", "message"),
        [
            (lambda: F("colour") == "red", "no field 'colour'"),
            (lambda: F("name.first") == "x", "not a dataclass value object"),
            (lambda: F("price") < "cheap", "cannot compare it with str"),
            (lambda: F("sku") == 5, "cannot compare it with int"),
            (lambda: F("released") < 2024, "cannot compare it with int"),
            (lambda: F("quantity").contains("1"), "quantity is int"),
            (lambda: F("active") == 1, "cannot compare it with int"),
            (lambda: F("quantity") == True, "cannot compare it with bool"),  # noqa: E712
            (lambda: F("id").in_(["x"]), "cannot compare it with str"),
        ],
    )
    async def test_bad_specs_raise_invalid_specification_and_lose_nothing(
        self, new_uow: Factory, build: Any, message: str
    ) -> None:
        await _seed(new_uow)
        async with new_uow() as uow:
            await uow.gadgets.add(Gadget(sku="K-1", name="kept", price=Decimal(1)))
            with pytest.raises(InvalidSpecification, match=message):
                await uow.gadgets.find(build())
            with pytest.raises(InvalidSpecification):
                await uow.gadgets.count(build())
            await uow.commit()  # a spec rejected before running is not a failed statement
        async with new_uow() as uow:
            assert await uow.gadgets.count() == 7

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"order_by": "colour"},
            {"order_by": 42},
            {"order_by": [F("sku"), 3]},
            {"limit": -1},
            {"limit": "10"},
            {"offset": -2},
            {"offset": None},
            {"limit": True},
        ],
        ids=repr,
    )
    async def test_bad_query_arguments_raise_invalid_specification(
        self, new_uow: Factory, kwargs: dict[str, Any]
    ) -> None:
        async with new_uow() as uow:
            with pytest.raises(InvalidSpecification):
                await uow.gadgets.find(**kwargs)

    async def test_a_non_spec_filter_is_rejected(self, new_uow: Factory) -> None:
        async with new_uow() as uow:
            with pytest.raises(InvalidSpecification, match="expected a specification"):
                await uow.gadgets.find({"sku": "A-1"})  # type: ignore[arg-type]

    # -- pagination and streaming ---------------------------------------------------------------

    async def test_keyset_pages_walk_every_row_once_in_order(self, new_uow: Factory) -> None:
        await _seed(new_uow)
        orders: list[OrderBy] = [
            [F("weight"), "sku"],
            [F("weight").desc(nulls_first=True)],
            [F("price").desc(), F("note")],
            None,
        ]
        for order_by in orders:
            expected = await self._skus(new_uow, order_by=order_by)
            seen: list[str] = []
            cursor: Cursor | None = None
            async with new_uow() as uow:
                while True:
                    page = await uow.gadgets.page(order_by=order_by, size=4, after=cursor)
                    assert len(page.items) <= 4
                    seen.extend(g.sku for g in page.items)
                    if not page.has_next:
                        break
                    cursor = page.next
            assert seen == expected, order_by

    async def test_pages_with_a_filter_and_a_cursor_for_another_order(
        self, new_uow: Factory
    ) -> None:
        await _seed(new_uow)
        async with new_uow() as uow:
            page = await uow.gadgets.page(F("price") < 50, order_by="price", size=2)
            assert [g.sku for g in page.items] == ["B-2", "E-5"]
            rest = await uow.gadgets.page(F("price") < 50, order_by="price", after=page.next)
            assert [g.sku for g in rest.items] == ["A-1", "C-3", "F-6"]
            assert rest.next is None
            with pytest.raises(InvalidSpecification, match="another order_by"):
                await uow.gadgets.page(order_by="sku", after=page.next)
            with pytest.raises(InvalidSpecification, match="at least 1"):
                await uow.gadgets.page(size=0)

    async def test_a_page_after_the_last_null_of_a_nulls_last_order_is_empty(
        self, new_uow: Factory
    ) -> None:
        await _seed(new_uow)
        async with new_uow() as uow:
            order = (F("weight").asc(), F("id").asc())
            last = await uow.gadgets.find(order_by=list(order))
            cursor = Cursor(order, (None, last[-1].id))
            page = await uow.gadgets.page(order_by=list(order), after=cursor)
            assert page.items == []
            assert not page.has_next

    async def test_stream_yields_every_match_in_batches(self, new_uow: Factory) -> None:
        await _seed(new_uow)
        async with new_uow() as uow:
            await uow.gadgets.add_many(
                Gadget(sku=f"S-{n:03}", name="bulk", price=Decimal(n)) for n in range(20)
            )
            stream = uow.gadgets.stream(
                F("name") == "bulk", order_by=F("price").desc(), batch_size=3
            )
            streamed = [g.sku async for g in stream]
        assert streamed == [f"S-{n:03}" for n in reversed(range(20))]


def _bulk(count: int, name: str = "bulk") -> list[Gadget]:
    return [Gadget(sku=f"K-{n:04}", name=name, price=Decimal(n)) for n in range(count)]


def _shipments(count: int) -> list[Shipment]:
    return [
        Shipment(code=f"SH-{n:05}", amount=Decimal("12.50"), carrier=Carrier.COURIER,
                 due=date(2024, 2, 29), fragile=n % 2 == 0, size=Dimensions(30, 20 + n % 3))
        for n in range(count)
    ]  # fmt: skip


class BulkContract:
    """Many aggregates of one type in one unit of work: the same outcome on every path.

    ``bulk_size`` is at least every adapter's bulk threshold, so SQL adapters take their bulk
    path; the in-memory adapter must give the same results and errors.
    """

    pytestmark = pytest.mark.asyncio

    bulk_size = 120

    @pytest.fixture
    def new_uow(self) -> Factory:
        """Override: a factory of fresh units of work over one empty store."""
        raise NotImplementedError

    async def _stored(self, new_uow: Factory, count: int) -> list[Gadget]:
        gadgets = _bulk(count)
        async with new_uow() as uow:
            await uow.gadgets.add_many(gadgets)
            await uow.commit()
        return gadgets

    async def test_add_many_is_read_your_writes_tracked_and_versioned(
        self, new_uow: Factory
    ) -> None:
        gadgets = _bulk(self.bulk_size)
        gadgets[0].rename("first")
        async with new_uow() as uow:
            await uow.gadgets.add_many(gadgets)
            assert await uow.gadgets.count(F("name") == "bulk") == self.bulk_size - 1
            assert await uow.gadgets.get(gadgets[5].id) is gadgets[5]
            assert (await uow.gadgets.find(F("sku") == "K-0007"))[0] is gadgets[7]
            gadgets[9].quantity = 99  # changed after add_many, before commit: still tracked
            await uow.commit()
            assert {g.version for g in gadgets} == {1}
            gadgets[10].quantity = 10
            await uow.commit()
        assert [e.name for e in uow.collect_events()] == ["first"]  # type: ignore[attr-defined]
        assert (gadgets[9].version, gadgets[10].version) == (1, 2)
        async with new_uow() as uow:
            assert await uow.gadgets.count() == self.bulk_size
            nine, ten = await uow.gadgets.get(gadgets[9].id), await uow.gadgets.get(gadgets[10].id)
            assert (nine.quantity, nine.version, ten.quantity, ten.version) == (99, 1, 10, 2)

    async def test_many_adds_in_one_commit_are_stored(self, new_uow: Factory) -> None:
        gadgets = _bulk(self.bulk_size)
        async with new_uow() as uow:
            for gadget in gadgets:
                await uow.gadgets.add(gadget)
            await uow.commit()
        assert {g.version for g in gadgets} == {1}
        async with new_uow() as uow:
            assert await uow.gadgets.count() == self.bulk_size

    async def test_a_bulk_add_that_is_rolled_back_leaves_nothing(self, new_uow: Factory) -> None:
        gadgets = _bulk(self.bulk_size)
        async with new_uow() as uow:
            await uow.gadgets.add_many(gadgets)
            assert await uow.gadgets.count() == self.bulk_size
        assert {g.version for g in gadgets} == {0}
        async with new_uow() as uow:
            assert await uow.gadgets.count() == 0
            await uow.gadgets.add_many(gadgets)  # the same objects can be added again
            await uow.commit()
        async with new_uow() as uow:
            assert await uow.gadgets.count() == self.bulk_size

    async def test_a_bulk_add_of_a_stored_id_raises_duplicate_error_and_stores_nothing(
        self, new_uow: Factory
    ) -> None:
        batch = _bulk(self.bulk_size)
        async with new_uow() as uow:
            # Stored by another unit of work once this one had begun, before its first
            # statement: its transaction sees it (the snapshot rule), so the insert fails.
            stored = await _seed(new_uow)
            batch[self.bulk_size // 2] = Gadget(
                id=stored[2].id, sku="X", name="x", price=Decimal(1)
            )
            with pytest.raises(DuplicateError):
                await uow.gadgets.add_many(batch)
        async with new_uow() as uow:
            assert await uow.gadgets.count() == 6

    async def test_a_bulk_update_saves_every_change_once(self, new_uow: Factory) -> None:
        await self._stored(new_uow, self.bulk_size)
        async with new_uow() as uow:
            loaded = await uow.gadgets.find(order_by="sku")
            for gadget in loaded:
                gadget.price += 1
                gadget.note = "changed"
            await uow.gadgets.count()  # may flush; still one change per aggregate
            loaded[0].rename("renamed")
            await uow.commit()
            assert {g.version for g in loaded} == {2}
        assert [e.name for e in uow.collect_events()] == ["renamed"]  # type: ignore[attr-defined]
        async with new_uow() as uow:
            again = await uow.gadgets.find(order_by="sku")
            assert [g.price for g in again] == [Decimal(n + 1) for n in range(self.bulk_size)]
            assert {(g.note, g.version) for g in again} == {("changed", 2)}

    async def _race(
        self, new_uow: Factory, first: ContractUnitOfWork, stored: list[Gadget], *, restart: bool
    ) -> None:
        """Load every gadget in ``first``; another unit of work then changes two of them.

        With ``restart`` the loading transaction ends first (the objects stay loaded), so the
        next one sees the newer versions; without, ``first`` still reads its old snapshot.
        """
        await first.gadgets.find()
        if restart:
            await first.commit()
        async with new_uow() as second:
            for gadget in stored[3:5]:
                (await second.gadgets.get(gadget.id)).quantity = 42
            await second.commit()

    @pytest.mark.parametrize("restart", [True, False], ids=["new-snapshot", "old-snapshot"])
    async def test_a_bulk_update_with_stale_versions_fails_whole(
        self, new_uow: Factory, restart: bool
    ) -> None:
        stored = await self._stored(new_uow, self.bulk_size)
        async with new_uow() as first:
            await self._race(new_uow, first, stored, restart=restart)
            mine = await first.gadgets.find()
            for gadget in mine:
                gadget.note = "mine"
            with pytest.raises(ConcurrencyError) as caught:
                await first.commit()
            if restart:  # the stale rows are visible: the error says how many
                assert f"2 of {self.bulk_size}" in str(caught.value)
            assert {g.version for g in mine} == {1}
        async with new_uow() as uow:
            assert await uow.gadgets.count(F("note") == "mine") == 0
            assert await uow.gadgets.count(F("quantity") == 42) == 2

    @pytest.mark.parametrize("restart", [True, False], ids=["new-snapshot", "old-snapshot"])
    async def test_a_bulk_removal_with_stale_versions_removes_nothing(
        self, new_uow: Factory, restart: bool
    ) -> None:
        stored = await self._stored(new_uow, self.bulk_size)
        async with new_uow() as first:
            await self._race(new_uow, first, stored, restart=restart)
            for gadget in await first.gadgets.find():
                await first.gadgets.remove(gadget)
            with pytest.raises(ConcurrencyError) as caught:
                await first.commit()
            if restart:
                assert f"2 of {self.bulk_size}" in str(caught.value)
        async with new_uow() as uow:
            assert await uow.gadgets.count() == self.bulk_size

    async def test_a_bulk_removal_deletes_every_aggregate(self, new_uow: Factory) -> None:
        await self._stored(new_uow, self.bulk_size)
        async with new_uow() as uow:
            for gadget in await uow.gadgets.find():
                await uow.gadgets.remove(gadget)
            assert await uow.gadgets.count() == 0
            await uow.commit()
        async with new_uow() as uow:
            assert await uow.gadgets.count() == 0

    @pytest.mark.parametrize("many", [False, True], ids=["one", "many"])
    async def test_every_column_type_round_trips(self, new_uow: Factory, many: bool) -> None:
        shipments = _shipments(self.bulk_size if many else 1)
        shipments[0].due = None
        shipments[0].size = None
        async with new_uow() as uow:
            await uow.repository(Shipment).add_many(shipments)
            await uow.commit()
        async with new_uow() as uow:
            loaded = await uow.repository(Shipment).find(order_by="code")
        assert [(s.id, s.code, s.amount, s.carrier, s.due, s.fragile, s.size, s.version)
                for s in loaded] == [
            (s.id, s.code, s.amount, s.carrier, s.due, s.fragile, s.size, 1) for s in shipments
        ]  # fmt: skip

    @pytest.mark.parametrize("many", [False, True], ids=["one", "many"])
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("code", "X" * 13),
            ("amount", Decimal("1000000.00")),
            ("amount", Decimal("-1000000")),
            ("amount", Decimal("1.005")),
            ("amount", Decimal("NaN")),
            ("shipped_at", datetime(2024, 5, 1, 12, 0)),
        ],
        ids=repr,
    )
    async def test_a_value_that_does_not_fit_fails_naming_field_and_aggregate(
        self, new_uow: Factory, field: str, value: object, many: bool
    ) -> None:
        shipments = _shipments(self.bulk_size if many else 1)
        bad = shipments[len(shipments) // 2]
        setattr(bad, field, value)
        with pytest.raises(DataError) as caught:  # noqa: PT012 - by add_many() or commit()
            async with new_uow() as uow:
                await uow.repository(Shipment).add_many(shipments)
                await uow.commit()
        error = caught.value
        assert (error.aggregate_type, error.aggregate_id, error.field) == (Shipment, bad.id, field)
        assert field in str(error)
        assert str(bad.id) in str(error)
        async with new_uow() as uow:
            assert await uow.repository(Shipment).count() == 0

    async def test_a_changed_value_that_does_not_fit_fails_the_commit(
        self, new_uow: Factory
    ) -> None:
        shipment = _shipments(1)[0]
        async with new_uow() as uow:
            await uow.repository(Shipment).add(shipment)
            await uow.commit()
        async with new_uow() as uow:
            loaded = await uow.repository(Shipment).get(shipment.id)
            loaded.code = "far too long for it"
            with pytest.raises(DataError, match="code"):
                await uow.commit()
        async with new_uow() as uow:
            assert (await uow.repository(Shipment).get(shipment.id)).code == shipment.code


class UnitOfWorkContract:
    """What every unit of work must do, whatever stores its aggregates."""

    pytestmark = pytest.mark.asyncio

    @pytest.fixture
    def new_uow(self) -> Factory:
        """Override: a factory of fresh units of work over one empty store."""
        raise NotImplementedError

    async def _count(self, new_uow: Factory) -> int:
        async with new_uow() as uow:
            return await uow.gadgets.count()

    async def test_factory_makes_fresh_units_of_work_of_the_users_shape(
        self, new_uow: Factory
    ) -> None:
        first, second = new_uow(), new_uow()
        assert first is not second
        assert isinstance(first, ContractUnitOfWork)
        assert first.state is UnitOfWorkState.NEW
        assert first.repository(Gadget) is first.gadgets

    async def test_leaving_without_commit_rolls_back(self, new_uow: Factory) -> None:
        async with new_uow() as uow:
            await uow.gadgets.add(Gadget(sku="L-1", name="lost", price=Decimal(1)))
        assert uow.state is UnitOfWorkState.ENDED
        assert await self._count(new_uow) == 0

    async def test_an_exception_rolls_back_and_propagates(self, new_uow: Factory) -> None:
        gadgets = await _seed(new_uow)
        with pytest.raises(ZeroDivisionError):  # noqa: PT012 - the whole block is under test
            async with new_uow() as uow:
                anvil = await uow.gadgets.get(gadgets[0].id)
                anvil.rename("Broken")
                await uow.gadgets.add(Gadget(sku="L-2", name="lost", price=Decimal(1)))
                _ = 1 / 0
        async with new_uow() as uow:
            assert (await uow.gadgets.get(gadgets[0].id)).name == "Anvil"
            assert await uow.gadgets.count() == 6
        assert list(uow.collect_events()) == []

    async def test_explicit_rollback_discards_changes_and_keeps_the_unit_usable(
        self, new_uow: Factory
    ) -> None:
        gadgets = await _seed(new_uow)
        async with new_uow() as uow:
            anvil = await uow.gadgets.get(gadgets[0].id)
            anvil.rename("Rolled back")
            await uow.rollback()
            again = await uow.gadgets.get(gadgets[0].id)
            assert again.name == "Anvil"
            again.price = Decimal("11.00")
            await uow.commit()
        assert list(uow.collect_events()) == []
        async with new_uow() as uow:
            stored = await uow.gadgets.get(gadgets[0].id)
            assert (stored.name, stored.price, stored.version) == ("Anvil", Decimal("11.00"), 2)

    async def test_no_aliasing_between_objects_and_the_store(self, new_uow: Factory) -> None:
        gadgets = await _seed(new_uow)
        async with new_uow() as uow:
            kept = await uow.gadgets.get(gadgets[0].id)
            kept.name = "changed, then rolled back"
        kept.name = "changed after the unit of work ended"
        gadgets[1].name = "changed on the object that was added"
        async with new_uow() as first, new_uow() as second:
            mine = await first.gadgets.get(gadgets[0].id)
            theirs = await second.gadgets.get(gadgets[0].id)
            assert mine is not theirs
            mine.name = "only in the first"
            assert theirs.name == "Anvil"
        async with new_uow() as uow:
            assert (await uow.gadgets.get(gadgets[0].id)).name == "Anvil"
            assert (await uow.gadgets.get(gadgets[1].id)).name == "bolt"

    async def test_versions_grow_by_one_per_committed_change(self, new_uow: Factory) -> None:
        gadget = Gadget(sku="V-1", name="v", price=Decimal(1))
        async with new_uow() as uow:
            await uow.gadgets.add(gadget)
            await uow.commit()
            assert gadget.version == 1
            gadget.quantity = 1
            await uow.gadgets.find(F("quantity") > 0)  # may flush; still one change
            gadget.quantity = 2
            await uow.commit()
            assert gadget.version == 2
            await uow.commit()  # nothing changed
            assert gadget.version == 2
        async with new_uow() as uow:
            loaded = await uow.gadgets.get(gadget.id)
            assert (loaded.version, loaded.quantity) == (2, 2)
            await uow.gadgets.find()
            await uow.commit()
            assert loaded.version == 2

    async def test_a_stale_version_raises_concurrency_error(self, new_uow: Factory) -> None:
        gadgets = await _seed(new_uow)
        async with new_uow() as first:
            mine = await first.gadgets.get(gadgets[0].id)
            async with new_uow() as second:
                theirs = await second.gadgets.get(gadgets[0].id)
                theirs.price = Decimal("20.00")
                await second.commit()
            mine.price = Decimal("30.00")
            with pytest.raises(ConcurrencyError):
                await first.commit()
        async with new_uow() as uow:
            stored = await uow.gadgets.get(gadgets[0].id)
            assert (stored.price, stored.version) == (Decimal("20.00"), 2)

    async def test_removing_what_another_changed_raises_concurrency_error(
        self, new_uow: Factory
    ) -> None:
        gadgets = await _seed(new_uow)
        async with new_uow() as first:
            doomed = await first.gadgets.get(gadgets[0].id)
            async with new_uow() as second:
                (await second.gadgets.get(gadgets[0].id)).quantity = 42
                await second.commit()
            await first.gadgets.remove(doomed)
            with pytest.raises(ConcurrencyError):
                await first.commit()
        async with new_uow() as uow:
            assert (await uow.gadgets.get(gadgets[0].id)).quantity == 42

    async def test_changing_what_another_removed_raises_concurrency_error(
        self, new_uow: Factory
    ) -> None:
        gadgets = await _seed(new_uow)
        async with new_uow() as first:
            survivor = await first.gadgets.get(gadgets[0].id)
            async with new_uow() as second:
                await second.gadgets.remove(await second.gadgets.get(gadgets[0].id))
                await second.commit()
            survivor.quantity = 42
            with pytest.raises(ConcurrencyError):
                await first.commit()
        async with new_uow() as uow:
            assert await uow.gadgets.get_or_none(gadgets[0].id) is None

    async def test_the_same_id_added_by_two_units_of_work_fails_the_second(
        self, new_uow: Factory
    ) -> None:
        same = uuid7()
        async with new_uow() as first, new_uow() as second:
            await first.gadgets.add(Gadget(id=same, sku="1ST", name="first", price=Decimal(1)))
            await second.gadgets.add(Gadget(id=same, sku="2ND", name="second", price=Decimal(2)))
            await first.commit()
            with pytest.raises(DuplicateError):
                await second.commit()
        async with new_uow() as uow:
            assert (await uow.gadgets.get(same)).sku == "1ST"

    async def test_a_failed_statement_makes_commit_raise_and_saves_nothing(
        self, new_uow: Factory
    ) -> None:
        gadgets = await _seed(new_uow)
        async with new_uow() as uow:
            await uow.gadgets.add(Gadget(sku="N-1", name="innocent", price=Decimal(1)))
            with pytest.raises(DuplicateError):  # noqa: PT012 - by add() or by the flush
                await uow.gadgets.add(
                    Gadget(id=gadgets[0].id, sku="N-2", name="clash", price=Decimal(1))
                )
                await uow.gadgets.count()  # SQL adapters report it at the flush
            with pytest.raises(UnitOfWorkError, match="roll back first"):
                await uow.gadgets.count()  # an aborted transaction answers nothing
            with pytest.raises(UnitOfWorkError, match="earlier statement"):
                await uow.commit()
            # The refused commit rolled back: the next transaction starts clean, without them.
            assert await uow.gadgets.count() == 6
            await uow.commit()
        assert await self._count(new_uow) == 6

    async def test_a_unit_of_work_cannot_be_entered_twice_or_nested(self, new_uow: Factory) -> None:
        uow = new_uow()
        async with uow:
            with pytest.raises(UnitOfWorkError, match="already entered"):
                async with uow:
                    pass  # pragma: no cover - never entered
            assert uow.state is UnitOfWorkState.ACTIVE
        with pytest.raises(UnitOfWorkError, match="already entered"):
            async with uow:
                pass  # pragma: no cover - never entered

    async def test_using_a_unit_of_work_outside_its_block_is_refused(
        self, new_uow: Factory
    ) -> None:
        uow = new_uow()
        with pytest.raises(UnitOfWorkError, match="not open"):
            await uow.gadgets.count()
        with pytest.raises(UnitOfWorkError, match="not open"):
            await uow.commit()
        async with uow:
            pass
        with pytest.raises(UnitOfWorkError, match="has ended"):
            await uow.gadgets.get(uuid7())
        with pytest.raises(UnitOfWorkError, match="has ended"):
            await uow.gadgets.add(Gadget(sku="Q", name="late", price=Decimal(1)))
        with pytest.raises(UnitOfWorkError, match="has ended"):
            await uow.commit()
        with pytest.raises(UnitOfWorkError, match="has ended"):
            await uow.rollback()
        assert await self._count(new_uow) == 0

    async def test_events_are_collected_after_commit_from_every_aggregate_seen(
        self, new_uow: Factory
    ) -> None:
        gadgets = await _seed(new_uow)
        async with new_uow() as uow:
            anvil = await uow.gadgets.get(gadgets[0].id)
            anvil.rename("Anvil II")
            for gadget in await uow.gadgets.find(F("price") < 1, order_by="sku"):
                gadget.rename(gadget.name.upper())
            fresh = Gadget(sku="N-9", name="new", price=Decimal(1))
            fresh.rename("newer")
            await uow.gadgets.add(fresh)
            await uow.commit()
        events = list(uow.collect_events())
        assert [(type(e), e.name) for e in events] == [  # type: ignore[attr-defined]
            (GadgetRenamed, "Anvil II"), (GadgetRenamed, "BOLT"), (GadgetRenamed, "ERASER"),
            (GadgetRenamed, "newer"),
        ]  # fmt: skip
        assert list(uow.collect_events()) == []
        assert anvil.pending_events == ()

    async def test_events_of_a_rolled_back_or_failed_commit_are_dropped(
        self, new_uow: Factory
    ) -> None:
        gadgets = await _seed(new_uow)
        async with new_uow() as uow:
            (await uow.gadgets.get(gadgets[0].id)).rename("never")
        assert list(uow.collect_events()) == []
        async with new_uow() as first:
            mine = await first.gadgets.get(gadgets[0].id)
            async with new_uow() as second:
                (await second.gadgets.get(gadgets[0].id)).quantity = 9
                await second.commit()
            mine.rename("stale")
            with pytest.raises(ConcurrencyError):
                await first.commit()
        assert list(first.collect_events()) == []

    async def test_several_commits_in_one_block(self, new_uow: Factory) -> None:
        gadget = Gadget(sku="M-1", name="multi", price=Decimal(1))
        async with new_uow() as uow:
            await uow.gadgets.add(gadget)
            await uow.commit()
            gadget.rename("twice")
            await uow.commit()
            gadget.rename("rolled back")
        assert [e.name for e in uow.collect_events()] == ["twice"]  # type: ignore[attr-defined]
        async with new_uow() as uow:
            stored = await uow.gadgets.get(gadget.id)
            assert (stored.name, stored.version) == ("twice", 2)

    async def test_concurrent_read_modify_write_loses_no_update(self, new_uow: Factory) -> None:
        tasks, increments = 8, 50
        async with new_uow() as uow:
            await uow.counters.add(Counter(id="shared"))
            await uow.commit()
        retries = 0

        async def increment() -> None:
            nonlocal retries
            for _ in range(increments):
                while True:
                    try:
                        async with new_uow() as uow:
                            counter = await uow.counters.get("shared")
                            counter.value += 1
                            await uow.commit()
                        break
                    except ConcurrencyError:
                        retries += 1

        await asyncio.gather(*(increment() for _ in range(tasks)))
        async with new_uow() as uow:
            counter = await uow.counters.get("shared")
        assert counter.value == tasks * increments
        assert counter.version == tasks * increments + 1
        assert retries > 0  # the tasks really raced


class AuditContract:
    """Audit timestamps (``CreatedAt``/``UpdatedAt``) and soft delete (``DeletedAt``).

    Both adapters must give the same values at the same moments, and hide the same aggregates.

    Every stamp of a transaction is the clock's time when that transaction began (on entering
    the unit of work, and after each commit or rollback), as SQL's ``CURRENT_TIMESTAMP``.

    Override ``new_uow`` with a factory whose units of work read the time from the ``clock``
    fixture (``factory(..., clock=clock)``); :class:`Ticket` must be storable.
    """

    pytestmark = pytest.mark.asyncio

    @pytest.fixture
    def clock(self) -> FakeClock:
        """The clock the units of work must use."""
        return FakeClock(datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC))

    @pytest.fixture
    def new_uow(self, clock: FakeClock) -> Factory:
        """Override: a factory of fresh units of work over one empty store, using ``clock``."""
        raise NotImplementedError

    async def _stored(self, new_uow: Factory, *tickets: Ticket) -> None:
        async with new_uow() as uow:
            for ticket in tickets:
                await uow.repository(Ticket).add(ticket)
            await uow.commit()

    async def test_first_store_stamps_both_from_the_clock_overwriting_the_user(
        self, new_uow: Factory, clock: FakeClock
    ) -> None:
        forged = datetime(1999, 1, 1, tzinfo=UTC)
        ticket = Ticket(title="one", created_at=forged, updated_at=forged)
        many = [Ticket(title=f"bulk {n}") for n in range(BulkContract.bulk_size)]
        async with new_uow() as uow:
            await uow.repository(Ticket).add(ticket)
            await uow.repository(Ticket).add_many(many)
            await uow.commit()
        start = clock.now()
        assert (ticket.created_at, ticket.updated_at, ticket.version) == (start, start, 1)
        assert {(t.created_at, t.updated_at) for t in many} == {(start, start)}
        clock.advance()
        async with new_uow() as uow:
            loaded = await uow.repository(Ticket).get(ticket.id)
            assert (loaded.created_at, loaded.updated_at) == (start, start)
            assert loaded.created_at is not None
            assert loaded.created_at.utcoffset() == timedelta(0)
            assert await uow.repository(Ticket).count(F("created_at") == start) == len(many) + 1
            assert await uow.repository(Ticket).count(F("updated_at") > start) == 0

    async def test_a_committed_change_stamps_updated_at_only(
        self, new_uow: Factory, clock: FakeClock
    ) -> None:
        ticket, other = Ticket(title="one"), Ticket(title="two")
        await self._stored(new_uow, ticket, other)
        start = clock.now()
        later = clock.advance(timedelta(minutes=5))
        async with new_uow() as uow:
            loaded = await uow.repository(Ticket).get(ticket.id)
            await uow.repository(Ticket).get(other.id)  # read, not changed: not stamped
            loaded.done = True
            assert await uow.repository(Ticket).count(F("done").in_([True])) == 1  # flushed
            clock.advance()
            loaded.title = "one, done"
            await uow.commit()
            assert (loaded.created_at, loaded.updated_at, loaded.version) == (start, later, 2)
        async with new_uow() as uow:
            again = await uow.repository(Ticket).get(ticket.id)
            untouched = await uow.repository(Ticket).get(other.id)
        assert (again.created_at, again.updated_at, again.title) == (start, later, "one, done")
        assert (untouched.updated_at, untouched.version) == (start, 1)

    async def test_a_change_that_is_not_committed_keeps_the_old_stamps(
        self, new_uow: Factory, clock: FakeClock
    ) -> None:
        ticket = Ticket(title="one")
        await self._stored(new_uow, ticket)
        start = clock.now()
        clock.advance()
        async with new_uow() as uow:
            loaded = await uow.repository(Ticket).get(ticket.id)
            loaded.done = True
            await uow.repository(Ticket).count()  # written, then rolled back
        assert loaded.updated_at == start
        fresh = Ticket(title="new")
        async with new_uow() as first, new_uow() as second:
            mine = await first.repository(Ticket).get(ticket.id)
            theirs = await second.repository(Ticket).get(ticket.id)
            mine.done, theirs.title = True, "theirs"
            await second.repository(Ticket).add(fresh)
            await first.commit()
            with pytest.raises(ConcurrencyError):
                await second.commit()
        assert (mine.updated_at, theirs.updated_at) == (clock.now(), start)
        assert (fresh.created_at, fresh.updated_at, fresh.version) == (None, None, 0)

    # -- soft delete (Ticket is SoftDeletable) ----------------------------------------------------

    async def test_remove_of_a_soft_deletable_aggregate_stamps_and_hides_it(
        self, new_uow: Factory, clock: FakeClock
    ) -> None:
        ticket, other = Ticket(title="gone"), Ticket(title="kept")
        await self._stored(new_uow, ticket, other)
        moment = clock.advance()
        async with new_uow() as uow:
            tickets = uow.repository(Ticket)
            loaded = await tickets.get(ticket.id)
            await tickets.remove(loaded)
            clock.advance()
            await tickets.remove(loaded)  # again: the first stamp stays
            assert loaded.deleted_at == moment
            assert await tickets.get_or_none(ticket.id) is None
            assert await tickets.count() == 1
            await uow.commit()
        assert (loaded.deleted_at, loaded.updated_at, loaded.version) == (moment, moment, 2)
        async with new_uow() as uow:
            tickets = uow.repository(Ticket)
            with pytest.raises(NotFound):
                await tickets.get(ticket.id)
            assert [t.title for t in await tickets.find()] == ["kept"]
            assert await tickets.count(F("title") == "gone") == 0
            assert not await tickets.exists(F("title") == "gone")
            assert await tickets.first(F("title") == "gone") is None
            assert [t.title async for t in tickets.stream(batch_size=1)] == ["kept"]
            assert await tickets.count(include_deleted=True) == 2
            assert await tickets.exists(F("title") == "gone", include_deleted=True)
            streamed = tickets.stream(F("title") == "gone", include_deleted=True)
            assert [t.title async for t in streamed] == ["gone"]
            found = await tickets.first(F("deleted_at").is_not_none(), include_deleted=True)
            assert found is await tickets.get(ticket.id, include_deleted=True)
            assert found is not None
            assert found.deleted_at == moment

    async def test_restore_brings_a_soft_deleted_aggregate_back(
        self, new_uow: Factory, clock: FakeClock
    ) -> None:
        ticket = Ticket(title="back")
        await self._stored(new_uow, ticket)
        async with new_uow() as uow:
            await uow.repository(Ticket).remove(await uow.repository(Ticket).get(ticket.id))
            await uow.commit()
        restored_at = clock.advance()
        async with new_uow() as uow:
            tickets = uow.repository(Ticket)
            with pytest.raises(UnitOfWorkError, match="include_deleted=True"):
                await tickets.restore(Ticket(id=ticket.id, title="back"))
            [deleted] = await tickets.find(include_deleted=True)
            await tickets.restore(deleted)
            assert await tickets.get(ticket.id) is deleted
            await uow.commit()
        async with new_uow() as uow:
            back = await uow.repository(Ticket).get(ticket.id)
            assert (back.deleted_at, back.updated_at, back.version) == (None, restored_at, 3)
            with pytest.raises(TypeError, match="Gadget is not soft-deletable"):
                await uow.gadgets.restore(Gadget(sku="x", name="x", price=Decimal(1)))

    async def test_a_soft_deletable_aggregate_removed_where_it_was_added_is_stored_deleted(
        self, new_uow: Factory, clock: FakeClock
    ) -> None:
        ticket = Ticket(title="born deleted")
        async with new_uow() as uow:
            await uow.repository(Ticket).add(ticket)
            await uow.repository(Ticket).remove(ticket)
            with pytest.raises(UnitOfWorkError, match="was not loaded"):
                await uow.repository(Ticket).remove(Ticket(title="stranger"))
            await uow.commit()
        assert (ticket.deleted_at, ticket.version) == (clock.now(), 1)
        async with new_uow() as uow:
            assert await uow.repository(Ticket).count() == 0
            stored = await uow.repository(Ticket).get(ticket.id, include_deleted=True)
            assert stored.deleted_at == clock.now()


def _lines(basket: Basket) -> list[tuple[int, str, int]]:
    return [(line.position, line.sku, line.quantity) for line in basket.lines]


class ChildrenContract:
    """Child entities inside an aggregate: stored, loaded, changed and removed with their root.

    :class:`Basket` must be storable, its ``lines`` kept in ``position`` order and its ``note``
    a one-to-one child. A change to a child is a change of the aggregate: one more version.
    """

    @pytest.fixture
    def new_uow(self) -> Factory:
        """Override: a factory of fresh units of work over one shared, empty store."""
        raise NotImplementedError  # pragma: no cover - every adapter's suite overrides it

    @staticmethod
    async def _stored(new_uow: Factory, basket: Basket) -> None:
        async with new_uow() as uow:
            await uow.repository(Basket).add(basket)
            await uow.commit()

    @staticmethod
    async def _load(new_uow: Factory, basket: Basket) -> Basket:
        async with new_uow() as uow:
            return await uow.repository(Basket).get(basket.id)

    async def test_an_aggregate_is_added_and_loaded_with_its_children(
        self, new_uow: Factory
    ) -> None:
        basket = Basket(owner="ana", note=BasketNote(text="gift"))
        basket.add_item("apple", 3)
        basket.add_item("pear")
        empty = Basket(owner="bo")
        async with new_uow() as uow:
            await uow.repository(Basket).add(basket)
            await uow.repository(Basket).add(empty)
            await uow.commit()
        assert basket.version == 1
        events = list(uow.collect_events())
        assert [(type(e), e.basket_id, e.sku) for e in events if isinstance(e, ItemAdded)] == [
            (ItemAdded, basket.id, "apple"),
            (ItemAdded, basket.id, "pear"),
        ]
        assert len(events) == 2
        loaded = await self._load(new_uow, basket)
        assert loaded is not basket
        assert (loaded.owner, loaded.version) == ("ana", 1)
        assert _lines(loaded) == [(1, "apple", 3), (2, "pear", 1)]
        assert [line.id for line in loaded.lines] == [line.id for line in basket.lines]
        assert loaded.note is not None
        assert (loaded.note.id, loaded.note.text) == (basket.note.id, "gift")  # type: ignore[union-attr]
        other = await self._load(new_uow, empty)
        assert (other.lines, other.note, other.version) == ([], None, 1)
        async with new_uow() as uow:
            found = await uow.repository(Basket).find(F("owner") == "ana")
            assert [_lines(b) for b in found] == [[(1, "apple", 3), (2, "pear", 1)]]

    async def test_changing_a_child_is_one_committed_change_of_the_root(
        self, new_uow: Factory
    ) -> None:
        basket = Basket(owner="ana")
        basket.add_item("apple")
        basket.add_item("pear")
        await self._stored(new_uow, basket)
        async with new_uow() as uow:
            loaded = await uow.repository(Basket).get(basket.id)
            loaded.lines[0].quantity = 5
            assert await uow.repository(Basket).count() == 1  # a flush in between
            loaded.lines[1].quantity = 7
            await uow.commit()
        assert loaded.version == 2
        again = await self._load(new_uow, basket)
        assert (_lines(again), again.version) == ([(1, "apple", 5), (2, "pear", 7)], 2)
        async with new_uow() as uow:  # nothing changed: no new version
            untouched = await uow.repository(Basket).get(basket.id)
            untouched.lines[0].quantity = 5
            await uow.commit()
        assert (await self._load(new_uow, basket)).version == 2

    async def test_appending_and_removing_children_keeps_their_order_and_drops_orphans(
        self, new_uow: Factory
    ) -> None:
        basket = Basket(owner="ana")
        for sku in ("a", "b", "c"):
            basket.add_item(sku)
        await self._stored(new_uow, basket)
        async with new_uow() as uow:
            loaded = await uow.repository(Basket).get(basket.id)
            removed = loaded.lines.pop(1)
            loaded.add_item("d")
            await uow.commit()
        assert loaded.version == 2
        again = await self._load(new_uow, basket)
        assert _lines(again) == [(1, "a", 1), (3, "c", 1), (4, "d", 1)]
        assert removed.id not in {line.id for line in again.lines}
        assert again.version == 2
        async with new_uow() as uow:
            loaded = await uow.repository(Basket).get(basket.id)
            loaded.lines.clear()
            await uow.commit()
        again = await self._load(new_uow, basket)
        assert (again.lines, again.version) == ([], 3)

    async def test_a_one_to_one_child_is_set_replaced_and_cleared(self, new_uow: Factory) -> None:
        basket = Basket(owner="ana")
        await self._stored(new_uow, basket)
        versions = []
        for note in (BasketNote(text="first"), BasketNote(text="second"), None):
            async with new_uow() as uow:
                loaded = await uow.repository(Basket).get(basket.id)
                loaded.note = note
                await uow.commit()
            again = await self._load(new_uow, basket)
            assert again.note == note
            assert (again.note.text if again.note else None) == (note.text if note else None)
            versions.append(again.version)
        async with new_uow() as uow:
            loaded = await uow.repository(Basket).get(basket.id)
            loaded.note = BasketNote(text="third")
            await uow.commit()
        async with new_uow() as uow:
            loaded = await uow.repository(Basket).get(basket.id)
            assert loaded.note is not None
            loaded.note.text = "edited"
            await uow.commit()
        again = await self._load(new_uow, basket)
        assert (again.note.text if again.note else None, again.version) == ("edited", 6)
        assert versions == [2, 3, 4]

    async def test_a_stale_version_on_a_child_change_raises_concurrency_error(
        self, new_uow: Factory
    ) -> None:
        basket = Basket(owner="ana")
        basket.add_item("apple")
        await self._stored(new_uow, basket)
        async with new_uow() as first, new_uow() as second:
            mine = await first.repository(Basket).get(basket.id)
            theirs = await second.repository(Basket).get(basket.id)
            mine.lines[0].quantity = 2
            theirs.add_item("pear")
            await first.commit()
            with pytest.raises(ConcurrencyError):
                await second.commit()
        again = await self._load(new_uow, basket)
        assert (_lines(again), again.version) == ([(1, "apple", 2)], 2)

    async def test_a_change_that_is_not_committed_is_not_stored(self, new_uow: Factory) -> None:
        basket = Basket(owner="ana")
        basket.add_item("apple")
        await self._stored(new_uow, basket)
        basket.lines[0].quantity = 9  # the application's object is not the stored one
        async with new_uow() as uow:
            loaded = await uow.repository(Basket).get(basket.id)
            loaded.lines[0].sku = "plum"
            loaded.add_item("pear")
            assert await uow.repository(Basket).count() == 1
        again = await self._load(new_uow, basket)
        assert (_lines(again), again.version) == ([(1, "apple", 1)], 1)

    async def test_removing_the_root_removes_its_children(self, new_uow: Factory) -> None:
        basket = Basket(owner="ana", note=BasketNote(text="gift"))
        basket.add_item("apple")
        kept = Basket(owner="bo", lines=[BasketLine(position=1, sku="kiwi")])
        await self._stored(new_uow, basket)
        await self._stored(new_uow, kept)
        async with new_uow() as uow:
            await uow.repository(Basket).remove(await uow.repository(Basket).get(basket.id))
            await uow.commit()
        async with new_uow() as uow:
            assert await uow.repository(Basket).get_or_none(basket.id) is None
            [left] = await uow.repository(Basket).find()
            assert _lines(left) == [(1, "kiwi", 1)]
